import Dispatch
import Foundation
import Testing
import Tensors
@testable import Batching

@Suite struct ExecutionCostModelTests {
    @Test func fitsTheFixedAndPerRowCosts() throws {
        var model = ExecutionCostModel()
        #expect(model.fit == nil)
        #expect(model.rows(within: 1e9, limit: 64) == 1)
        for rows in [1, 4, 10, 2, 8] {
            model.record(rows: rows, nanoseconds: UInt64(1_000_000 + 100_000 * rows))
        }
        let (fixed, perRow, separated) = try #require(model.fit)
        #expect(separated)
        #expect(abs(fixed - 1_000_000) < 1)
        #expect(abs(perRow - 100_000) < 0.01)
        #expect(model.rows(within: 2_000_000, limit: 64) == 10)
        #expect(model.rows(within: 2_000_000, limit: 8) == 8)
        #expect(model.rows(within: 900_000, limit: 64) == 1)
    }

    /// A fit from small executions alone is not trusted far beyond them: the cap is twice the largest seen.
    @Test func aFitGrowsExecutionsAtMostByDoubling() throws {
        var model = ExecutionCostModel()
        model.record(rows: 1, nanoseconds: 1_000_100)
        model.record(rows: 2, nanoseconds: 1_000_200)
        #expect(try #require(model.fit).separated)
        #expect(model.rows(within: 2_000_000, limit: 64) == 4)
        model.record(rows: 4, nanoseconds: 1_000_400)
        #expect(model.rows(within: 2_000_000, limit: 64) == 8)
    }

    /// Executions all of one size cannot tell fixed from per-row cost; the model then charges it all
    /// per row, which caps low, but always lets the next execution take one row more.
    @Test func oneSizeChargesEverythingPerRowAndProbesTheNextSize() {
        var model = ExecutionCostModel()
        model.record(rows: 4, nanoseconds: 2_000_000)
        model.record(rows: 4, nanoseconds: 2_000_000)
        #expect(model.rows(within: 3_000_000, limit: 64) == 6)
        #expect(model.rows(within: 1_000_000, limit: 64) == 5)
        #expect(model.rows(within: 1_000_000, limit: 4) == 4)
    }

    @Test func recentExecutionsWeighMore() throws {
        var model = ExecutionCostModel(decay: 0.5)
        for _ in 0..<20 { model.record(rows: 2, nanoseconds: 2_000) }
        for _ in 0..<20 { model.record(rows: 2, nanoseconds: 20_000) }
        let (_, perRow, _) = try #require(model.fit)
        #expect(abs(perRow - 10_000) < 1)
    }
}

@Suite struct LatencyTargetTests {
    /// A model costing 20 ms plus 2 ms per row and a target of 80 ms: executions stay at the ten rows
    /// that fit into 40 ms, where without the target the same load runs executions of up to 64 rows.
    /// Costs this large keep a loaded machine's scheduling noise small beside them.
    @Test func executionsStayWithinTheRowsTheTargetAllows() throws {
        func executionSizes(target: Int?) throws -> [Int] {
            let scheduler = BatchScheduler(threadCount: 2)
            defer { scheduler.shutdown() }
            let sizes = LockedValue<[Int]>([])
            let slow: BatchProcessor = { inputs throws(ServingError) in
                guard let x = inputs["x"] else { throw .invalidArgument("missing x") }
                sizes.withLock { $0.append(x.shape[0]) }
                Thread.sleep(forTimeInterval: 0.020 + 0.002 * Double(x.shape[0]))
                return ["y": x]
            }
            let queue = scheduler.makeQueue(
                name: "m", options: BatchingOptions(enabled: true, maxBatchSize: 64, maxEnqueuedBatches: 100,
                                                    latencyTargetMicros: target),
                process: slow)
            for round in 0..<4 {
                let completions = Completions()
                completions.expect(64)
                for id in 0..<64 {
                    try queue.submit(["x": rowsTensor([Float(round), Float(id)], columns: 2)], completion: completions.callback(id))
                }
                let results = completions.wait()
                #expect(results.count == 64)
                for id in 0..<64 {
                    #expect(try results[id]?.get()["y"]?.scalars(as: Float.self) == [Float(round), Float(id)])
                }
            }
            return sizes.withLock { $0 }
        }
        let capped = try executionSizes(target: 80000)
        // The first fits, from one or two sizes, may overshoot a little; then executions hold near ten rows.
        #expect((capped.max() ?? 0) <= 20, "\(capped)")
        let settled = capped.dropFirst(8).sorted()
        let median = settled.isEmpty ? 0 : settled[settled.count / 2]
        #expect((5...12).contains(median), "\(capped)")
        let uncapped = try executionSizes(target: nil)
        #expect((uncapped.max() ?? 0) >= 32, "\(uncapped)")
    }

    @Test func aTargetNeedsAdaptiveBatching() {
        #expect(throws: BatchingConfigurationError.self) {
            try BatchingOptions(enabled: true, batchTimeoutMicros: 1000, latencyTargetMicros: 5000).validate()
        }
        #expect(throws: BatchingConfigurationError.self) {
            try BatchingOptions(enabled: true, latencyTargetMicros: 0).validate()
        }
        #expect(throws: Never.self) { try BatchingOptions(enabled: true, latencyTargetMicros: 5000).validate() }
    }
}
