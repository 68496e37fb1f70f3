/// The inference APIs whose requests are counted and timed; `label` is the `API` label value, the
/// gRPC method's name as TensorFlow Serving reports it, whichever way the request arrived.
public enum InferenceAPI: Int, CaseIterable, Sendable {
    case predict
    case classify
    case regress
    /// TF Serving's MultiInference (classify and regress signatures on the same examples).
    case multiInference
    /// KServe v2 inference (REST `/v2/models/{m}/infer` and gRPC `ModelInfer`).
    case modelInfer

    public var label: String {
        switch self {
        case .predict: "Predict"
        case .classify: "Classify"
        case .regress: "Regress"
        case .multiInference: "MultiInference"
        case .modelInfer: "ModelInfer"
        }
    }
}

/// How a request reached the server; `label` is the `entrypoint` label value.
public enum Entrypoint: Int, CaseIterable, Sendable {
    case rest
    case grpc

    public var label: String {
        switch self {
        case .rest: "REST"
        case .grpc: "GRPC"
        }
    }
}
