import Foundation
@testable import Runtime
import Tensors
import Testing

/// `InitializeTableFromTextFileV2` file reading, with the answers TensorFlow gives for the same files.
@Suite struct TextFileTableTests {
    private func source(key: Int, value: Int, delimiter: String = "\t", vocabularySize: Int = -1, offset: Int = 0) throws -> TextFileTableSource {
        let definition = try #require(OpDefTable.definition("InitializeTableFromTextFileV2"))
        var values: [String: NodeAttr] = ["key_index": .int(Int64(key)), "value_index": .int(Int64(value)),
                                          "delimiter": .string(Array(delimiter.utf8)), "offset": .int(Int64(offset))]
        if vocabularySize != -1 { values["vocab_size"] = .int(Int64(vocabularySize)) }
        return try TextFileTableSource(attrs: AttrReader(attrs: values, defaults: definition.defaults, location: "node 'init'"))
    }

    private func file(_ content: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("table-\(UUID().uuidString).txt").path
        try Data(content.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func wholeLinesToLineNumbersWithCarriageReturnsAndNoFinalNewline() throws {
        let path = try file("a\r\nb\r\ncafé")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let (keys, values) = try source(key: TextFileTableSource.wholeLine, value: TextFileTableSource.lineNumber, offset: 1)
            .read(path: path, keyType: .string, valueType: .int64)
        #expect(keys.strings == [Array("a".utf8), Array("b".utf8), Array("café".utf8)])
        #expect(values.scalars(as: Int64.self) == [1, 2, 3])
    }

    @Test func columnsParseAsNumbersAndStopAtTheVocabularySize() throws {
        let path = try file("a,1, 1.5\nb, 2,1e3\nc,3,0\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let counts = try source(key: 0, value: 1, delimiter: ",", vocabularySize: 2).read(path: path, keyType: .string, valueType: .int64)
        #expect(counts.keys.strings == [Array("a".utf8), Array("b".utf8)])
        #expect(counts.values.scalars(as: Int64.self) == [1, 2])
        let weights = try source(key: 0, value: 2, delimiter: ",").read(path: path, keyType: .string, valueType: .float32)
        #expect(weights.values.scalars(as: Float.self) == [1.5, 1000, 0])
    }

    @Test func badFilesAreRejectedWithTheLineAtFault() throws {
        let cases: [(String, TextFileTableSource, StatusCode, String)] = [
            ("a\n\nb\n", try source(key: -2, value: -1), .invalidArgument, "empty line found at line 2"),
            ("a,1\nb\n", try source(key: 0, value: 1, delimiter: ","), .invalidArgument, "expected at least 2 columns, got 1"),
            ("a,1\nb,x\n", try source(key: 0, value: 1, delimiter: ","), .invalidArgument, "line 2: 'x' is not a valid DT_INT64"),
            ("a,1\nb,2\n", try source(key: 0, value: 1, delimiter: ",", vocabularySize: 3), .invalidArgument, "vocab_size is 3"),
            ("a\nb\na\n", try source(key: -2, value: -1), .failedPrecondition, "key 'a' on line 3 already has a different value"),
        ]
        for (content, reader, code, message) in cases {
            let path = try file(content)
            defer { try? FileManager.default.removeItem(atPath: path) }
            do {
                _ = try reader.read(path: path, keyType: .string, valueType: .int64)
                Issue.record("\(content.debugDescription) was accepted")
            } catch {
                #expect(error.code == code, "\(content.debugDescription)")
                #expect(error.message.contains(message), "\(error.message)")
            }
        }
        #expect(throws: ServingError.self) {
            _ = try source(key: 0, value: 1).read(path: "/nonexistent/table.txt", keyType: .string, valueType: .int64)
        }
    }
}
