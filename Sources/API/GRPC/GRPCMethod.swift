/// The gRPC methods this server knows, by their `/package.Service/Method` path.
enum GRPCMethod: String, CaseIterable, Sendable {
    case predict = "/tensorflow.serving.PredictionService/Predict"
    case getModelMetadata = "/tensorflow.serving.PredictionService/GetModelMetadata"
    case classify = "/tensorflow.serving.PredictionService/Classify"
    case regress = "/tensorflow.serving.PredictionService/Regress"
    case multiInference = "/tensorflow.serving.PredictionService/MultiInference"
    case getModelStatus = "/tensorflow.serving.ModelService/GetModelStatus"
    case handleReloadConfigRequest = "/tensorflow.serving.ModelService/HandleReloadConfigRequest"
    case serverLive = "/inference.GRPCInferenceService/ServerLive"
    case serverReady = "/inference.GRPCInferenceService/ServerReady"
    case modelReady = "/inference.GRPCInferenceService/ModelReady"
    case serverMetadata = "/inference.GRPCInferenceService/ServerMetadata"
    case modelMetadata = "/inference.GRPCInferenceService/ModelMetadata"
    case modelInfer = "/inference.GRPCInferenceService/ModelInfer"
    case healthCheck = "/grpc.health.v1.Health/Check"
    case healthWatch = "/grpc.health.v1.Health/Watch"

    init?(path: String) {
        self.init(rawValue: path)
    }

    var path: String { rawValue }

    /// The services the methods belong to.
    static let services: Set<String> = Set(allCases.compactMap { method in
        method.rawValue.split(separator: "/").first.map(String.init)
    })
}
