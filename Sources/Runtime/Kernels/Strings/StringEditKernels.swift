import Foundation
import Tensors

/// StringStrip: leading and trailing ASCII whitespace removed.
struct StringStripKernel: Kernel {
    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 1, "StringStrip")
        let strings = try stringElements(inputs[0], "StringStrip")
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || ($0 >= 0x09 && $0 <= 0x0D) }
        let stripped = strings.map { bytes -> [UInt8] in
            guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else { return [] }
            return Array(bytes[first...last])
        }
        return [Tensor(strings: stripped, shape: inputs[0].shape)]
    }
}

/// Substr: `len` bytes (or UTF-8 characters) from `pos` (negative counts from the end); `pos` and `len`
/// are scalars or shaped like the input.
struct SubstrKernel: Kernel {
    let characters: Bool

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 3, "Substr")
        let strings = try stringElements(inputs[0], "Substr")
        let positions = try inputs[1].integerValues(), lengths = try inputs[2].integerValues()
        guard positions.count == 1 || positions.count == strings.count, lengths.count == positions.count else {
            throw .invalidArgument("Substr pos \(inputs[1].shape) and len \(inputs[2].shape) must be scalars or shaped like the input \(inputs[0].shape)")
        }
        var result: [[UInt8]] = []
        result.reserveCapacity(strings.count)
        for (i, bytes) in strings.enumerated() {
            let units = characters ? Self.characterStarts(bytes) : Array(0..<bytes.count)
            let count = units.count
            var position = positions.count == 1 ? positions[0] : positions[i]
            let length = lengths.count == 1 ? lengths[0] : lengths[i]
            if position < 0 { position += count }
            guard position >= 0, position <= count else {
                throw .invalidArgument("Substr pos \(position) is out of range for a string of \(count) \(characters ? "characters" : "bytes")")
            }
            guard length >= 0 else { throw .invalidArgument("Substr len must not be negative, got \(length)") }
            let end = min(count, position + length)
            let startByte = position < count ? units[position] : bytes.count
            let endByte = end < count ? units[end] : bytes.count
            result.append(Array(bytes[startByte..<endByte]))
        }
        return [Tensor(strings: result, shape: inputs[0].shape)]
    }

    private static func characterStarts(_ bytes: [UInt8]) -> [Int] {
        bytes.indices.filter { (bytes[$0] & 0xC0) != 0x80 }
    }
}

/// StringToNumber: decimal text to float32, float64, int32 or int64; text that is not a number of that
/// type is an error naming it, as in TensorFlow.
struct StringToNumberKernel: Kernel {
    let outType: DType

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 1, "StringToNumber")
        let strings = try stringElements(inputs[0], "StringToNumber")
        let texts = strings.map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespaces) }
        func invalid(_ text: String) -> ServingError {
            .invalidArgument("StringToNumberOp could not correctly convert string: \(text)")
        }
        switch outType {
        case .float32, .float64:
            var values: [Double] = []
            for text in texts {
                guard let value = Self.parseFloat(text) else { throw invalid(text) }
                values.append(value)
            }
            return [outType == .float32 ? Tensor(values.map { Float($0) }, shape: inputs[0].shape) : Tensor(values, shape: inputs[0].shape)]
        case .int32:
            var values: [Int32] = []
            for text in texts {
                guard let value = Int32(text) else { throw invalid(text) }
                values.append(value)
            }
            return [Tensor(values, shape: inputs[0].shape)]
        case .int64:
            var values: [Int64] = []
            for text in texts {
                guard let value = Int64(text) else { throw invalid(text) }
                values.append(value)
            }
            return [Tensor(values, shape: inputs[0].shape)]
        default:
            throw .unimplemented("StringToNumber out_type \(outType) is not supported")
        }
    }

    private static func parseFloat(_ text: String) -> Double? {
        switch text.lowercased() {
        case "inf", "+inf", "infinity", "+infinity": return .infinity
        case "-inf", "-infinity": return -.infinity
        case "nan", "+nan", "-nan": return .nan
        default: return text.isEmpty ? nil : Double(text)
        }
    }
}

