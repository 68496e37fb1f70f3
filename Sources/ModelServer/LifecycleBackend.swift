import API
import Batching
import Dispatch
import Foundation
import Lifecycle
import ServingMetrics
import TFProtos
import Tensors

/// Presents the model manager to the protocol layer.
struct LifecycleBackend: ServingBackend {
    let manager: ModelManager
    /// The batching of models that requests add.
    let batching: BatchingOptions
    /// `--model_base_path_root`: where reload requests may point models.
    var basePathRoot: ModelBasePathRoot?
    /// `--enable_reload_config_request`.
    var acceptsReloadRequests = true
    /// How long a reload request waits at most for the models it adds.
    var reloadWaitLimit: Duration = .seconds(600)

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
        return try manager.status(model: model, version: number).map(ModelVersionStatus.init)
    }

    var isReady: Bool { manager.isReady }

    func statusReport() -> ServerStatusReport {
        ServerStatusReport(models: manager.configurations.map { configuration in
            let details = manager.details(model: configuration.name)
            return ServerStatusReport.Model(
                name: configuration.name, basePath: configuration.basePath, labels: configuration.versionLabels,
                versions: details.map { version in
                    ServerStatusReport.Version(
                        status: ModelVersionStatus(version.status),
                        loadedAtUnixMillis: version.loadedAtUnixMillis, loadMilliseconds: version.loadMilliseconds)
                },
                queues: details.compactMap(\.servable).flatMap { servable in
                    servable.queueStatistics.sorted { $0.key < $1.key }.map { signature, queue in
                        ServerStatusReport.Queue(
                            signature: signature, version: servable.version, queuedRequests: queue.queuedRequests,
                            running: queue.running, executions: queue.executions,
                            executedRequests: queue.executedRequests, executedRows: queue.executedRows)
                    }
                },
                requests: ModelMetrics.served(configuration.name).live.snapshot)
        })
    }

    /// Checks the list as a config file's (absolute base paths that exist), applies it, then waits on a
    /// background thread until every model it adds or moves has an available version or failed to load.
    func reloadModels(
        _ list: Tensorflow_Serving_ModelConfigList, isCancelled: @escaping @Sendable () -> Bool,
        completion: @escaping @Sendable (ServingError?) -> Void
    ) {
        guard acceptsReloadRequests else {
            return completion(ServingError(
                .unimplemented, "HandleReloadConfigRequest is turned off on this server (--enable_reload_config_request=false)"))
        }
        let configurations: [ModelConfiguration]
        do {
            configurations = try ConfigFiles.modelConfigurations(
                list, source: "the ReloadConfigRequest", relativeTo: nil, batching: batching)
        } catch {
            return completion(.invalidArgument(error.description))
        }
        do {
            try basePathRoot?.confine(configurations)
        } catch {
            return completion(ServingError(.permissionDenied, error.description))
        }
        var isDirectory: ObjCBool = false
        for configuration in configurations
        where !FileManager.default.fileExists(atPath: configuration.basePath, isDirectory: &isDirectory) || !isDirectory.boolValue {
            return completion(.invalidArgument(
                "Could not find base path \(configuration.basePath) for servable \(configuration.name)"))
        }
        let previous = Dictionary(uniqueKeysWithValues: manager.configurations.map { ($0.name, $0.basePath) })
        let awaited = configurations.filter { previous[$0.name] != $0.basePath }.map(\.name)
        manager.reconfigure(configurations)
        let manager = manager, limit = ContinuousClock.now + reloadWaitLimit
        DispatchQueue.global().async {
            var pending = awaited
            while !pending.isEmpty {
                if isCancelled() { return }
                guard ContinuousClock.now < limit else {
                    return completion(ServingError(.deadlineExceeded, "Models \(pending.joined(separator: ", ")) were still loading when the reload stopped waiting"))
                }
                var stillPending: [String] = []
                for name in pending {
                    let versions = (try? manager.status(model: name)) ?? []
                    if versions.contains(where: { $0.state == .available }) { continue }
                    if !versions.isEmpty, versions.allSatisfy({ $0.state == .end }),
                       let failure = versions.compactMap(\.error).first {
                        return completion(ServingError(failure.code, "Model \(name) did not become available: \(failure.message)"))
                    }
                    stillPending.append(name)
                }
                pending = stillPending
                if !pending.isEmpty { Thread.sleep(forTimeInterval: 0.02) }
            }
            completion(nil)
        }
    }
}

/// One resolved model version as the protocol layer sees it.
struct RoutedServable: Servable {
    let routed: ServableVersion

    var modelName: String { routed.model }
    var version: Int64 { routed.version }
    var signatures: [String: SignatureSpec] { routed.signatures }
    var metrics: ModelMetrics { routed.metrics }

    func predict(
        signature: String, inputs: [String: Tensor], outputFilter: [String], api: InferenceAPI, deadline: UInt64?,
        isCancelled: (@Sendable () -> Bool)?, completion: @escaping @Sendable (Result<[String: Tensor], ServingError>) -> Void
    ) {
        let inputBytes = inputs.values.reduce(0) { $0 + $1.storageByteCount }
        do throws(ServingError) {
            try RequestMemory.reserveInputs(inputBytes)
        } catch {
            return completion(.failure(error))
        }
        do throws(ServingError) {
            try routed.predict(signature: signature, inputs: inputs, deadlineNanos: deadline, api: api,
                               isCancelled: isCancelled) { result in
                RequestMemory.budget.release(inputBytes)
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
            RequestMemory.budget.release(inputBytes)
            completion(.failure(error))
        }
    }
}

extension ModelVersionStatus {
    /// A lifecycle status as the protocol layer reports it.
    init(_ status: VersionStatus) {
        self.init(version: status.version, state: ModelVersionState(rawValue: status.state.rawValue) ?? .unknown,
                  error: status.error, detail: status.detail)
    }
}
