/// Every metric the server exports, with TensorFlow Serving's names, label names and buckets
/// (TensorFlow's `/a/b/c` metric names become `:a:b:c` in its Prometheus exposition).
///
/// Series are only ever created through these families, so every series of one name carries the
/// same label names in the same order.
public enum ServingMetricFamilies {
    /// Microsecond latencies: 10 µs · 1.8ⁱ, 33 buckets (up to about 20 minutes).
    static let latencyBuckets = MetricFamily.exponentialBuckets(scale: 10, growth: 1.8, count: 33)
    /// Batch sizes: 1, 2, 4, …, 8192.
    static let batchSizeBuckets = MetricFamily.exponentialBuckets(scale: 1, growth: 2, count: 14)

    /// Inference requests by model and outcome (`OK` or the gRPC code name of the error).
    public static let requestCount = MetricFamily(
        name: ":tensorflow:serving:request_count", labelNames: ["model_name", "status"], kind: .counter)

    /// Wall time of successful inference requests, in microseconds, from the handler's start to the answer.
    public static let requestLatency = MetricFamily(
        name: ":tensorflow:serving:request_latency", labelNames: ["model_name", "API", "entrypoint"],
        kind: .histogram(buckets: latencyBuckets))

    /// Wall time of the model computation that served a request, in microseconds.
    public static let runtimeLatency = MetricFamily(
        name: ":tensorflow:serving:runtime_latency", labelNames: ["model_name", "API", "runtime"],
        kind: .histogram(buckets: latencyBuckets))

    /// tf.Examples per Classify or Regress request.
    public static let requestExampleCounts = MetricFamily(
        name: ":tensorflow:serving:request_example_counts", labelNames: ["model"],
        kind: .histogram(buckets: MetricFamily.exponentialBuckets(scale: 1, growth: 2, count: 15)))

    /// tf.Examples of all Classify and Regress requests.
    public static let requestExampleCountTotal = MetricFamily(
        name: ":tensorflow:serving:request_example_count_total", labelNames: ["model"], kind: .counter)

    /// Time a request waited in its queue for a batch thread, in microseconds.
    public static let queuingLatency = MetricFamily(
        name: ":tensorflow:serving:batching_session:queuing_latency", labelNames: ["thread_pool_name"],
        kind: .histogram(buckets: MetricFamily.exponentialBuckets(scale: 100, growth: 1.2, count: 52)))

    /// Rows of each request entering a batch (batching enabled).
    public static let inputBatchSize = MetricFamily(
        name: ":tensorflow:serving:batching_session:input_batch_size", labelNames: [],
        kind: .histogram(buckets: batchSizeBuckets))

    /// Rows of each batch computed, padding included (batching enabled).
    public static let processedBatchSize = MetricFamily(
        name: ":tensorflow:serving:batching_session:processed_batch_size", labelNames: [],
        kind: .histogram(buckets: batchSizeBuckets))

    /// Padding rows added to each batch, by the padded size (batching enabled).
    public static let paddingSize = MetricFamily(
        name: ":tensorflow:serving:batching_session:padding_size", labelNames: ["execution_batch_size"],
        kind: .histogram(buckets: batchSizeBuckets))

    /// Batches computed (batching enabled).
    public static let wrappedRunCount = MetricFamily(
        name: ":tensorflow:serving:batching_session:wrapped_run_count", labelNames: [], kind: .counter)

    /// Requests waiting in each batch queue (one queue per model version and signature).
    public static let batchQueueDepth = MetricFamily(
        name: ":tensorflow:serving:batching_session:queue_depth", labelNames: ["model_name", "version", "signature"], kind: .gauge)

    /// Attempts to load a version directory, `success` or `fail`.
    public static let loadAttemptCount = MetricFamily(
        name: ":tensorflow:cc:saved_model:load_attempt_count", labelNames: ["model_path", "status"], kind: .counter)

    /// Microseconds spent reading and compiling version directories that loaded successfully.
    public static let loadLatency = MetricFamily(
        name: ":tensorflow:cc:saved_model:load_latency", labelNames: ["model_path"], kind: .counter)

    /// Wall time of replaying a version's warmup requests, in microseconds, by outcome.
    public static let modelWarmupLatency = MetricFamily(
        name: ":tensorflow:serving:model_warmup_latency", labelNames: ["model_path", "status"],
        kind: .histogram(buckets: latencyBuckets))

    public static let all: [MetricFamily] = [
        requestCount, requestLatency, runtimeLatency, requestExampleCounts, requestExampleCountTotal,
        queuingLatency, inputBatchSize, processedBatchSize, paddingSize, wrappedRunCount, batchQueueDepth,
        loadAttemptCount, loadLatency, modelWarmupLatency,
    ]

    /// Bucket upper bounds by histogram name, for configuring the exporting metrics factory.
    public static var histogramBuckets: [String: [Double]] {
        var buckets: [String: [Double]] = [:]
        for family in all {
            if case .histogram(let bounds) = family.kind { buckets[family.name] = bounds }
        }
        return buckets
    }

    /// The `runtime` label value: this server's own runtime (TensorFlow Serving reports `TF1` or `TFRT`).
    public static let runtimeName = "model-server"
}
