import CoreMetrics
import Dispatch
import Foundation
import ServingMetrics
import Tensors

/// A fixed pool of batch threads shared by every queue. Compute runs here, never on an event loop
/// or on Swift's cooperative pool. Queues are served round-robin so one busy model cannot starve another.
public final class BatchScheduler: @unchecked Sendable {
    private let condition = NSCondition()
    private var queues: [BatchQueue] = []
    private var nextQueue = 0
    private var stopping = false
    private var threads: [Thread] = []
    private let finished = DispatchGroup()

    public let threadCount: Int
    let metrics: BatchingMetrics

    /// Starts `threadCount` batch threads (at least one); `threadName` also labels the pool's metrics.
    public init(threadCount: Int, threadName: String = "batch") {
        self.threadCount = max(1, threadCount)
        self.metrics = BatchingMetrics(threadPoolName: threadName)
        for index in 0..<self.threadCount {
            finished.enter()
            let thread = Thread { [self] in
                workerLoop()
                finished.leave()
            }
            thread.name = "\(threadName)-\(index)"
            threads.append(thread)
        }
        for thread in threads { thread.start() }
    }

    /// A new queue served by this scheduler.
    /// `depth`, when given, is set to the number of requests waiting in the queue as it changes.
    public func makeQueue(
        name: String, options: BatchingOptions, depth: Gauge? = nil, process: @escaping BatchProcessor
    ) -> BatchQueue {
        BatchQueue(name: name, options: options, scheduler: self, depth: depth, process: process)
    }

