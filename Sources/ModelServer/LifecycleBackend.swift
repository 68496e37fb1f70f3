import API
import Dispatch
import Lifecycle
import ServingMetrics
import Tensors

/// Presents the model manager to the protocol layer.
struct LifecycleBackend: ServingBackend {
    let manager: ModelManager

    func servable(for spec: ModelSpec) throws(ServingError) -> any Servable {
        let request: VersionRequest
        switch spec.version {
        case .latest: request = .latest
        case .number(let number): request = .specific(number)
        case .label(let label): request = .label(label)
        }
        return RoutedServable(routed: try manager.servable(model: spec.name, version: request))
    }

    func versionStatus(model: String, version: VersionSelector) throws(ServingError) -> [ModelVersionStatus] {
        let number: Int64?
        switch version {
        case .latest: number = nil
        case .number(let value): number = value
        case .label(let label):
            guard let labelled = manager.version(forLabel: label, model: model) else {
                throw .invalidArgument("Unrecognized servable version label: \(label)")
            }
            number = labelled
        }
        return try manager.status(model: model, version: number).map { status in
            ModelVersionStatus(version: status.version,
                               state: ModelVersionState(rawValue: status.state.rawValue) ?? .unknown,
                               error: status.error)
        }
    }

    var isReady: Bool { manager.isReady }
}

/// One resolved model version as the protocol layer sees it.
struct RoutedServable: Servable {
    let routed: ServableVersion

    var modelName: String { routed.model }
    var version: Int64 { routed.version }
    var signatures: [String: SignatureSpec] { routed.signatures }
    var metrics: ModelMetrics { routed.metrics }

    func predict(
        signature: String, inputs: [String: Tensor], outputFilter: [String], api: InferenceAPI,
        completion: @escaping @Sendable (Result<[String: Tensor], ServingError>) -> Void
    ) {
        do throws(ServingError) {
            try routed.predict(signature: signature, inputs: inputs, api: api) { result in
                guard !outputFilter.isEmpty, case .success(let outputs) = result else { return completion(result) }
                var filtered: [String: Tensor] = [:]
                for key in outputFilter {
                    guard let tensor = outputs[key] else {
                        return completion(.failure(.invalidArgument(
                            "output tensor alias not found in signature: \(key) Outputs expected to be in the set {\(outputs.keys.sorted().joined(separator: ","))}.")))
                    }
                    filtered[key] = tensor
                }
                completion(.success(filtered))
            }
        } catch {
            completion(.failure(error))
        }
    }
}
