import TFProtos
import Tensors

extension GRPCService {
    /// `grpc.health.v1.Health/Check`, for gRPC health probes (Kubernetes `grpc:` probes, grpc_health_probe):
    /// the empty service name is the server, SERVING once every model has an available version; a gRPC
    /// service this server offers is SERVING; a model name is SERVING while the model has an available
    /// version; any other name is NOT_FOUND, as the health protocol asks.
    func healthCheck(_ request: Grpc_Health_V1_HealthCheckRequest, call: GRPCCall) {
        var response = Grpc_Health_V1_HealthCheckResponse()
        let service = request.service
        if service.isEmpty {
            response.status = backend.isReady ? .serving : .notServing
        } else if GRPCMethod.services.contains(service) {
            response.status = .serving
        } else {
            do throws(ServingError) {
                let versions = try backend.versionStatus(model: service, version: .latest)
                response.status = versions.contains { $0.state == .available } ? .serving : .notServing
            } catch {
                call.fail(.notFound("Unknown service or model: \(service)"))
                return
            }
        }
        call.succeed(response)
    }
}