    /// Lets queued work finish, then stops the threads. New submissions are refused.
    public func shutdown() {
        withLock {
            stopping = true
            condition.broadcast()
        }
        finished.wait()
        // Each thread's closure holds the scheduler; dropping the finished threads lets it go.
        threads = []
    }

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        condition.lock()
        defer { condition.unlock() }
        return try body()
    }

    /// Queues `tasks` (one request, or the parts of a split one) together, or none of them.
    func enqueue(_ tasks: [BatchTask], on queue: BatchQueue) throws(ServingError) {
        condition.lock()
        var depth = 0
        defer {
            condition.unlock()
            if depth > 0 { queue.depth?.record(depth) }
        }
        guard !stopping else {
            throw .unavailable("The server is shutting down and takes no new work for \(queue.name)")
        }
        let rows = tasks.reduce(0) { $0 + ($1.rows ?? 1) }
        guard queue.pendingRows + rows <= queue.capacityRows else {
            throw .unavailable("The batch scheduling queue to which this task was submitted is full")
        }
        queue.pending.append(contentsOf: tasks)
        queue.pendingRows += rows
        depth = queue.pending.count - queue.pendingHead
        if !queue.isScheduled {
            queue.isScheduled = true
            queues.append(queue)
        }
        // A batch that waits for a running execution is picked up by the thread that finishes it.
        if queue.readyTime(threads: threadCount) != nil { condition.signal() }
    }

    private func workerLoop() {
        condition.lock()
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            var earliest: UInt64?
            var picked: (BatchQueue, [BatchTask])?
            let count = queues.count
            for offset in 0..<count {
                let index = (nextQueue + offset) % count
                let queue = queues[index]
                guard queue.hasPending else { continue }
                guard let due = stopping ? 0 : queue.readyTime(threads: threadCount) else { continue }
                if due <= now {
                    picked = (queue, queue.takeBatch())
                    nextQueue = (index + 1) % count
                    break
                }
                earliest = min(earliest ?? due, due)
            }
            if let (queue, tasks) = picked {
                if !queue.hasPending {
                    queue.isScheduled = false
                    queues.removeAll { $0 === queue }
                    nextQueue = queues.isEmpty ? 0 : nextQueue % queues.count
                }
                queue.running += 1
                queue.executions += 1
                queue.executedRequests += tasks.count
                for task in tasks { queue.executedRows += task.rows ?? 1 }
                let depth = queue.pending.count - queue.pendingHead
                condition.unlock()
                queue.depth?.record(depth)
                let measured = Self.run(tasks, on: queue)
                condition.lock()
                queue.running -= 1
                if let measured, queue.options.latencyTargetMicros != nil {
                    queue.costModel.record(rows: measured.rows, nanoseconds: measured.nanoseconds)
                }
                continue
            }
            if stopping { break }
            if let earliest {
                let wait = Double(earliest - now) / 1e9
                _ = condition.wait(until: Date(timeIntervalSinceNow: wait))
            } else {
                condition.wait()
            }
        }
        condition.unlock()
    }

    /// Runs tasks as one execution: merge inputs along dimension 0 (padding to an allowed size),
    /// process, split outputs back by rows. Returns the rows computed and how long the computation
    /// took when it succeeded.
    static func run(_ tasks: [BatchTask], on queue: BatchQueue) -> (rows: Int, nanoseconds: UInt64)? {
        let now = DispatchTime.now().uptimeNanoseconds
        let metrics = queue.scheduler.metrics
        var live: [BatchTask] = []
        live.reserveCapacity(tasks.count)
        for task in tasks {
            metrics.recordQueued(nanoseconds: now > task.enqueuedAt ? now - task.enqueuedAt : 0)
            if let deadline = task.deadline, deadline <= now {
                task.completion(.failure(ServingError(.deadlineExceeded,
                    "Deadline exceeded while the request waited in the batch queue of \(queue.name)")))
            } else if let isCancelled = task.isCancelled, isCancelled() {
                task.completion(.failure(ServingError(.cancelled,
                    "The client went away while the request waited in the batch queue of \(queue.name)")))
            } else {
                live.append(task)
            }
        }
        guard let first = live.first else { return nil }
        let rows = live.reduce(0) { $0 + ($1.rows ?? 0) }
        // Requests that cannot be merged (no common dimension 0) or hold no rows run as they are.
        let paddedRows = queue.options.enabled && first.rows != nil && rows > 0 ? queue.options.paddedSize(for: rows) : rows
        if queue.options.enabled, first.rows != nil {
            for task in live { metrics.recordInput(rows: task.rows ?? 0) }
            metrics.recordBatch(rows: rows, paddedRows: paddedRows)
        }
        if live.count == 1, paddedRows == rows {
            let result: Result<[String: Tensor], ServingError>
            var measured: (rows: Int, nanoseconds: UInt64)?
            let started = MonotonicClock.nanoseconds()
            do throws(ServingError) {
                let outputs = try queue.process(first.inputs)
                let computed = MonotonicClock.nanoseconds(since: started)
                first.computeLatency?.record(nanoseconds: computed)
                measured = first.rows.map { ($0, computed) }
                result = .success(outputs)
            } catch {
                result = .failure(error)
            }
            first.completion(result)
            return measured
        }
        do throws(ServingError) {
            let merged = try merge(live, paddedRows: paddedRows)
            let started = MonotonicClock.nanoseconds()
            let outputs = try queue.process(merged)
            let computed = MonotonicClock.nanoseconds(since: started)
            for task in live { task.computeLatency?.record(nanoseconds: computed) }
            try split(outputs, among: live, totalRows: paddedRows, queueName: queue.name)
            return (paddedRows, computed)
        } catch {
            for task in live { task.completion(.failure(error)) }
            return nil
        }
    }

    static func merge(_ tasks: [BatchTask], paddedRows: Int) throws(ServingError) -> [String: Tensor] {
        guard let first = tasks.first else { return [:] }
        let rows = tasks.reduce(0) { $0 + ($1.rows ?? 0) }
        var merged: [String: Tensor] = [:]
        for (key, firstTensor) in first.inputs {
            var parts = tasks.compactMap { $0.inputs[key] }
            if first.padsTrailingDims { parts = try TrailingPadding.padded(parts) }
            if paddedRows > rows {
                let padding = try (parts.first ?? firstTensor).rows(0..<1)
                parts.append(contentsOf: repeatElement(padding, count: paddedRows - rows))
            }
            merged[key] = try Tensor.concatenate(parts)
        }
        return merged
    }

    static func split(
        _ outputs: [String: Tensor], among tasks: [BatchTask], totalRows: Int, queueName: String
    ) throws(ServingError) {
        for (key, tensor) in outputs where tensor.shape.rank == 0 || tensor.shape[0] != totalRows {
            throw .internal(
                "output '\(key)' of \(queueName) has shape \(tensor.shape), which cannot be split into a batch of \(totalRows) rows")
        }
        var results: [[String: Tensor]] = Array(repeating: [:], count: tasks.count)
        for (key, tensor) in outputs {
            var start = 0
            for (index, task) in tasks.enumerated() {
                let rows = task.rows ?? 0
                results[index][key] = try tensor.rows(start..<(start + rows))
                start += rows
            }
        }
        for (index, task) in tasks.enumerated() {
            task.completion(.success(results[index]))
        }
    }
}
