import Foundation
import Tensors

/// Locates and reads the committed fixture models and their recorded TensorFlow results.
enum Fixtures {
    static var repositoryRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }

    static var modelsDirectory: String { repositoryRoot + "/Tests/Fixtures/models" }

    struct Case {
        var signature: String
        var inputs: [String: Tensor]
        var outputs: [String: Tensor]
    }

    struct FixtureError: Error, CustomStringConvertible {
        var description: String
    }

    static var coverageDirectory: String { repositoryRoot + "/Tests/Fixtures/coverage" }

    static func cases(_ name: String, in directory: String = modelsDirectory) throws -> [Case] {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/\(name).json"))
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let cases = root["cases"] as? [[String: Any]]
        else { throw FixtureError(description: "\(name).json has no cases") }
        return try cases.map { item in
            guard let signature = item["signature"] as? String,
                  let inputs = item["inputs"] as? [String: Any],
                  let outputs = item["outputs"] as? [String: Any]
            else { throw FixtureError(description: "\(name).json: malformed case") }
            return Case(signature: signature, inputs: try tensors(inputs), outputs: try tensors(outputs))
        }
    }

    private static func tensors(_ object: [String: Any]) throws -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for (key, value) in object {
            guard let spec = value as? [String: Any], let dtype = spec["dtype"] as? String,
                  let dims = spec["shape"] as? [Int], let values = spec["values"] as? [Any]
            else { throw FixtureError(description: "malformed tensor \(key)") }
            let shape = Shape(dims)
            guard values.count == shape.elementCount else {
                throw FixtureError(description: "tensor \(key) has \(values.count) values for shape \(shape)")
            }
            let numbers = values.compactMap(number)
            switch dtype {
            case "float32": result[key] = Tensor(numbers.map { Float($0) }, shape: shape)
            case "float64": result[key] = Tensor(numbers, shape: shape)
            case "int32": result[key] = Tensor(numbers.map { Int32($0) }, shape: shape)
            case "int64": result[key] = Tensor(values.compactMap { ($0 as? NSNumber)?.int64Value }, shape: shape)
            case "int8": result[key] = Tensor(numbers.map { Int8($0) }, shape: shape)
            case "uint8": result[key] = Tensor(numbers.map { UInt8($0) }, shape: shape)
            case "bool": result[key] = Tensor(values.compactMap { ($0 as? NSNumber)?.boolValue }, shape: shape)
            case "string":
                let strings = values.compactMap { $0 as? String }
                let bytes: [[UInt8]]
                if spec["encoding"] as? String == "base64" {
                    bytes = try strings.map { text in
                        guard let data = Data(base64Encoded: text) else {
                            throw FixtureError(description: "tensor \(key) has invalid base64")
                        }
                        return Array(data)
                    }
                } else {
                    bytes = strings.map { Array($0.utf8) }
                }
                result[key] = Tensor(strings: bytes, shape: shape)
            default: throw FixtureError(description: "unsupported fixture dtype \(dtype)")
            }
            guard result[key]?.elementCount == shape.elementCount else {
                throw FixtureError(description: "tensor \(key) has values that are not \(dtype)")
            }
        }
        return result
    }

    /// A JSON number, or one of the names the fixture scripts write for non-finite floats.
    private static func number(_ value: Any) -> Double? {
        switch value as? String {
        case "NaN": .nan
        case "Infinity": .infinity
        case "-Infinity": -.infinity
        default: (value as? NSNumber)?.doubleValue
        }
    }

    /// Max absolute and relative differences, and whether every element is within 1e-5 relative or
    /// 1e-6 absolute (floats) or equal (integers, bools, strings).
    static func compare(_ actual: Tensor, _ expected: Tensor) -> (Double, Double, Bool) {
        guard actual.dtype == expected.dtype else { return (.infinity, .infinity, false) }
        switch expected.dtype {
        case .string:
            return actual.strings == expected.strings ? (0, 0, true) : (.infinity, .infinity, false)
        case .bool:
            let same = actual.scalars(as: Bool.self) == expected.scalars(as: Bool.self)
            return same ? (0, 0, true) : (.infinity, .infinity, false)
        case .int64:
            let same = actual.scalars(as: Int64.self) == expected.scalars(as: Int64.self)
            return same ? (0, 0, true) : (.infinity, .infinity, false)
        case .int32:
            let same = actual.scalars(as: Int32.self) == expected.scalars(as: Int32.self)
            return same ? (0, 0, true) : (.infinity, .infinity, false)
        default:
            break
        }
        let a = doubles(actual), e = doubles(expected)
        guard a.count == e.count else { return (.infinity, .infinity, false) }
        var worstAbsolute = 0.0, worstRelative = 0.0, ok = true
        for (x, y) in zip(a, e) {
            let absolute = abs(x - y)
            let relative = y == 0 ? 0 : absolute / abs(y)
            worstAbsolute = max(worstAbsolute, absolute)
            worstRelative = max(worstRelative, relative)
            if x.isNaN || y.isNaN {
                if x.isNaN != y.isNaN { ok = false }
                continue
            }
            if x == y { continue }
            if absolute > 1e-6 && relative > 1e-5 { ok = false }
        }
        return (worstAbsolute, worstRelative, ok)
    }

    static func doubles(_ tensor: Tensor) -> [Double] {
        switch tensor.dtype {
        case .float32: tensor.scalars(as: Float.self).map { Double($0) }
        case .float64: tensor.scalars(as: Double.self)
        case .int32: tensor.scalars(as: Int32.self).map { Double($0) }
        case .int64: tensor.scalars(as: Int64.self).map { Double($0) }
        default: []
        }
    }
}
