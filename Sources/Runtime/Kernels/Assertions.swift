import Tensors

/// Assert: fails the request with the data tensors in the message when the condition is false.
struct AssertKernel: Kernel {
    /// Elements of each data tensor shown in the message.
    let summarize: Int

    var hasEffects: Bool { true }

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        guard let condition = inputs.first, condition.dtype == .bool, condition.elementCount == 1 else {
            throw .invalidArgument("Assert expects a scalar bool condition, got \(inputs.first.map { "\($0.dtype)\($0.shape)" } ?? "nothing")")
        }
        guard !condition.elements(Bool.self)[0] else { return [] }
        let shown = inputs.dropFirst().map { describe($0) }
        throw .invalidArgument("assertion failed: " + shown.joined(separator: " "))
    }

    private func describe(_ tensor: Tensor) -> String {
        if let strings = tensor.strings {
            let text = strings.prefix(summarize).map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
            return strings.count == 1 ? text : "[\(text)\(strings.count > summarize ? "..." : "")]"
        }
        let count = min(tensor.elementCount, summarize)
        let values: [String]
        switch tensor.dtype {
        case .float32: values = tensor.elements(Float.self).prefix(count).map { "\($0)" }
        case .float64: values = tensor.elements(Double.self).prefix(count).map { "\($0)" }
        case .int32: values = tensor.elements(Int32.self).prefix(count).map { "\($0)" }
        case .int64: values = tensor.elements(Int64.self).prefix(count).map { "\($0)" }
        case .bool: values = tensor.elements(Bool.self).prefix(count).map { "\($0)" }
        default: return "<\(tensor.dtype)\(tensor.shape)>"
        }
        return "[" + values.joined(separator: " ") + (tensor.elementCount > count ? "..." : "") + "]"
    }
}

/// CheckNumerics (V1 and V2): passes a float tensor through, failing the request if it holds NaN or
/// an infinity (V1 checks both; V2 reports which).
struct CheckNumericsKernel: Kernel {
    let message: String

    var hasEffects: Bool { true }

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 1, "CheckNumerics")
        let x = inputs[0]
        let problem: String?
        switch x.dtype {
        case .float32: problem = Self.problem(x.elements(Float.self))
        case .float64: problem = Self.problem(x.elements(Double.self))
        case .float16, .bfloat16: problem = nil
        default: throw .invalidArgument("CheckNumerics expects a floating-point tensor, got \(x.dtype)")
        }
        if let problem { throw .invalidArgument("\(message) : Tensor had \(problem) values") }
        return [x]
    }

    private static func problem<T: BinaryFloatingPoint>(_ values: UnsafeBufferPointer<T>) -> String? {
        var nan = false, infinite = false
        for value in values where !value.isFinite {
            if value.isNaN { nan = true } else { infinite = true }
        }
        switch (nan, infinite) {
        case (true, true): return "Inf and NaN"
        case (true, false): return "NaN"
        case (false, true): return "Inf"
        case (false, false): return nil
        }
    }
}