/// UnsortedSegmentJoin: the strings of each segment joined with `separator`, in input order.
struct UnsortedSegmentJoinKernel: Kernel {
    let separator: [UInt8]

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 3, "UnsortedSegmentJoin")
        let strings = try stringElements(inputs[0], "UnsortedSegmentJoin")
        let ids = try inputs[1].integerValues()
        guard inputs[1].shape.rank >= 1, inputs[0].shape.dims.starts(with: inputs[1].shape.dims) else {
            throw .invalidArgument("UnsortedSegmentJoin segment_ids \(inputs[1].shape) must be a prefix of the input shape \(inputs[0].shape)")
        }
        guard inputs[2].elementCount == 1, let segments = try inputs[2].integerValues().first, segments >= 0,
              segments <= RequestMemory.maxTensorElements else {
            throw .invalidArgument("UnsortedSegmentJoin num_segments must be a non-negative scalar")
        }
        let inner = inputs[0].shape.dims[inputs[1].shape.rank...].reduce(1, *)
        var joined = [[UInt8]?](repeating: nil, count: segments * inner)
        for (row, id) in ids.enumerated() where id >= 0 && id < segments {
            for j in 0..<inner {
                let slot = id * inner + j
                if joined[slot] != nil { joined[slot]?.append(contentsOf: separator) } else { joined[slot] = [] }
                joined[slot]?.append(contentsOf: strings[row * inner + j])
            }
        }
        let shape = Shape([segments] + inputs[0].shape.dims[inputs[1].shape.rank...])
        return [Tensor(strings: joined.map { $0 ?? [] }, shape: shape)]
    }
}

/// StringFormat: `template` with each `placeholder` replaced by one input, printed as TensorFlow
/// summarizes tensors (scalars bare, arrays in brackets, at most `summarize` entries at each end of an axis).
struct StringFormatKernel: Kernel {
    let template: String
    let placeholder: String
    let summarize: Int

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        let pieces = template.components(separatedBy: placeholder)
        guard pieces.count - 1 == inputs.count else {
            throw .invalidArgument("StringFormat template has \(pieces.count - 1) placeholders for \(inputs.count) inputs")
        }
        var text = pieces[0]
        for (input, piece) in zip(inputs, pieces.dropFirst()) {
            text += try summary(input) + piece
        }
        return [Tensor(strings: [Array(text.utf8)], shape: .scalar)]
    }

    private func summary(_ tensor: Tensor) throws(ServingError) -> String {
        let values = try elementTexts(tensor)
        guard tensor.shape.rank > 0 else { return values.first ?? "" }
        return nested(values, dims: tensor.shape.dims, offset: 0, depth: 0)
    }

    private func nested(_ values: [String], dims: [Int], offset: Int, depth: Int) -> String {
        let size = dims[depth]
        let stride = dims[(depth + 1)...].reduce(1, *)
        let shown: [Int?] = summarize >= 0 && size > 2 * summarize
            ? Array(0..<summarize) + [nil] + Array((size - summarize)..<size) : Array(0..<size)
        let parts = shown.map { index -> String in
            guard let index else { return "..." }
            if depth == dims.count - 1 { return values[offset + index] }
            return nested(values, dims: dims, offset: offset + index * stride, depth: depth + 1)
        }
        let separator = depth == dims.count - 1 ? " " : "\n" + String(repeating: " ", count: depth + 1)
        return "[" + parts.joined(separator: separator) + "]"
    }

    private func elementTexts(_ tensor: Tensor) throws(ServingError) -> [String] {
        switch tensor.dtype {
        case .float32: tensor.elements(Float.self).map { Self.shortest($0) }
        case .float64: tensor.elements(Double.self).map { Self.shortest($0) }
        case .int32: tensor.elements(Int32.self).map { String($0) }
        case .int64: tensor.elements(Int64.self).map { String($0) }
        case .bool: tensor.elements(Bool.self).map { $0 ? "1" : "0" }
        case .string: (tensor.strings ?? []).map { "\"" + String(decoding: $0, as: UTF8.self) + "\"" }
        default: throw .unimplemented("StringFormat does not support \(tensor.dtype) inputs")
        }
    }

    /// `%g` with 6 significant digits, or 9 (17 for double) when 6 do not read back as the same value.
    private static func shortest<T: BinaryFloatingPoint & CVarArg & LosslessStringConvertible>(_ value: T) -> String {
        let short = String(format: "%.6g", Double(value))
        if let back = T(short), back == value { return short }
        return String(format: "%.\(T.self == Float.self ? 9 : 17)g", Double(value))
    }
}
