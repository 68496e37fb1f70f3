import Foundation
import Tensors

/// How `InitializeTableFromTextFileV2` turns the lines of a text file (usually a SavedModel asset) into
/// table keys and values: a column of the line split by `delimiter`, the whole line, or the line number
/// plus `offset`.
struct TextFileTableSource {
    static let wholeLine = -2
    static let lineNumber = -1

    let keyIndex: Int
    let valueIndex: Int
    /// Lines to read; -1 reads them all.
    let vocabularySize: Int
    let delimiter: [UInt8]
    let offset: Int

    init(attrs: AttrReader) throws(ServingError) {
        keyIndex = try attrs.int("key_index")
        valueIndex = try attrs.int("value_index")
        vocabularySize = try attrs.int("vocab_size")
        delimiter = Array(try attrs.string("delimiter").utf8)
        offset = try attrs.int("offset")
        guard keyIndex >= Self.wholeLine, valueIndex >= Self.wholeLine, vocabularySize >= -1, !delimiter.isEmpty else {
            throw .invalidArgument(
                "\(attrs.location): key_index \(keyIndex), value_index \(valueIndex), vocab_size \(vocabularySize) or an empty delimiter is not valid")
        }
        guard keyIndex != Self.lineNumber || valueIndex != Self.lineNumber else {
            throw .invalidArgument("\(attrs.location): keys and values cannot both be line numbers")
        }
    }

    /// Keys and values read from `path`, with TensorFlow's checks: no empty line, enough columns,
    /// numbers that parse, `vocab_size` lines present, one value per key.
    func read(path: String, keyType: DType, valueType: DType) throws(ServingError) -> (keys: Tensor, values: Tensor) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .notFound("table file \(path) cannot be read")
        }
        var keys = Column(dtype: keyType), values = Column(dtype: valueType)
        var seen: [Field: Int] = [:]
        var lineNumber = 0
        let bytes = [UInt8](data)
        var start = 0
        while start < bytes.count, vocabularySize < 0 || lineNumber < vocabularySize {
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
            var lineEnd = end
            if lineEnd > start, bytes[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
            let line = Array(bytes[start..<lineEnd])
            start = end + 1
            guard !line.isEmpty else {
                throw .invalidArgument("table file \(path): empty line found at line \(lineNumber + 1)")
            }
            let columns = needsColumns ? split(line) : []
            let key = try field(keyIndex, line: line, columns: columns, number: lineNumber, path: path, type: keyType)
            let value = try field(valueIndex, line: line, columns: columns, number: lineNumber, path: path, type: valueType)
            if let previous = seen[key] {
                guard values.fields[previous] == value else {
                    throw .failedPrecondition("table file \(path): key \(key) on line \(lineNumber + 1) already has a different value")
                }
            } else {
                seen[key] = keys.fields.count
                keys.fields.append(key)
                values.fields.append(value)
            }
            lineNumber += 1
        }
        if vocabularySize >= 0, lineNumber < vocabularySize {
            throw .invalidArgument("table file \(path): vocab_size is \(vocabularySize) but the file has \(lineNumber) lines")
        }
        return (try keys.tensor(), try values.tensor())
    }

    private var needsColumns: Bool { keyIndex >= 0 || valueIndex >= 0 }

    private func split(_ line: [UInt8]) -> [ArraySlice<UInt8>] {
        var columns: [ArraySlice<UInt8>] = []
        var start = 0, index = 0
        while index + delimiter.count <= line.count {
            if line[index..<(index + delimiter.count)].elementsEqual(delimiter) {
                columns.append(line[start..<index])
                index += delimiter.count
                start = index
            } else {
                index += 1
            }
        }
        columns.append(line[start...])
        return columns
    }

    private func field(
        _ index: Int, line: [UInt8], columns: [ArraySlice<UInt8>], number: Int, path: String, type: DType
    ) throws(ServingError) -> Field {
        if index == Self.lineNumber {
            guard type == .int64 || type == .int32 else {
                throw .invalidArgument("table file \(path): line numbers need int64 values, the table has \(type)")
            }
            return .integer(Int64(number + offset))
        }
        let text: ArraySlice<UInt8>
        if index == Self.wholeLine {
            text = line[...]
        } else {
            guard index < columns.count else {
                throw .invalidArgument(
                    "table file \(path) line \(number + 1) (\(String(decoding: line, as: UTF8.self))): expected at least \(index + 1) columns, got \(columns.count)")
            }
            text = columns[index]
        }
        let trimmed = String(decoding: text, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        switch type {
        case .string:
            return .bytes(Array(text))
        case .int64, .int32:
            guard let value = Int64(trimmed), type == .int64 || Int32(exactly: value) != nil else {
                throw .invalidArgument("table file \(path) line \(number + 1): '\(trimmed)' is not a valid \(type)")
            }
            return .integer(value)
        case .float32, .float64:
            guard let value = Double(trimmed) else {
                throw .invalidArgument("table file \(path) line \(number + 1): '\(trimmed)' is not a valid \(type)")
            }
            return .real(value)
        default:
            throw .unimplemented("table file \(path): \(type) keys or values are not supported")
        }
    }

    private enum Field: Hashable, CustomStringConvertible {
        case bytes([UInt8])
        case integer(Int64)
        case real(Double)

        var bytes: [UInt8] {
            if case .bytes(let value) = self { return value }
            return []
        }

        var integer: Int64 {
            if case .integer(let value) = self { return value }
            return 0
        }

        var real: Double {
            if case .real(let value) = self { return value }
            return 0
        }

        var description: String {
            switch self {
            case .bytes(let bytes): "'\(String(decoding: bytes, as: UTF8.self))'"
            case .integer(let value): "\(value)"
            case .real(let value): "\(value)"
            }
        }
    }

    private struct Column {
        let dtype: DType
        var fields: [Field] = []

        init(dtype: DType) { self.dtype = dtype }

        func tensor() throws(ServingError) -> Tensor {
            let shape: Shape = [fields.count]
            switch dtype {
            case .string: return Tensor(strings: fields.map(\.bytes), shape: shape)
            case .int64: return Tensor(fields.map(\.integer), shape: shape)
            case .int32: return Tensor(fields.map { Int32(truncatingIfNeeded: $0.integer) }, shape: shape)
            case .float32: return Tensor(fields.map { Float($0.real) }, shape: shape)
            case .float64: return Tensor(fields.map(\.real), shape: shape)
            default: throw .unimplemented("\(dtype) table columns are not supported")
            }
        }
    }
}
