import CoreMetrics
import Dispatch
import ServingMetrics
import Tensors

/// A queue of requests for one (model, version, signature), served by a `BatchScheduler`'s threads.
/// With batching enabled, queued requests are merged along dimension 0 up to the execution batch
/// size (`maxBatchSize`, or `maxExecutionBatchSize` when large requests are split).
public final class BatchQueue: @unchecked Sendable {
    public let name: String
    public let options: BatchingOptions
    let process: BatchProcessor
    unowned let scheduler: BatchScheduler
    /// Set to the number of waiting requests as it changes (outside the scheduler's lock).
    let depth: Gauge?

    // Guarded by the scheduler's condition lock.
    var pending: [BatchTask] = []
    var pendingHead = 0
    var pendingRows = 0
    /// Whether the scheduler's list of queues with work holds this queue.
    var isScheduled = false
    /// Executions of this queue running on batch threads now.
    var running = 0
    /// Executions started, and the requests and rows they took, since the queue was made.
    var executions = 0
    var executedRequests = 0
    var executedRows = 0
    /// What executions of this queue cost, for `options.latencyTargetMicros`.
    var costModel = ExecutionCostModel()

    init(name: String, options: BatchingOptions, scheduler: BatchScheduler, depth: Gauge?, process: @escaping BatchProcessor) {
        self.name = name
        self.options = options
        self.scheduler = scheduler
        self.depth = depth
        self.process = process
    }

    /// Queues `inputs`; `completion` runs later on a batch thread. Throws at once when the queue is
    /// full, the scheduler is shutting down, or the request alone is larger than a batch may be.
    /// A queue holds no thread and no scheduler slot while it is empty, so a queue that is no longer
    /// routed to simply drains and goes away with its last request. When the computation serving the
    /// request succeeds, its duration goes to `computeLatency`. A request whose `isCancelled` says so
    /// when its batch starts is left out of the batch and answered CANCELLED.
    public func submit(
        _ inputs: [String: Tensor], deadlineNanos: UInt64? = nil, computeLatency: LatencyRecorder? = nil,
        isCancelled: CancellationCheck? = nil, completion: @escaping BatchCompletion
    ) throws(ServingError) {
        let task = BatchTask(inputs: inputs, deadline: deadlineNanos, computeLatency: computeLatency,
                             padsTrailingDims: options.padVariableLengthInputs, isCancelled: isCancelled,
                             completion: completion)
        if options.enabled, let rows = task.rows, rows > options.maxBatchSize {
            throw .invalidArgument(
                "Task size \(rows) is larger than maximum input batch size \(options.maxBatchSize) of \(name)")
        }
        if options.enabled, let rows = task.rows, rows > options.executionBatchSize {
            let parts = try SplitTask.parts(of: task, rows: rows, chunk: options.executionBatchSize)
            try scheduler.enqueue(parts, on: self)
            return
        }
        try scheduler.enqueue([task], on: self)
    }

    /// Requests waiting, for metrics and tests.
    public var queuedCount: Int { scheduler.withLock { pending.count - pendingHead } }

    /// What the queue holds and has run; takes the scheduler's lock, so not for the request path.
    public var statistics: BatchQueueStatistics {
        scheduler.withLock {
            BatchQueueStatistics(queuedRequests: pending.count - pendingHead, queuedRows: pendingRows, running: running,
                                 executions: executions, executedRequests: executedRequests, executedRows: executedRows)
        }
    }

    // MARK: - Scheduler side (lock held)

    var hasPending: Bool { pendingHead < pending.count }

    var capacityRows: Int { options.maxEnqueuedBatches * options.maxBatchSize }

    /// The most rows one execution takes: `executionBatchSize`, or fewer when a latency target
    /// allows only what the measured cost fits into half of it (a request may wait for one
    /// execution and then run in the next).
    var executionRows: Int {
        guard let target = options.latencyTargetMicros else { return options.executionBatchSize }
        return costModel.rows(within: Double(target) * 500, limit: options.executionBatchSize)
    }

    /// When the oldest request's batch is due, in monotonic nanoseconds; nil when it waits for a
    /// running execution of this queue to finish instead of a time (adaptive batching).
    ///
    /// Adaptive batching (batching on, `batchTimeoutMicros` 0): a request runs at once when no execution
    /// of its queue is running; requests that arrive while one runs form the next batch, which starts
    /// when a running execution ends, or sooner on another thread once it holds a fair share of
    /// `maxBatchSize` (`maxBatchSize / threads` rows per execution already running). Timeout mode
    /// (TF Serving's): the oldest request waits up to `batchTimeoutMicros` for a full batch.
    func readyTime(threads: Int) -> UInt64? {
        guard options.enabled, hasPending, pendingRows < executionRows else { return 0 }
        if options.batchTimeoutMicros == 0 {
            guard running > 0 else { return 0 }
            let share = max(1, executionRows / max(1, threads))
            return pendingRows >= share * running ? 0 : nil
        }
        return pending[pendingHead].enqueuedAt &+ UInt64(options.batchTimeoutMicros) &* 1000
    }

    /// Removes the next batch: one task when batching is off or the head cannot merge, else the head
    /// and the compatible tasks after it up to `maxBatchSize` rows, in arrival order.
    func takeBatch() -> [BatchTask] {
        let head = pending[pendingHead]
        var taken = [head]
        var takenIndices: Set<Int> = [pendingHead]
        if options.enabled, let headRows = head.rows, let compatibility = head.compatibility {
            var rows = headRows
            var index = pendingHead + 1
            while index < pending.count, rows < executionRows {
                let task = pending[index]
                if let taskRows = task.rows, rows + taskRows <= executionRows,
                   task.compatibility == compatibility {
                    taken.append(task)
                    takenIndices.insert(index)
                    rows += taskRows
                }
                index += 1
            }
        }
        if takenIndices.count == 1 {
            pendingHead += 1
        } else {
            var remaining: [BatchTask] = []
            remaining.reserveCapacity(pending.count - pendingHead - taken.count)
            for index in pendingHead..<pending.count where !takenIndices.contains(index) {
                remaining.append(pending[index])
            }
            pending = remaining
            pendingHead = 0
        }
        if pendingHead > 64, pendingHead * 2 > pending.count {
            pending.removeFirst(pendingHead)
            pendingHead = 0
        }
        for task in taken { pendingRows -= task.rows ?? 1 }
        return taken
    }
}

/// A batch queue's depth and the work it has done, for the status page.
public struct BatchQueueStatistics: Sendable, Hashable {
    public var queuedRequests: Int
    public var queuedRows: Int
    /// Executions running on batch threads now.
    public var running: Int
    /// Executions started since the queue was made, and the requests and rows they took.
    public var executions: Int
    public var executedRequests: Int
    public var executedRows: Int
}
