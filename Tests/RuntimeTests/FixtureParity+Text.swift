import Runtime
import Testing

/// Parity with TensorFlow for the string, lookup-table and tf.Example fixtures.
@Suite struct TextParityTests {
    static let fixtures = ["hashing_keras3", "string_lookup_keras3", "integer_lookup_keras3",
                           "text_vectorization_keras3", "parse_example_tf1", "vocabulary_file_tf_module"]

    @Test(arguments: fixtures)
    func matchesTensorFlow(_ name: String) throws {
        try FixtureParity.check(name)
    }
}
