import Tensors

/// Source element offsets of every output element when `shape` is broadcast to `output`;
/// nil when no mapping is needed (same shape).
func broadcastOffsets(_ shape: Shape, to output: Shape) -> [Int]? {
    if shape == output { return nil }
    let strides = broadcastStrides(shape, to: output)
    let total = output.elementCount
    var offsets = [Int](repeating: 0, count: total)
    guard total > 0, output.rank > 0 else { return offsets }
    var index = [Int](repeating: 0, count: output.rank)
    var offset = 0
    for position in 0..<total {
        offsets[position] = offset
        var axis = output.rank - 1
        while axis >= 0 {
            index[axis] += 1
            offset += strides[axis]
            if index[axis] < output.dims[axis] { break }
            offset -= strides[axis] * index[axis]
            index[axis] = 0
            axis -= 1
        }
    }
    return offsets
}

/// Applies `f` to broadcast pairs of elements, producing `R` elements. The operands are read where they
/// are (tensor storage or string arrays), not copied.
func broadcastMap<C: RandomAccessCollection, R: TensorScalar>(
    _ a: Tensor, _ b: Tensor, read x: C, _ y: C, _ f: (C.Element, C.Element) -> R
) throws(ServingError) -> Tensor where C.Index == Int {
    let shape = a.shape == b.shape ? a.shape : try broadcastShape(a.shape, b.shape)
    let (result, _) = try Tensor.allocateUninitialized(R.dtype, shape)
    let out = result.mutableElements(R.self)
    guard x.count == a.elementCount, y.count == b.elementCount else {
        throw .invalidArgument("operand data does not match its shape")
    }
    let aOffsets = broadcastOffsets(a.shape, to: shape), bOffsets = broadcastOffsets(b.shape, to: shape)
    for i in 0..<out.count {
        out[i] = f(x[x.startIndex + (aOffsets?[i] ?? i)], y[y.startIndex + (bOffsets?[i] ?? i)])
    }
    return result
}

/// An ordering test between two scalars.
protocol ComparisonFunction: Sendable {
    static func holds<T: Comparable>(_ a: T, _ b: T) -> Bool
}

enum LessComparison: ComparisonFunction {
    @inline(__always) static func holds<T: Comparable>(_ a: T, _ b: T) -> Bool { a < b }
}
enum LessEqualComparison: ComparisonFunction {
    @inline(__always) static func holds<T: Comparable>(_ a: T, _ b: T) -> Bool { a <= b }
}
enum GreaterComparison: ComparisonFunction {
    @inline(__always) static func holds<T: Comparable>(_ a: T, _ b: T) -> Bool { a > b }
}
enum GreaterEqualComparison: ComparisonFunction {
    @inline(__always) static func holds<T: Comparable>(_ a: T, _ b: T) -> Bool { a >= b }
}

/// Less, LessEqual, Greater, GreaterEqual with broadcasting; the result is bool.
struct OrderingKernel<Function: ComparisonFunction>: Kernel {
    let op: String

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 2, op)
        let a = inputs[0], b = inputs[1]
        guard a.dtype == b.dtype else { throw .invalidArgument("\(op) operands differ in type: \(a.dtype) and \(b.dtype)") }
        switch a.dtype {
        case .float32: return [try compare(a, b, Float.self)]
        case .float64: return [try compare(a, b, Double.self)]
        case .int32: return [try compare(a, b, Int32.self)]
        case .int64: return [try compare(a, b, Int64.self)]
        case .int8: return [try compare(a, b, Int8.self)]
        case .int16: return [try compare(a, b, Int16.self)]
        case .uint8: return [try compare(a, b, UInt8.self)]
        case .uint16: return [try compare(a, b, UInt16.self)]
        default: throw .unimplemented("\(op) does not support \(a.dtype)")
        }
    }

    private func compare<T: TensorScalar & Comparable>(_ a: Tensor, _ b: Tensor, _: T.Type) throws(ServingError) -> Tensor {
        try broadcastMap(a, b, read: a.elements(T.self), b.elements(T.self)) { Function.holds($0, $1) }
    }
}

/// Equal / NotEqual with broadcasting over numbers, bools and strings.
struct EqualityKernel: Kernel {
    let op: String
    let negated: Bool

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 2, op)
        let a = inputs[0], b = inputs[1]
        guard a.dtype == b.dtype else { throw .invalidArgument("\(op) operands differ in type: \(a.dtype) and \(b.dtype)") }
        switch a.dtype {
        case .float32: return [try compare(a, b, Float.self)]
        case .float64: return [try compare(a, b, Double.self)]
        case .int32: return [try compare(a, b, Int32.self)]
        case .int64: return [try compare(a, b, Int64.self)]
        case .int8: return [try compare(a, b, Int8.self)]
        case .int16: return [try compare(a, b, Int16.self)]
        case .uint8: return [try compare(a, b, UInt8.self)]
        case .uint16: return [try compare(a, b, UInt16.self)]
        case .bool: return [try compare(a, b, Bool.self)]
        case .string:
            guard let x = a.strings, let y = b.strings else { throw .invalidArgument("\(op): malformed string operand") }
            let negated = negated
            return [try broadcastMap(a, b, read: x, y) { ($0 == $1) != negated }]
        default: throw .unimplemented("\(op) does not support \(a.dtype)")
        }
    }

    private func compare<T: TensorScalar & Equatable>(_ a: Tensor, _ b: Tensor, _: T.Type) throws(ServingError) -> Tensor {
        let negated = negated
        return try broadcastMap(a, b, read: a.elements(T.self), b.elements(T.self)) { ($0 == $1) != negated }
    }
}
