import Dispatch
import Foundation
import Synchronization
import Testing
import Tensors
@testable import Batching

/// Collects completions and lets a test wait for a number of them.
final class Completions: Sendable {
    private let results = Mutex<[Int: Result<[String: Tensor], ServingError>]>([:])
    private let group = DispatchGroup()

    func expect(_ count: Int) { for _ in 0..<count { group.enter() } }

    func callback(_ id: Int) -> BatchCompletion {
        { result in
            self.results.withLock { $0[id] = result }
            self.group.leave()
        }
    }

    func wait() -> [Int: Result<[String: Tensor], ServingError>] {
        _ = group.wait(timeout: .now() + 10)
        return results.withLock { $0 }
    }
}

/// Records the batch sizes a processor saw, and doubles its input.
final class DoublingProcessor: Sendable {
    let batchSizes = Mutex<[Int]>([])

    var process: BatchProcessor {
        { inputs throws(ServingError) in
            guard let x = inputs["x"] else { throw .invalidArgument("missing x") }
            self.batchSizes.withLock { $0.append(x.shape[0]) }
            let doubled = x.scalars(as: Float.self).map { $0 * 2 }
            return ["y": Tensor(doubled, shape: x.shape)]
        }
    }
}

func rowsTensor(_ values: [Float], columns: Int) -> Tensor {
    Tensor(values, shape: [values.count / columns, columns])
}

@Suite struct BatchSchedulerTests {
    @Test func requestsRunAloneWhenBatchingIsOff() throws {
        let scheduler = BatchScheduler(threadCount: 2)
        defer { scheduler.shutdown() }
        let processor = DoublingProcessor()
        let queue = scheduler.makeQueue(name: "m", options: BatchingOptions(), process: processor.process)
        let completions = Completions()
        completions.expect(3)
        for id in 0..<3 {
            try queue.submit(["x": rowsTensor([Float(id), 1], columns: 2)], completion: completions.callback(id))
        }
        let results = completions.wait()
        for id in 0..<3 {
            let y = try #require(try results[id]?.get()["y"])
            #expect(y.scalars(as: Float.self) == [Float(id) * 2, 2])
        }
        #expect(processor.batchSizes.withLock { $0 } == [1, 1, 1])
    }

    @Test func concurrentRequestsMergeAndSplitInOrder() throws {
        let scheduler = BatchScheduler(threadCount: 1)
        defer { scheduler.shutdown() }
        let processor = DoublingProcessor()
        let options = BatchingOptions(enabled: true, maxBatchSize: 8, batchTimeoutMicros: 200_000)
        let queue = scheduler.makeQueue(name: "m", options: options, process: processor.process)
        let completions = Completions()
        completions.expect(3)
        try queue.submit(["x": rowsTensor([1, 2], columns: 2)], completion: completions.callback(0))
        try queue.submit(["x": rowsTensor([3, 4, 5, 6], columns: 2)], completion: completions.callback(1))
        try queue.submit(["x": rowsTensor([7, 8], columns: 2)], completion: completions.callback(2))
        let results = completions.wait()
        #expect(try results[0]?.get()["y"]?.scalars(as: Float.self) == [2, 4])
        #expect(try results[1]?.get()["y"]?.scalars(as: Float.self) == [6, 8, 10, 12])
        #expect(try results[1]?.get()["y"]?.shape == [2, 2])
        #expect(try results[2]?.get()["y"]?.scalars(as: Float.self) == [14, 16])
        #expect(processor.batchSizes.withLock { $0 } == [4])
    }

    /// A request whose client went away while it waited is left out of its batch and answered
    /// CANCELLED; the others in the batch are computed as if it had never come.
    @Test func aCancelledRequestIsDroppedFromItsBatch() throws {
        let scheduler = BatchScheduler(threadCount: 1)
        defer { scheduler.shutdown() }
        let processor = DoublingProcessor()
        let options = BatchingOptions(enabled: true, maxBatchSize: 8, batchTimeoutMicros: 200_000)
        let queue = scheduler.makeQueue(name: "m", options: options, process: processor.process)
        let completions = Completions()
        completions.expect(3)
        let gone = Atomic<Bool>(false)
        try queue.submit(["x": rowsTensor([1, 2], columns: 2)], completion: completions.callback(0))
        try queue.submit(["x": rowsTensor([3, 4, 5, 6], columns: 2)], isCancelled: { gone.load(ordering: .relaxed) },
                         completion: completions.callback(1))
        try queue.submit(["x": rowsTensor([7, 8], columns: 2)], isCancelled: { false }, completion: completions.callback(2))
        gone.store(true, ordering: .relaxed)
        let results = completions.wait()
        #expect(try results[0]?.get()["y"]?.scalars(as: Float.self) == [2, 4])
        #expect(try results[2]?.get()["y"]?.scalars(as: Float.self) == [14, 16])
        guard case .failure(let error)? = results[1] else {
            Issue.record("the cancelled request was answered \(String(describing: results[1]))")
            return
        }
        #expect(error.code == .cancelled)
        #expect(error.message.contains("went away"))
        #expect(processor.batchSizes.withLock { $0 } == [2])
    }

