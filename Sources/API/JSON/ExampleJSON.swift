import NIOCore
import TFProtos
import Tensors

/// A `:classify` / `:regress` body as TF Serving reads it: `{"signature_name": ..., "context": {...},
/// "examples": [{...}, ...]}`, each object a `tf.Example` whose features are a value or a list of values —
/// strings and `{"b64": ...}` become bytes, numbers with a fraction or exponent floats, integers and
/// booleans int64. Other top-level keys are ignored.
struct DecodedExampleRequest {
    var signatureName: String?
    /// The examples serialized, each after the serialized context when there is one (so the example's
    /// features win where both have a feature, as protobuf merging does).
    var serializedExamples: [[UInt8]]
}

enum ExampleJSON {
    static func decode(_ body: ByteBuffer, method: String, maxDepth: Int) throws(ServingError) -> DecodedExampleRequest {
        let result: Result<DecodedExampleRequest, ServingError> = body.withUnsafeReadableBytes { bytes in
            do throws(ServingError) {
                return .success(try decode(bytes, method: method, maxDepth: maxDepth))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private static func decode(_ bytes: UnsafeRawBufferPointer, method: String, maxDepth: Int) throws(ServingError) -> DecodedExampleRequest {
        var scanner = JSONScanner(bytes: bytes, maxDepth: maxDepth)
        var signatureName: String?
        var context: Tensorflow_Example?
        var examples: [Tensorflow_Example]?
        try scanner.open(UInt8(ascii: "{"))
        if !scanner.closesEmptyObject() {
            repeat {
                let key = String(decoding: try scanner.readKey(), as: UTF8.self)
                switch key {
                case "signature_name":
                    guard scanner.peek() == UInt8(ascii: "\"") else { throw scanner.expected("a string for 'signature_name'") }
                    signatureName = String(decoding: try scanner.readString(), as: UTF8.self)
                case "context":
                    context = try example(&scanner)
                case "examples":
                    guard scanner.peek() == UInt8(ascii: "[") else {
                        throw .invalidArgument("Expecting 'examples' value to be an list/array")
                    }
                    try scanner.open(UInt8(ascii: "["))
                    var list: [Tensorflow_Example] = []
                    if !scanner.closesEmptyArray() {
                        repeat { list.append(try example(&scanner)) } while try scanner.nextArrayElement()
                    }
                    guard !list.isEmpty else { throw .invalidArgument("'examples' value is an empty array") }
                    examples = list
                default:
                    try scanner.skipValue()
                }
            } while try scanner.nextObjectMember()
        }
        scanner.skipWhitespace()
        guard scanner.isAtEnd else { throw scanner.malformed("unexpected data after the top-level object") }
        guard let examples else {
            throw .invalidArgument("When method is \(method), key 'examples' is expected and was not found")
        }
        let prefix = try context.map(serialized) ?? []
        var serializedExamples: [[UInt8]] = []
        serializedExamples.reserveCapacity(examples.count)
        for example in examples { serializedExamples.append(prefix + (try serialized(example))) }
        return DecodedExampleRequest(signatureName: signatureName, serializedExamples: serializedExamples)
    }

    private static func serialized(_ example: Tensorflow_Example) throws(ServingError) -> [UInt8] {
        do {
            return try example.serializedBytes()
        } catch {
            throw .internal("Could not serialize a tf.Example: \(error)")
        }
    }

    private static func example(_ scanner: inout JSONScanner) throws(ServingError) -> Tensorflow_Example {
        guard scanner.peek() == UInt8(ascii: "{") else {
            throw .invalidArgument("Example must be JSON object but got JSON \(jsonType(&scanner))")
        }
        try scanner.open(UInt8(ascii: "{"))
        var example = Tensorflow_Example()
        if scanner.closesEmptyObject() { return example }
        repeat {
            let name = String(decoding: try scanner.readKey(), as: UTF8.self)
            var feature = Tensorflow_Feature()
            if scanner.peek() == UInt8(ascii: "[") {
                try scanner.open(UInt8(ascii: "["))
                if !scanner.closesEmptyArray() {
                    repeat { try addValue(&scanner, to: &feature, name: name) } while try scanner.nextArrayElement()
                }
            } else {
                try addValue(&scanner, to: &feature, name: name)
            }
            example.features.feature[name] = feature
        } while try scanner.nextObjectMember()
        return example
    }

    private enum Kind: String {
        case bytes, float, int64
    }

    private static func addValue(_ scanner: inout JSONScanner, to feature: inout Tensorflow_Feature, name: String) throws(ServingError) {
        func require(_ kind: Kind) throws(ServingError) {
            let current: Kind? = switch feature.kind {
            case .bytesList?: .bytes
            case .floatList?: .float
            case .int64List?: .int64
            case nil: nil
            }
            if let current, current != kind {
                throw .invalidArgument("Unexpected element type in feature: \(name) expecting type: \(current.rawValue)")
            }
        }
        switch scanner.peek() {
        case UInt8(ascii: "\"")?:
            try require(.bytes)
            feature.bytesList.value.append(.init(try scanner.readString()))
        case UInt8(ascii: "{")?:
            try require(.bytes)
            try scanner.open(UInt8(ascii: "{"))
            guard !scanner.closesEmptyObject(), try scanner.readKey() == Array("b64".utf8),
                  scanner.peek() == UInt8(ascii: "\"")
            else { throw .invalidArgument("Feature: \(name) has element with unexpected JSON type: object") }
            let text = try scanner.readString()
            guard try !scanner.nextObjectMember() else {
                throw .invalidArgument("Feature: \(name) has element with unexpected JSON type: object")
            }
            guard let decoded = Base64.decode(text) else {
                throw .invalidArgument("Feature: \(name) has a 'b64' value that is not valid base64")
            }
            feature.bytesList.value.append(.init(decoded))
        case UInt8(ascii: "[")?:
            throw .invalidArgument("Feature: \(name) has element with unexpected JSON type: array")
        default:
            switch try scanner.readScalarToken() {
            case .null:
                throw .invalidArgument("Feature: \(name) has element with unexpected JSON type: null")
            case .bool(let value):
                try require(.int64)
                feature.int64List.value.append(value ? 1 : 0)
            case .nan:
                try require(.float)
                feature.floatList.value.append(.nan)
            case .infinity(let negative):
                try require(.float)
                feature.floatList.value.append(negative ? -.infinity : .infinity)
            case .number(let number) where number.isInteger:
                try require(.int64)
                switch scanner.integerValue(number) {
                case .integral(let negative, let magnitude):
                    if !negative, let value = Int64(exactly: magnitude) {
                        feature.int64List.value.append(value)
                    } else if negative, magnitude <= UInt64(Int64.max) + 1 {
                        feature.int64List.value.append(magnitude == UInt64(Int64.max) + 1 ? .min : -Int64(magnitude))
                    } else {
                        throw .invalidArgument("Feature: \(name) has uint64 element. Only int64 is supported.")
                    }
                case .fractional, .tooLarge:
                    throw .invalidArgument("Feature: \(name) has an integer outside the int64 range")
                }
            case .number(let number):
                try require(.float)
                let value = scanner.floatValue(number)
                guard value.isFinite else {
                    throw .invalidArgument("Feature: \(name) has the number \(scanner.text(number.start..<number.end)), which a float cannot hold")
                }
                feature.floatList.value.append(value)
            }
        }
    }

    /// The JSON type of the value at the scanner, for messages.
    private static func jsonType(_ scanner: inout JSONScanner) -> String {
        switch scanner.peek() {
        case UInt8(ascii: "[")?: "array"
        case UInt8(ascii: "\"")?: "string"
        case UInt8(ascii: "t")?, UInt8(ascii: "f")?: "bool"
        case UInt8(ascii: "n")?: "null"
        case nil: "nothing"
        default: "number"
        }
    }

    /// `{"results": [[[label, score], ...], ...]}` or `{"results": [value, ...]}`.
    static func encode(_ outcome: ExampleInference.Outcome) -> ByteBuffer {
        var writer = JSONWriter(capacity: 256)
        writer.beginObject()
        writer.key("results")
        writer.beginArray()
        switch outcome {
        case .classifications(let rows):
            for classes in rows {
                writer.beginArray()
                for entry in classes {
                    writer.beginArray()
                    writer.string(utf8: entry.label)
                    writer.float(entry.score)
                    writer.endArray()
                }
                writer.endArray()
            }
        case .regressions(let values):
            for value in values { writer.float(value) }
        }
        writer.endArray()
        writer.endObject()
        return writer.buffer
    }
}
