import Runtime
import SavedModel
import Tensors
import Testing

/// TensorFlow parity for the recurrent fixtures (While/StatelessWhile loops over TensorLists) and the
/// run-time assertions (Assert, Assert guarded by If, CheckNumerics).
@Suite struct ControlFlowParityTests {
    static let fixtures = ["lstm_keras3", "gru_keras3", "simple_rnn_keras3", "bidirectional_lstm_keras3",
                           "lstm_masked_keras3", "lstm_tf_keras", "embedding_rnn_keras3", "assert_tf_module"]

    @Test(arguments: fixtures)
    func matchesTensorFlow(_ name: String) throws {
        try FixtureParity.check(name)
    }

    @Test(arguments: [
        ([Float(1), 2, 150], "too large"),
        ([Float(1), -60, 3], "x below -50"),
        ([Float(1), .nan, 3], "x must be finite : Tensor had NaN values"),
        ([Float(1), .infinity, 3], "x must be finite : Tensor had Inf values"),
    ])
    func failedAssertionsFailTheRequest(_ values: [Float], _ message: String) throws {
        let bundle = try SavedModelBundle.load(directory: Fixtures.modelsDirectory + "/assert_tf_module/1")
        let signature = try #require(try CompiledModel.compile(bundle).signatures["serving_default"])
        let good = try signature.run(["x": Tensor([Float(1), -2, 3], shape: [1, 3])])
        #expect(good["y"]?.scalars(as: Float.self) == [2, -4, 6])
        do {
            _ = try signature.run(["x": Tensor(values, shape: [1, 3])])
            Issue.record("\(values) passed the assertions")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains(message), "\(error.message)")
        }
    }
}
