import Batching
import Foundation
import Lifecycle
import SwiftProtobuf
import TFProtos
import Transport

/// Reads TF Serving's text-proto configuration files into the lifecycle's types.
enum ConfigFiles {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The `Message` a text-proto file at `path` holds; `what` names the file in errors.
    static func textProto<Message: SwiftProtobuf.Message>(_ type: Message.Type, at path: String, what: String) throws(Failure) -> Message {
        let text = try readText(path, what: what)
        do {
            return try Message(textFormatString: text)
        } catch {
            let name = Message.protoMessageName.split(separator: ".").last.map(String.init) ?? Message.protoMessageName
            throw Failure(description: "\(what) \(path) is not a valid \(name) text proto: \(error)")
        }
    }

    private static func readText(_ path: String, what: String) throws(Failure) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(description: "cannot read \(what) \(path)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// `--model_config_file`: a `ModelServerConfig` with a `model_config_list`; relative base paths are
    /// resolved against the file's directory.
    static func modelConfigurations(
        path: String, batching: BatchingOptions
    ) throws(Failure) -> [ModelConfiguration] {
        let config = try textProto(Tensorflow_Serving_ModelServerConfig.self, at: path, what: "model config file")
        guard case .modelConfigList(let list)? = config.config else {
            throw Failure(description: "model config file \(path) has no model_config_list (custom_model_config is not supported)")
        }
        return try modelConfigurations(
            list, source: path, relativeTo: URL(fileURLWithPath: path).deletingLastPathComponent(), batching: batching)
    }

    /// The models of a `model_config_list` from `source` (named in errors). Without `directory`, every
    /// base path must be absolute.
    static func modelConfigurations(
        _ list: Tensorflow_Serving_ModelConfigList, source: String, relativeTo directory: URL?, batching: BatchingOptions
    ) throws(Failure) -> [ModelConfiguration] {
        var names: Set<String> = []
        var result: [ModelConfiguration] = []
        for model in list.config {
            guard !model.name.isEmpty else { throw Failure(description: "a model in \(source) has no name") }
            guard !model.basePath.isEmpty else { throw Failure(description: "model \(model.name) in \(source) has no base_path") }
            guard names.insert(model.name).inserted else {
                throw Failure(description: "model \(model.name) appears twice in \(source)")
            }
            if !model.modelPlatform.isEmpty, model.modelPlatform != "tensorflow" {
                throw Failure(description: "model \(model.name) in \(source) has model_platform \"\(model.modelPlatform)\"; only \"tensorflow\" is served")
            }
            let basePath: String
            if model.basePath.hasPrefix("/") {
                basePath = model.basePath
            } else if let directory {
                basePath = directory.appendingPathComponent(model.basePath).standardizedFileURL.path
            } else {
                throw Failure(description: "model \(model.name) in \(source) has the relative base_path \"\(model.basePath)\"; an absolute path is expected")
            }
            result.append(ModelConfiguration(
                name: model.name, basePath: basePath,
                versionPolicy: versionPolicy(model.modelVersionPolicy, present: model.hasModelVersionPolicy),
                versionLabels: model.versionLabels, batching: batching))
        }
        return result
    }

    static func versionPolicy(
        _ policy: Tensorflow_Serving_FileSystemStoragePathSourceConfig.ServableVersionPolicy, present: Bool
    ) -> VersionPolicy {
        guard present else { return .latest(1) }
        switch policy.policyChoice {
        case .latest(let latest)?: return .latest(max(1, Int(latest.numVersions)))
        case .all?: return .all
        case .specific(let specific)?: return .specific(Set(specific.versions))
        case nil: return .latest(1)
        }
    }

    /// `--batching_parameters_file`: a `BatchingParameters` text proto; unset fields keep TF Serving's defaults.
    static func batchingOptions(path: String) throws(Failure) -> (options: BatchingOptions, threads: Int?) {
        let parameters = try textProto(Tensorflow_Serving_BatchingParameters.self, at: path, what: "batching parameters file")
        var options = BatchingOptions(enabled: true)
        if parameters.hasMaxBatchSize { options.maxBatchSize = Int(parameters.maxBatchSize.value) }
        if parameters.hasBatchTimeoutMicros { options.batchTimeoutMicros = Int(parameters.batchTimeoutMicros.value) }
        if parameters.hasMaxEnqueuedBatches { options.maxEnqueuedBatches = Int(parameters.maxEnqueuedBatches.value) }
        options.allowedBatchSizes = parameters.allowedBatchSizes.map { Int($0) }
        if parameters.hasEnableLargeBatchSplitting { options.enableLargeBatchSplitting = parameters.enableLargeBatchSplitting.value }
        if parameters.hasMaxExecutionBatchSize { options.maxExecutionBatchSize = Int(parameters.maxExecutionBatchSize.value) }
        options.padVariableLengthInputs = parameters.padVariableLengthInputs
        do {
            try options.validate()
        } catch {
            throw Failure(description: "batching parameters file \(path): \(error.description)")
        }
        let threads = parameters.hasNumBatchThreads ? Int(parameters.numBatchThreads.value) : nil
        return (options, threads)
    }

    /// `--monitoring_config_file`: a `MonitoringConfig` text proto. Returns the path Prometheus metrics
    /// are served at (TF Serving's default when `path` is empty), or nil when `prometheus_config.enable`
    /// is not set. The path must not fall under the `/v1` or `/v2` APIs.
    static func prometheusPath(path: String) throws(Failure) -> String? {
        let config = try textProto(Tensorflow_Serving_MonitoringConfig.self, at: path, what: "monitoring config file")
        guard config.prometheusConfig.enable else { return nil }
        let endpoint = config.prometheusConfig.path.isEmpty ? defaultPrometheusPath : config.prometheusConfig.path
        guard endpoint.hasPrefix("/"), endpoint.count > 1,
              !endpoint.contains(where: { $0 == "?" || $0 == "#" || $0.isWhitespace })
        else {
            throw Failure(description:
                "monitoring config file \(path): prometheus_config.path \"\(endpoint)\" must be an absolute URL path such as \"\(defaultPrometheusPath)\" (no query, fragment or spaces)")
        }
        for reserved in ["/v1", "/v2"] where endpoint.lowercased() == reserved || endpoint.lowercased().hasPrefix(reserved + "/") {
            throw Failure(description:
                "monitoring config file \(path): prometheus_config.path \"\(endpoint)\" falls under the \(reserved) API; choose another path")
        }
        return endpoint
    }

    /// Where TF Serving serves Prometheus metrics when `prometheus_config.path` is empty.
    static let defaultPrometheusPath = "/monitoring/prometheus/metrics"

    /// `--ssl_config_file`: an `SSLConfig` text proto. As in TF Serving, `server_key`, `server_cert`
    /// and `custom_ca` hold PEM text, not file paths; `client_verify: true` requires client
    /// certificates that chain to `custom_ca` (or to the system's trust store without one);
    /// without `client_verify`, `custom_ca` is not used, as in TF Serving.
    static func tlsSettings(path: String) throws(Failure) -> HTTPServer.TLSSettings {
        let config = try textProto(Tensorflow_Serving_SSLConfig.self, at: path, what: "SSL config file")
        try requirePEM(config.serverCert, field: "server_cert", label: "CERTIFICATE", path: path)
        try requirePEM(config.serverKey, field: "server_key", label: "PRIVATE KEY", path: path)
        if config.clientVerify, !config.customCa.isEmpty {
            try requirePEM(config.customCa, field: "custom_ca", label: "CERTIFICATE", path: path)
        }
        do {
            return try HTTPServer.TLSSettings(
                certificateChainPEM: config.serverCert,
                privateKeyPEM: config.serverKey,
                trustedCAPEM: config.customCa.isEmpty ? nil : config.customCa,
                clientVerification: config.clientVerify ? .required : .none)
        } catch {
            let field = switch error.field {
            case .certificateChain: "server_cert"
            case .privateKey: "server_key"
            case .trustedCA: "custom_ca"
            }
            throw Failure(description: "SSL config file \(path): \(field): \(error.reason)")
        }
    }

    private static func requirePEM(_ value: String, field: String, label: String, path: String) throws(Failure) {
        if value.isEmpty {
            throw Failure(description: "SSL config file \(path): \(field) is empty; it must hold PEM text (\"-----BEGIN \(label)-----...\")")
        }
        guard value.contains("-----BEGIN ") else {
            let shown = value.count > 80 ? String(value.prefix(80)) + "..." : value
            let hint = value.contains("/") || value.hasSuffix(".pem") || value.hasSuffix(".crt") || value.hasSuffix(".key")
                ? " (it looks like a file path; as in TensorFlow Serving, put the file's contents in the field)"
                : ""
            throw Failure(description: "SSL config file \(path): \(field) must hold PEM text (\"-----BEGIN \(label)-----...\"), got \"\(shown)\"\(hint)")
        }
    }
}
