import ServingMetrics
import Tensors

/// Times one inference request from the start of its handling and counts it when it is answered.
struct InferenceMeter: Sendable {
    let api: InferenceAPI
    let entrypoint: Entrypoint
    let startedAt: UInt64

    init(_ api: InferenceAPI, via entrypoint: Entrypoint, startedAt: UInt64 = MonotonicClock.nanoseconds()) {
        self.api = api
        self.entrypoint = entrypoint
        self.startedAt = startedAt
    }

    /// The request was answered with `status`, for a version of the model `metrics` belong to.
    func finish(_ status: StatusCode, metrics: ModelMetrics) {
        metrics.requestFinished(api, via: entrypoint, status: status, startedAt: startedAt)
    }

    /// The request for `modelName` was answered with `status` before a version of the model was in hand.
    func finish(_ status: StatusCode, modelNamed modelName: String) {
        finish(status, metrics: .requested(modelName))
    }
}
