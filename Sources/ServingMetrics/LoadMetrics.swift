import CoreMetrics
import Tensors

/// What loading a version directory records, by its path (`model_path`).
public struct LoadMetrics: Sendable {
    private let factory: any MetricsFactory

    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
    }

    /// One attempt to read and compile `modelPath`; a successful one adds its duration to the load latency.
    public func recordLoad(modelPath: String, succeeded: Bool, nanoseconds: UInt64) {
        ServingMetricFamilies.loadAttemptCount.counter(modelPath, succeeded ? "success" : "fail", factory: factory)
            .increment()
        guard succeeded else { return }
        ServingMetricFamilies.loadLatency.counter(modelPath, factory: factory)
            .increment(by: Int64(clamping: nanoseconds / 1000))
    }

    /// One replay of `modelPath`'s warmup requests, ending with `status`.
    public func recordWarmup(modelPath: String, status: StatusCode, nanoseconds: UInt64) {
        LatencyRecorder(recorder: ServingMetricFamilies.modelWarmupLatency.histogram(modelPath, status.name, factory: factory))
            .record(nanoseconds: nanoseconds)
    }
}
