/// How one queue forms batches; names and defaults follow TF Serving's `BatchingParameters`.
public struct BatchingOptions: Sendable, Hashable {
    /// Merge concurrent requests into one execution. Off: each request runs alone.
    public var enabled: Bool
    /// Largest number of rows (sum of dimension 0) in one execution.
    public var maxBatchSize: Int
    /// How long the first request of a batch waits for others before the batch runs.
    public var batchTimeoutMicros: Int
    /// Queue bound, in batches of `maxBatchSize` rows; beyond it requests are refused with UNAVAILABLE.
    public var maxEnqueuedBatches: Int
    /// Increasing sizes a batch is padded up to (last = the execution batch size); empty means no padding.
    public var allowedBatchSizes: [Int]
    /// Split a request larger than an execution may be into several executions (then `maxBatchSize`
    /// bounds a request and `maxExecutionBatchSize` an execution), answering it once all have run.
    public var enableLargeBatchSplitting: Bool
    /// Largest execution when splitting; nil means `maxBatchSize`.
    public var maxExecutionBatchSize: Int?
    /// Merge requests whose inputs differ in non-batch dimensions by padding each input, along those
    /// dimensions, to the largest in the batch with its own first element.
    public var padVariableLengthInputs: Bool
    /// Adaptive batching only: keep each request's time in the queue and in its execution under this
    /// many microseconds by capping executions at the rows the queue's measured cost allows (see
    /// `ExecutionCostModel`); nil means executions take up to `executionBatchSize` rows.
    public var latencyTargetMicros: Int?

    public init(
        enabled: Bool = false,
        maxBatchSize: Int = 1000,
        batchTimeoutMicros: Int = 0,
        maxEnqueuedBatches: Int = 10,
        allowedBatchSizes: [Int] = [],
        enableLargeBatchSplitting: Bool = false,
        maxExecutionBatchSize: Int? = nil,
        padVariableLengthInputs: Bool = false,
        latencyTargetMicros: Int? = nil
    ) {
        self.enabled = enabled
        self.maxBatchSize = maxBatchSize
        self.batchTimeoutMicros = batchTimeoutMicros
        self.maxEnqueuedBatches = maxEnqueuedBatches
        self.allowedBatchSizes = allowedBatchSizes
        self.enableLargeBatchSplitting = enableLargeBatchSplitting
        self.maxExecutionBatchSize = maxExecutionBatchSize
        self.padVariableLengthInputs = padVariableLengthInputs
        self.latencyTargetMicros = latencyTargetMicros
    }

    /// Largest number of rows in one execution.
    public var executionBatchSize: Int {
        enableLargeBatchSplitting ? min(maxExecutionBatchSize ?? maxBatchSize, maxBatchSize) : maxBatchSize
    }

    /// Checks the combination, with TF Serving's rules for `allowed_batch_sizes`.
    public func validate() throws(BatchingConfigurationError) {
        guard maxBatchSize > 0 else { throw BatchingConfigurationError("max_batch_size must be positive, got \(maxBatchSize)") }
        guard batchTimeoutMicros >= 0 else {
            throw BatchingConfigurationError("batch_timeout_micros must not be negative, got \(batchTimeoutMicros)")
        }
        guard maxEnqueuedBatches > 0 else {
            throw BatchingConfigurationError("max_enqueued_batches must be positive, got \(maxEnqueuedBatches)")
        }
        if let maxExecutionBatchSize {
            guard enableLargeBatchSplitting else {
                throw BatchingConfigurationError("max_execution_batch_size needs enable_large_batch_splitting: true")
            }
            guard maxExecutionBatchSize > 0, maxExecutionBatchSize <= maxBatchSize else {
                throw BatchingConfigurationError(
                    "max_execution_batch_size must be in 1...max_batch_size (\(maxBatchSize)), got \(maxExecutionBatchSize)")
            }
        }
        if let latencyTargetMicros {
            guard latencyTargetMicros > 0 else {
                throw BatchingConfigurationError("the batching latency target must be positive, got \(latencyTargetMicros)")
            }
            guard batchTimeoutMicros == 0 else {
                throw BatchingConfigurationError(
                    "a batching latency target needs adaptive batching (batch_timeout_micros 0), got batch_timeout_micros \(batchTimeoutMicros)")
            }
        }
        guard !allowedBatchSizes.isEmpty else { return }
        for (previous, next) in zip(allowedBatchSizes, allowedBatchSizes.dropFirst()) where next <= previous {
            throw BatchingConfigurationError("allowed_batch_sizes must be strictly increasing, got \(allowedBatchSizes)")
        }
        guard allowedBatchSizes.last == executionBatchSize else {
            let limit = enableLargeBatchSplitting ? "max_execution_batch_size" : "max_batch_size"
            throw BatchingConfigurationError(
                "the last entry of allowed_batch_sizes must equal \(limit) \(executionBatchSize), got \(allowedBatchSizes)")
        }
    }

    /// The size a batch of `rows` rows is padded to.
    func paddedSize(for rows: Int) -> Int {
        allowedBatchSizes.first { $0 >= rows } ?? rows
    }
}

/// A batching configuration that cannot work, with the rule it breaks.
public struct BatchingConfigurationError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