    @Test func fullBatchRunsBeforeTheTimeout() throws {
        let scheduler = BatchScheduler(threadCount: 1)
        defer { scheduler.shutdown() }
        let processor = DoublingProcessor()
        let options = BatchingOptions(enabled: true, maxBatchSize: 2, batchTimeoutMicros: 60_000_000)
        let queue = scheduler.makeQueue(name: "m", options: options, process: processor.process)
        let completions = Completions()
        completions.expect(2)
        let start = DispatchTime.now().uptimeNanoseconds
        try queue.submit(["x": rowsTensor([1], columns: 1)], completion: completions.callback(0))
        try queue.submit(["x": rowsTensor([2], columns: 1)], completion: completions.callback(1))
        _ = completions.wait()
        #expect(DispatchTime.now().uptimeNanoseconds - start < 5_000_000_000)
        #expect(processor.batchSizes.withLock { $0 } == [2])
    }

    @Test func batchesArePaddedToAnAllowedSize() throws {
        let scheduler = BatchScheduler(threadCount: 1)
        defer { scheduler.shutdown() }
        let processor = DoublingProcessor()
        let options = BatchingOptions(enabled: true, maxBatchSize: 8, batchTimeoutMicros: 0, allowedBatchSizes: [4, 8])
        try options.validate()
        let queue = scheduler.makeQueue(name: "m", options: options, process: processor.process)
        let completions = Completions()
        completions.expect(1)
        try queue.submit(["x": rowsTensor([5, 6, 7], columns: 1)], completion: completions.callback(0))
        let results = completions.wait()
        #expect(try results[0]?.get()["y"]?.scalars(as: Float.self) == [10, 12, 14])
        #expect(processor.batchSizes.withLock { $0 } == [4])
    }

    /// A request without a common dimension 0 (a scalar beside a matrix) or with zero rows is not padded:
    /// it runs as it came.
    @Test func unmergeableAndEmptyRequestsAreNotPadded() throws {
        let scheduler = BatchScheduler(threadCount: 1)
        defer { scheduler.shutdown() }
        let seen = Mutex<[[Int]]>([])
        let options = BatchingOptions(enabled: true, maxBatchSize: 8, batchTimeoutMicros: 0, allowedBatchSizes: [4, 8])
        let queue = scheduler.makeQueue(name: "m", options: options) { inputs throws(ServingError) in
            guard let x = inputs["x"] else { throw .invalidArgument("missing x") }
            seen.withLock { $0.append(x.shape.dims) }
            return ["y": x]
        }
        let completions = Completions()
        completions.expect(2)
        try queue.submit(["x": rowsTensor([1, 2, 3], columns: 3), "scale": Tensor([Float(2)], shape: [])],
                         completion: completions.callback(0))
        try queue.submit(["x": Tensor([Float](), shape: [0, 3])], completion: completions.callback(1))
        let results = completions.wait()
        #expect(try results[0]?.get()["y"]?.shape == [1, 3])
        #expect(try results[1]?.get()["y"]?.shape == [0, 3])
        #expect(seen.withLock { $0 } == [[1, 3], [0, 3]])
    }

    @Test func incompatibleRequestsDoNotMerge() throws {
        let scheduler = BatchScheduler(threadCount: 1)
        defer { scheduler.shutdown() }
        let processor = DoublingProcessor()
        let options = BatchingOptions(enabled: true, maxBatchSize: 8, batchTimeoutMicros: 100_000)
        let queue = scheduler.makeQueue(name: "m", options: options, process: processor.process)
        let completions = Completions()
        completions.expect(2)
        try queue.submit(["x": rowsTensor([1, 2], columns: 2)], completion: completions.callback(0))
        try queue.submit(["x": rowsTensor([1, 2, 3], columns: 3)], completion: completions.callback(1))
        let results = completions.wait()
        #expect(try results[0]?.get()["y"]?.shape == [1, 2])
        #expect(try results[1]?.get()["y"]?.shape == [1, 3])
        #expect(processor.batchSizes.withLock { $0 }.sorted() == [1, 1])
    }

