import CoreMetrics
import Dispatch
import Foundation
import Synchronization
import Testing
import Tensors
@testable import Batching

/// `enable_large_batch_splitting` / `max_execution_batch_size`, `pad_variable_length_inputs` and the
/// queue-depth gauge.
@Suite struct SplitAndPaddingTests {
    @Test func aLargeRequestIsSplitIntoExecutionsAndAnsweredOnceInOrder() throws {
        let scheduler = BatchScheduler(threadCount: 2)
        defer { scheduler.shutdown() }
        let processor = DoublingProcessor()
        let options = BatchingOptions(enabled: true, maxBatchSize: 10, batchTimeoutMicros: 0,
                                      enableLargeBatchSplitting: true, maxExecutionBatchSize: 4)
        try options.validate()
        let queue = scheduler.makeQueue(name: "m", options: options, process: processor.process)
        let completions = Completions()
        completions.expect(1)
        let values = (0..<9).map { Float($0) }
        try queue.submit(["x": rowsTensor(values, columns: 1)], completion: completions.callback(0))
        let y = try #require(try completions.wait()[0]?.get()["y"])
        #expect(y.shape == [9, 1])
        #expect(y.scalars(as: Float.self) == values.map { $0 * 2 })
        #expect(processor.batchSizes.withLock { $0 }.allSatisfy { $0 <= 4 })
        #expect(processor.batchSizes.withLock { $0 }.reduce(0, +) == 9)
        #expect(throws: ServingError.self) {
            try queue.submit(["x": rowsTensor((0..<11).map { Float($0) }, columns: 1)], completion: { _ in })
        }
    }

    @Test func aFailingPartFailsTheWholeRequestOnce() throws {
        let scheduler = BatchScheduler(threadCount: 1)
        defer { scheduler.shutdown() }
        let options = BatchingOptions(enabled: true, maxBatchSize: 6, enableLargeBatchSplitting: true, maxExecutionBatchSize: 2)
        let queue = scheduler.makeQueue(name: "m", options: options) { inputs throws(ServingError) in
            guard let x = inputs["x"], !x.scalars(as: Float.self).contains(3) else { throw .invalidArgument("no threes") }
            return ["y": x]
        }
        let calls = Mutex(0)
        let done = DispatchSemaphore(value: 0)
        try queue.submit(["x": rowsTensor([1, 2, 3, 4, 5, 6], columns: 1)]) { result in
            calls.withLock { $0 += 1 }
            if case .failure(let error) = result { #expect(error.message == "no threes") }
            done.signal()
        }
        #expect(done.wait(timeout: .now() + 10) == .success)
        usleep(100_000)
        #expect(calls.withLock { $0 } == 1)
    }

    @Test func splittingSettingsAreValidated() {
        #expect(throws: BatchingConfigurationError.self) {
            try BatchingOptions(enabled: true, maxBatchSize: 8, maxExecutionBatchSize: 4).validate()
        }
        #expect(throws: BatchingConfigurationError.self) {
            try BatchingOptions(enabled: true, maxBatchSize: 8, enableLargeBatchSplitting: true, maxExecutionBatchSize: 9).validate()
        }
        #expect(throws: BatchingConfigurationError.self) {
            try BatchingOptions(enabled: true, maxBatchSize: 8, allowedBatchSizes: [2, 8], enableLargeBatchSplitting: true,
                                maxExecutionBatchSize: 4).validate()
        }
        #expect((try? BatchingOptions(enabled: true, maxBatchSize: 8, allowedBatchSizes: [2, 4], enableLargeBatchSplitting: true,
                                      maxExecutionBatchSize: 4).validate()) != nil)
    }

    @Test func variableLengthInputsArePaddedWithTheirFirstElementToShareABatch() throws {
        let scheduler = BatchScheduler(threadCount: 1)
        defer { scheduler.shutdown() }
        let seen = Mutex<[[Int]]>([])
        let options = BatchingOptions(enabled: true, maxBatchSize: 8, batchTimeoutMicros: 300_000, padVariableLengthInputs: true)
        let queue = scheduler.makeQueue(name: "m", options: options) { inputs throws(ServingError) in
            guard let x = inputs["x"] else { throw .invalidArgument("missing x") }
            seen.withLock { $0.append(x.shape.dims) }
            return ["y": x]
        }
        let completions = Completions()
        completions.expect(2)
        try queue.submit(["x": Tensor([Float(7), 8], shape: [1, 2])], completion: completions.callback(0))
        try queue.submit(["x": Tensor([Float(1), 2, 3, 4, 5, 6], shape: [2, 3])], completion: completions.callback(1))
        let results = completions.wait()
        #expect(seen.withLock { $0 } == [[3, 3]], "one execution of both requests, padded to 3 columns")
        #expect(try results[0]?.get()["y"]?.scalars(as: Float.self) == [7, 8, 7])
        #expect(try results[1]?.get()["y"]?.scalars(as: Float.self) == [1, 2, 3, 4, 5, 6])
    }

    @Test func theQueueDepthGaugeFollowsWaitingRequests() throws {
        let factory = GaugeRecordingFactory()
        let scheduler = BatchScheduler(threadCount: 1)
        defer { scheduler.shutdown() }
        let gate = DispatchSemaphore(value: 0)
        let options = BatchingOptions(enabled: false)
        let queue = scheduler.makeQueue(name: "m", options: options,
                                        depth: Gauge(label: "depth", dimensions: [], factory: factory)) { inputs throws(ServingError) in
            gate.wait()
            return inputs
        }
        let completions = Completions()
        completions.expect(3)
        for id in 0..<3 { try queue.submit(["x": rowsTensor([1], columns: 1)], completion: completions.callback(id)) }
        usleep(100_000)
        #expect(factory.values.withLock { $0.max() } ?? 0 >= 2, "requests behind a running one are counted")
        for _ in 0..<3 { gate.signal() }
        _ = completions.wait()
        #expect(factory.values.withLock { $0.last } == 0)
    }
}

/// A metrics factory whose gauges (recorders) keep every value they are given; other metrics are dropped.
final class GaugeRecordingFactory: MetricsFactory, Sendable {
    let values = Mutex<[Int64]>([])

    final class Recording: RecorderHandler, Sendable {
        let factory: GaugeRecordingFactory
        init(_ factory: GaugeRecordingFactory) { self.factory = factory }
        func record(_ value: Int64) { factory.values.withLock { $0.append(value) } }
        func record(_ value: Double) { record(Int64(value)) }
    }

    final class Dropping: CounterHandler, FloatingPointCounterHandler, MeterHandler, TimerHandler, Sendable {
        func increment(by: Int64) {}
        func increment(by: Double) {}
        func decrement(by: Double) {}
        func set(_ value: Int64) {}
        func set(_ value: Double) {}
        func reset() {}
        func recordNanoseconds(_ duration: Int64) {}
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler { Dropping() }
    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler { Dropping() }
    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler { Dropping() }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler { Recording(self) }
    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler { Dropping() }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    func destroyMeter(_ handler: any MeterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}
