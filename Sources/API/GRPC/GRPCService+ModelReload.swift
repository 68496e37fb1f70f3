import TFProtos
import Tensors

extension GRPCService {
    /// `ModelService.HandleReloadConfigRequest`: the request's `model_config_list` replaces the served
    /// models; the answer comes once the models it adds are available, as in TF Serving.
    func handleReloadConfigRequest(_ request: Tensorflow_Serving_ReloadConfigRequest, call: GRPCCall) {
        guard case .modelConfigList(let list)? = request.config.config else {
            call.fail(.invalidArgument(
                "ServerModelConfig type not supported by HandleReloadConfigRequest. Only ModelConfigList is currently supported"))
            return
        }
        call.armDeadline()
        backend.reloadModels(list, isCancelled: { call.isFinished }) { error in
            guard !call.isFinished else { return }
            if let error {
                call.fail(error)
            } else {
                var response = Tensorflow_Serving_ReloadConfigResponse()
                response.status = Tensorflow_Serving_StatusProto()
                call.succeed(response)
            }
        }
    }
}
