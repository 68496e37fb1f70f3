import Foundation
import Runtime
import SavedModel
import Tensors
import Testing

/// Loads a fixture model, runs every recorded case and compares with TensorFlow's outputs.
enum FixtureParity {
    static func check(_ name: String) throws {
        let directory = Fixtures.modelsDirectory + "/\(name)/1"
        let bundle = try SavedModelBundle.load(directory: directory)
        let model = try CompiledModel.compile(bundle)
        let cases = try Fixtures.cases(name)
        #expect(!cases.isEmpty)
        var worstAbsolute = 0.0, worstRelative = 0.0
        for testCase in cases {
            let signature = try #require(model.signatures[testCase.signature], "no signature \(testCase.signature)")
            let outputs = try signature.run(testCase.inputs)
            for (key, expected) in testCase.outputs {
                let actual = try #require(outputs[key], "missing output \(key)")
                #expect(actual.dtype == expected.dtype)
                #expect(actual.shape == expected.shape, "\(name) \(testCase.signature) \(key)")
                let (absolute, relative, ok) = Fixtures.compare(actual, expected)
                worstAbsolute = max(worstAbsolute, absolute)
                worstRelative = max(worstRelative, relative)
                #expect(ok, "\(name) \(testCase.signature) \(key): max abs \(absolute), rel \(relative)")
            }
        }
        print("parity \(name): \(cases.count) cases, max abs error \(worstAbsolute), max rel error \(worstRelative)")
    }
}

/// Compares the runtime with TensorFlow's recorded outputs for the committed fixture models.
/// Other families have their own `FixtureParity+<family>.swift` suites.
@Suite struct FixtureParityTests {
    static let fixtures = ["mlp_keras3", "mlp_tf_module", "mlp_tf1", "mlp_keras3_saved_model_save"]

    @Test(arguments: fixtures)
    func matchesTensorFlow(_ name: String) throws {
        try FixtureParity.check(name)
    }

    @Test func digitsExampleCompiles() throws {
        let directory = Fixtures.repositoryRoot + "/examples/models/digits/1"
        let model = try CompiledModel.compile(try SavedModelBundle.load(directory: directory))
        let signature = try #require(model.signatures["serving_default"])
        let key = try #require(signature.spec.inputs.keys.first)
        let input = Tensor([Float](repeating: 0.5, count: 2 * 64), shape: [2, 64])
        let outputs = try signature.run([key: input])
        let output = try #require(outputs.values.first)
        #expect(output.shape == [2, 10])
        for row in 0..<2 {
            let sum = output.scalars(as: Float.self)[(row * 10)..<(row * 10 + 10)].reduce(0, +)
            #expect(abs(sum - 1) < 1e-5)
        }
    }
}

/// Every fixture the fixture script wrote is compared with TensorFlow by one of the parity suites.
@Suite struct FixtureCoverageTests {
    @Test func everyFixtureHasAParityTest() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Fixtures.modelsDirectory)
        let fixtures = Set(files.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) })
        let tested = Set(FixtureParityTests.fixtures + ControlFlowParityTests.fixtures
                         + NeuralNetParityTests.fixtures + TextParityTests.fixtures + MutableVariableTests.fixtures)
        #expect(fixtures.count >= 29)
        #expect(fixtures.subtracting(tested).isEmpty, "fixtures without a parity test: \(fixtures.subtracting(tested).sorted())")
        #expect(tested.subtracting(fixtures).isEmpty, "parity tests without a fixture: \(tested.subtracting(fixtures).sorted())")
    }
}