    @Test func fullQueueRefusesWithTFServingsMessage() throws {
        let scheduler = BatchScheduler(threadCount: 1)
        defer { scheduler.shutdown() }
        let gate = DispatchSemaphore(value: 0)
        let options = BatchingOptions(enabled: true, maxBatchSize: 1, batchTimeoutMicros: 0, maxEnqueuedBatches: 2)
        let queue = scheduler.makeQueue(name: "m", options: options) { inputs throws(ServingError) in
            gate.wait()
            return inputs
        }
        let completions = Completions()
        completions.expect(3)
        // The first task is taken by the only thread and blocks; two more fill the queue.
        try queue.submit(["x": rowsTensor([1], columns: 1)], completion: completions.callback(0))
        while queue.queuedCount > 0 { usleep(1000) }
        try queue.submit(["x": rowsTensor([2], columns: 1)], completion: completions.callback(1))
        try queue.submit(["x": rowsTensor([3], columns: 1)], completion: completions.callback(2))
        #expect(throws: ServingError.unavailable("The batch scheduling queue to which this task was submitted is full")) {
            try queue.submit(["x": rowsTensor([4], columns: 1)]) { _ in }
        }
        for _ in 0..<3 { gate.signal() }
        #expect(completions.wait().count == 3)
    }

    @Test func oversizedRequestIsRejected() {
        let scheduler = BatchScheduler(threadCount: 1)
        defer { scheduler.shutdown() }
        let options = BatchingOptions(enabled: true, maxBatchSize: 2)
        let queue = scheduler.makeQueue(name: "m", options: options) { inputs throws(ServingError) in inputs }
        #expect(throws: ServingError.self) {
            try queue.submit(["x": rowsTensor([1, 2, 3], columns: 1)]) { _ in }
        }
    }

    @Test func expiredRequestsFailWithDeadlineExceeded() throws {
        let scheduler = BatchScheduler(threadCount: 1)
        defer { scheduler.shutdown() }
        let queue = scheduler.makeQueue(name: "m", options: BatchingOptions()) { inputs throws(ServingError) in inputs }
        let completions = Completions()
        completions.expect(1)
        let past = DispatchTime.now().uptimeNanoseconds - 1
        try queue.submit(["x": rowsTensor([1], columns: 1)], deadlineNanos: past, completion: completions.callback(0))
        let result = completions.wait()[0]
        #expect(throws: ServingError.self) { try result?.get() }
        if case .failure(let error) = result { #expect(error.code == .deadlineExceeded) }
    }

    @Test func unsplittableOutputFailsEveryTaskOfTheBatch() throws {
        let scheduler = BatchScheduler(threadCount: 1)
        defer { scheduler.shutdown() }
        let options = BatchingOptions(enabled: true, maxBatchSize: 4, batchTimeoutMicros: 100_000)
        let queue = scheduler.makeQueue(name: "m", options: options) { _ throws(ServingError) in
            ["y": Tensor(scalar: Float(1))]
        }
        let completions = Completions()
        completions.expect(2)
        try queue.submit(["x": rowsTensor([1], columns: 1)], completion: completions.callback(0))
        try queue.submit(["x": rowsTensor([2], columns: 1)], completion: completions.callback(1))
        let results = completions.wait()
        for id in 0..<2 {
            guard case .failure(let error) = results[id] else { Issue.record("task \(id) should fail"); continue }
            #expect(error.code == .internal)
            #expect(error.message.contains("cannot be split"))
        }
    }

    @Test func shutdownRunsQueuedWorkAndRefusesNewWork() throws {
        let scheduler = BatchScheduler(threadCount: 1)
        let processor = DoublingProcessor()
        let options = BatchingOptions(enabled: true, maxBatchSize: 8, batchTimeoutMicros: 30_000_000)
        let queue = scheduler.makeQueue(name: "m", options: options, process: processor.process)
        let completions = Completions()
        completions.expect(1)
        try queue.submit(["x": rowsTensor([1], columns: 1)], completion: completions.callback(0))
        scheduler.shutdown()
        #expect(try completions.wait()[0]?.get()["y"]?.scalars(as: Float.self) == [2])
        #expect(throws: ServingError.self) { try queue.submit(["x": rowsTensor([1], columns: 1)]) { _ in } }
    }

    /// Adaptive batching: 64 requests submitted at once while an execution runs form a few large
    /// batches, each answer equal to what the request alone gives.
    @Test func adaptiveBatchingMergesConcurrentRequestsIntoFewExecutions() throws {
        let scheduler = BatchScheduler(threadCount: 2)
        defer { scheduler.shutdown() }
        let processor = DoublingProcessor()
        let slow: BatchProcessor = { inputs throws(ServingError) in
            Thread.sleep(forTimeInterval: 0.005)
            return try processor.process(inputs)
        }
        let queue = scheduler.makeQueue(
            name: "m", options: BatchingOptions(enabled: true, maxBatchSize: 64, batchTimeoutMicros: 0), process: slow)
        let completions = Completions()
        completions.expect(64)
        DispatchQueue.concurrentPerform(iterations: 64) { id in
            do throws(ServingError) {
                try queue.submit(["x": rowsTensor([Float(id), -Float(id)], columns: 2)], completion: completions.callback(id))
            } catch {
                Issue.record("submit \(id) failed: \(error)")
                completions.callback(id)(.failure(error))
            }
        }
        let results = completions.wait()
        for id in 0..<64 {
            let y = try #require(try results[id]?.get()["y"])
            #expect(y.shape == [1, 2])
            #expect(y.scalars(as: Float.self) == [Float(id) * 2, -Float(id) * 2])
        }
        let executions = processor.batchSizes.withLock { $0 }
        #expect(executions.reduce(0, +) == 64)
        #expect(executions.count < 16, "64 concurrent requests ran as \(executions.count) executions: \(executions)")
    }

    /// Adaptive batching: requests that arrive while their queue's execution runs wait for it (an idle
    /// second thread does not take them one by one) and then run as one batch.
    @Test func adaptiveBatchingGathersRequestsArrivingDuringAnExecution() throws {
        let scheduler = BatchScheduler(threadCount: 2)
        defer { scheduler.shutdown() }
        let processor = DoublingProcessor()
        let release = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let calls = Mutex(0)
        let gated: BatchProcessor = { inputs throws(ServingError) in
            if calls.withLock({ $0 += 1; return $0 }) == 1 {
                started.signal()
                _ = release.wait(timeout: .now() + 10)
            }
            return try processor.process(inputs)
        }
        let queue = scheduler.makeQueue(
            name: "m", options: BatchingOptions(enabled: true, maxBatchSize: 64, batchTimeoutMicros: 0), process: gated)
        let completions = Completions()
        completions.expect(4)
        try queue.submit(["x": rowsTensor([0, 0], columns: 2)], completion: completions.callback(0))
        #expect(started.wait(timeout: .now() + 10) == .success)
        for id in 1...3 {
            try queue.submit(["x": rowsTensor([Float(id), 1], columns: 2)], completion: completions.callback(id))
        }
        Thread.sleep(forTimeInterval: 0.05)
        #expect(calls.withLock { $0 } == 1)
        release.signal()
        let results = completions.wait()
        for id in 1...3 {
            #expect(try results[id]?.get()["y"]?.scalars(as: Float.self) == [Float(id) * 2, 2])
        }
        #expect(processor.batchSizes.withLock { $0 } == [1, 3])
    }

    /// Adaptive batching never holds a lone request; TF Serving's timeout mode holds it for the timeout.
    @Test func adaptiveBatchingRunsALoneRequestAtOnce() throws {
        let scheduler = BatchScheduler(threadCount: 1)
        defer { scheduler.shutdown() }
        func latency(_ options: BatchingOptions) throws -> Double {
            let queue = scheduler.makeQueue(name: "m", options: options, process: DoublingProcessor().process)
            let completions = Completions()
            completions.expect(1)
            let started = DispatchTime.now().uptimeNanoseconds
            try queue.submit(["x": rowsTensor([1, 2], columns: 2)], completion: completions.callback(0))
            let results = completions.wait()
            #expect(try results[0]?.get()["y"]?.scalars(as: Float.self) == [2, 4])
            return Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        }
        let timeout = try latency(BatchingOptions(enabled: true, maxBatchSize: 8, batchTimeoutMicros: 300_000))
        let adaptive = try latency(BatchingOptions(enabled: true, maxBatchSize: 8, batchTimeoutMicros: 0))
        #expect(timeout >= 0.3)
        #expect(adaptive < 0.15, "a lone request took \(adaptive) s in adaptive mode")
    }

    @Test func allowedBatchSizesAreValidated() {
        #expect(throws: BatchingConfigurationError.self) {
            try BatchingOptions(enabled: true, maxBatchSize: 8, allowedBatchSizes: [4, 2, 8]).validate()
        }
        #expect(throws: BatchingConfigurationError.self) {
            try BatchingOptions(enabled: true, maxBatchSize: 8, allowedBatchSizes: [2, 4]).validate()
        }
    }
}
