import CoreMetrics
import Tensors

/// The request metrics of one model name. Each series is created on first use and then recorded
/// to without a lock or a lookup: hold on to the instance (a loaded version does) rather than
/// resolving it per request.
public final class ModelMetrics: Sendable {
    public let modelName: String
    /// Counts and latencies kept in process for the status page.
    public let live = LiveRequestStatistics()
    private let factory: any MetricsFactory
    /// By `StatusCode.rawValue`.
    private let requestCounts: [LazyHandle<Counter>]
    /// By `InferenceAPI.rawValue * Entrypoint.allCases.count + Entrypoint.rawValue`.
    private let requestLatencies: [LazyHandle<Recorder>]
    /// By `InferenceAPI.rawValue`.
    private let runtimeLatencies: [LazyHandle<Recorder>]
    private let exampleCounts = LazyHandle<Recorder>()
    private let exampleCountTotal = LazyHandle<Counter>()

    private static let statusCodes = StatusCode.unauthenticated.rawValue + 1

    /// Series are created through `factory` (the bootstrapped one by default).
    public init(modelName: String, factory: any MetricsFactory = MetricsSystem.factory) {
        self.modelName = modelName
        self.factory = factory
        requestCounts = (0..<Self.statusCodes).map { _ in LazyHandle() }
        requestLatencies = (0..<(InferenceAPI.allCases.count * Entrypoint.allCases.count)).map { _ in LazyHandle() }
        runtimeLatencies = InferenceAPI.allCases.map { _ in LazyHandle() }
    }

    /// Counts one finished inference request and, when it succeeded, records its latency since
    /// `startedAt` (`MonotonicClock` nanoseconds).
    public func requestFinished(_ api: InferenceAPI, via entrypoint: Entrypoint, status: StatusCode, startedAt: UInt64) {
        let elapsed = MonotonicClock.nanoseconds(since: startedAt)
        live.record(status, nanoseconds: elapsed)
        requestCount(status).increment()
        guard status == .ok else { return }
        let latency = requestLatencies[api.rawValue * Entrypoint.allCases.count + entrypoint.rawValue].get {
            ServingMetricFamilies.requestLatency.histogram(modelName, api.label, entrypoint.label, factory: factory)
        }
        LatencyRecorder(recorder: latency).record(nanoseconds: elapsed)
    }

    /// Where the model computation that serves an `api` request records its duration.
    public func runtimeLatency(_ api: InferenceAPI) -> LatencyRecorder {
        LatencyRecorder(recorder: runtimeLatencies[api.rawValue].get {
            ServingMetricFamilies.runtimeLatency.histogram(
                modelName, api.label, ServingMetricFamilies.runtimeName, factory: factory)
        })
    }

    /// Records the number of tf.Examples of one Classify or Regress request.
    public func recordExamples(_ count: Int) {
        exampleCounts.get { ServingMetricFamilies.requestExampleCounts.histogram(modelName, factory: factory) }
            .record(count)
        exampleCountTotal.get { ServingMetricFamilies.requestExampleCountTotal.counter(modelName, factory: factory) }
            .increment(by: count)
    }

    private func requestCount(_ status: StatusCode) -> Counter {
        requestCounts[status.rawValue].get {
            ServingMetricFamilies.requestCount.counter(modelName, status.name, factory: factory)
        }
    }
}
