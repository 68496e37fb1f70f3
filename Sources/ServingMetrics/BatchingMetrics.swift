import CoreMetrics
import Synchronization

/// What a pool of batch threads records: how long requests queue, and (with batching) the sizes
/// of requests and batches and the padding added.
public final class BatchingMetrics: Sendable {
    private let factory: any MetricsFactory
    private let queuingLatency: LatencyRecorder
    private let inputBatchSize: Recorder
    private let processedBatchSize: Recorder
    private let wrappedRunCount: Counter
    /// By padded batch size; the sizes are bounded by the batching configuration.
    private let paddingSizes = Mutex<[Int: Recorder]>([:])

    public init(threadPoolName: String, factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        queuingLatency = LatencyRecorder(
            recorder: ServingMetricFamilies.queuingLatency.histogram(threadPoolName, factory: factory))
        inputBatchSize = ServingMetricFamilies.inputBatchSize.histogram(factory: factory)
        processedBatchSize = ServingMetricFamilies.processedBatchSize.histogram(factory: factory)
        wrappedRunCount = ServingMetricFamilies.wrappedRunCount.counter(factory: factory)
    }

    /// The gauge of requests waiting in the batch queue of one signature of one model version.
    public static func queueDepth(model: String, version: Int64, signature: String,
                                  factory: any MetricsFactory = MetricsSystem.factory) -> Gauge {
        ServingMetricFamilies.batchQueueDepth.gauge(model, String(version), signature, factory: factory)
    }

    /// A request waited `nanoseconds` between its arrival and the start of its batch.
    public func recordQueued(nanoseconds: UInt64) {
        queuingLatency.record(nanoseconds: nanoseconds)
    }

    /// A request of `rows` rows entered a merged batch.
    public func recordInput(rows: Int) {
        inputBatchSize.record(rows)
    }

    /// A merged batch of `rows` rows was padded to `paddedRows` and computed.
    public func recordBatch(rows: Int, paddedRows: Int) {
        processedBatchSize.record(paddedRows)
        paddingHistogram(paddedRows).record(paddedRows - rows)
        wrappedRunCount.increment()
    }

    private func paddingHistogram(_ size: Int) -> Recorder {
        paddingSizes.withLock { histograms in
            if let histogram = histograms[size] { return histogram }
            let histogram = ServingMetricFamilies.paddingSize.histogram(String(size), factory: factory)
            histograms[size] = histogram
            return histogram
        }
    }
}
