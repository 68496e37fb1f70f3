import Dispatch
import Synchronization
import Foundation
@testable import Runtime
import SavedModel
import Tensors
import Testing

/// Variables that serving signatures assign: their values live in the compiled model, change from run
/// to run, are shared by the model's signatures and are its own.
@Suite struct MutableVariableTests {
    static let fixtures = ["counter_tf_module"]
    static let counterDirectory = Fixtures.modelsDirectory + "/counter_tf_module/1"

    private static func counter() throws -> CompiledModel {
        try CompiledModel.compile(try SavedModelBundle.load(directory: counterDirectory))
    }

    private static func count(_ model: CompiledModel, _ signature: String, _ input: String, _ value: Int64) throws -> Int64? {
        let outputs = try #require(model.signatures[signature]).run([input: Tensor(scalar: value)])
        return outputs["count"]?.scalars(as: Int64.self).first
    }

    @Test func sequenceOfCallsMatchesTensorFlow() throws {
        try FixtureParity.check("counter_tf_module")
    }

    @Test func successiveRunsSeeTheAssignmentsBefore() throws {
        let model = try Self.counter()
        #expect(model.mutableVariableNames.count == 2)
        #expect(try (1...3).map { _ in try Self.count(model, "serving_default", "step", 1) } == [1, 2, 3])
        #expect(try Self.count(model, "decrement", "step", 5) == -2)
        #expect(try Self.count(model, "reset", "value", 40) == 40)
        #expect(try Self.count(model, "serving_default", "step", 2) == 42)
    }

    @Test func aSignatureThatOnlyReadsSeesTheOthersAssignments() throws {
        let model = try Self.counter()
        let scaled = try #require(model.signatures["scaled"])
        let x = Tensor([Float(1), -2], shape: [2])
        #expect(try scaled.run(["x": x])["y"]?.scalars(as: Float.self) == [0, 0])
        _ = try Self.count(model, "serving_default", "step", 3)
        #expect(try scaled.run(["x": x])["y"]?.scalars(as: Float.self) == [3, -6])
    }

    @Test func assignmentsInALoopBodyRunEachIteration() throws {
        let model = try Self.counter()
        let repeated = try #require(model.signatures["repeat"])
        #expect(try repeated.run(["n": Tensor(scalar: Int32(4))])["count"]?.scalars(as: Int64.self) == [4])
        #expect(try repeated.run(["n": Tensor(scalar: Int32(0))])["count"]?.scalars(as: Int64.self) == [4])
    }

    @Test func aLoopWhoseInputsAreAllKnownAtLoadStillRunsEachTime() throws {
        let model = try Self.counter()
        #expect(try Self.count(model, "add_three", "step", 0) == 3)
        #expect(try Self.count(model, "add_three", "step", 10) == 16)
    }

    @Test func inlinedCallsRunInTheOrderOfTheirControlDependencies() throws {
        let model = try Self.counter()
        let affine = try #require(model.signatures["affine"])
        // total starts at 1: doubled, then one added. The other order would give 4, then 9.
        #expect(try affine.run(["x": Tensor(scalar: Float(0))])["total"]?.scalars(as: Float.self) == [3])
        #expect(try affine.run(["x": Tensor(scalar: Float(0))])["total"]?.scalars(as: Float.self) == [7])
    }

    @Test func eachCompiledModelHasItsOwnValues() throws {
        let first = try Self.counter()
        #expect(try Self.count(first, "serving_default", "step", 1) == 1)
        #expect(try Self.count(first, "serving_default", "step", 1) == 2)
        let second = try Self.counter()
        #expect(try Self.count(second, "serving_default", "step", 1) == 1)
        #expect(try Self.count(first, "serving_default", "step", 1) == 3)
    }

    @Test func concurrentIncrementsAllCount() throws {
        let model = try Self.counter()
        let increment = try #require(model.signatures["serving_default"])
        let threads = 8, runsPerThread = 1000
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            for _ in 0..<runsPerThread {
                do throws(ServingError) {
                    _ = try increment.run(["step": Tensor(scalar: Int64(1))])
                } catch {
                    failures.record(error)
                }
            }
        }
        #expect(failures.count == 0)
        #expect(try Self.count(model, "serving_default", "step", 0) == Int64(threads * runsPerThread))
    }

    @Test func randomLayersAdvanceTheirSeedEachRunAndMatchTensorFlow() throws {
        let directory = Fixtures.coverageDirectory + "/layer_RandomFlip_export/1"
        let model = try CompiledModel.compile(try SavedModelBundle.load(directory: directory))
        #expect(model.mutableVariableNames.count == 1)
        let name = try #require(model.mutableVariableNames.first)
        let seed = try #require(model.variables[name])
        let start = try seed.read().integerValues()
        #expect(start.count == 2)
        let testCase = try #require(try Fixtures.cases("layer_RandomFlip_export", in: Fixtures.coverageDirectory).first)
        let signature = try #require(model.signatures[testCase.signature])
        for _ in 0..<3 {
            let outputs = try signature.run(testCase.inputs)
            for (key, expected) in testCase.outputs {
                let actual = try #require(outputs[key])
                #expect(Fixtures.compare(actual, expected).2, "\(key)")
            }
        }
        // Keras' SeedGenerator adds [0, 1] to its state on every call, as TensorFlow's run of this file does.
        #expect(try seed.read().integerValues() == [start[0], start[1] + 3])
    }

    @Test func modelsWhoseSignaturesAssignNothingKeepEveryVariableConstant() throws {
        for name in ["mlp_keras3", "batchnorm_keras3", "lstm_keras3"] {
            let bundle = try SavedModelBundle.load(directory: Fixtures.modelsDirectory + "/\(name)/1")
            #expect(try CompiledModel.compile(bundle).mutableVariableNames.isEmpty, "\(name)")
        }
    }

    @Test func updatesCheckTheValueTheyAreGiven() throws {
        let variable = MutableVariable(key: "v", value: Tensor([Float(1), 2], shape: [2]))
        let add = try #require(VariableUpdate(op: "AssignAddVariableOp"))
        try variable.update(add, with: Tensor([Float(10), 20], shape: [2]))
        #expect(try variable.read().scalars(as: Float.self) == [11, 22])
        #expect(throws: ServingError.self) { try variable.update(add, with: Tensor([Float(1)], shape: [1])) }
        let assign = try #require(VariableUpdate(op: "AssignVariableOp"))
        #expect(throws: ServingError.self) { try variable.update(assign, with: Tensor([Int32(1), 2], shape: [2])) }
        #expect(try variable.read().scalars(as: Float.self) == [11, 22])
        try variable.update(assign, with: Tensor([Float(5)], shape: [1]))
        #expect(try variable.read().shape == [1])

        let empty = MutableVariable(key: "w", value: nil)
        #expect(!empty.isInitialized)
        do {
            _ = try empty.read()
            Issue.record("reading a variable without a value should fail")
        } catch {
            #expect(error.code == .failedPrecondition)
        }
        #expect(throws: ServingError.self) { try empty.update(add, with: Tensor(scalar: Float(1))) }
        try empty.update(assign, with: Tensor(scalar: Float(1)))
        #expect(empty.isInitialized)
    }
}

/// Errors recorded from several threads.
private final class Failures: Sendable {
    private let errors = Mutex<[ServingError]>([])

    var count: Int { errors.withLock { $0.count } }

    func record(_ error: ServingError) { errors.withLock { $0.append(error) } }
}
