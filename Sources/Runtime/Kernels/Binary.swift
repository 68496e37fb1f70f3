import Tensors

/// A scalar binary function applied elementwise.
protocol BinaryFunction: Sendable {
    static func apply<T: ArithmeticScalar>(_ a: T, _ b: T) -> T
}

enum AddFunction: BinaryFunction {
    @inline(__always) static func apply<T: ArithmeticScalar>(_ a: T, _ b: T) -> T { T.add(a, b) }
}
/// `max(a + b, 0)`, NaN passing through: an addition fused with the Relu that reads it.
enum AddReluFunction: BinaryFunction {
    @inline(__always) static func apply<T: ArithmeticScalar>(_ a: T, _ b: T) -> T {
        let sum = T.add(a, b)
        return sum < T.zero ? T.zero : sum
    }
}
enum SubtractFunction: BinaryFunction {
    @inline(__always) static func apply<T: ArithmeticScalar>(_ a: T, _ b: T) -> T { T.subtract(a, b) }
}
enum MultiplyFunction: BinaryFunction {
    @inline(__always) static func apply<T: ArithmeticScalar>(_ a: T, _ b: T) -> T { T.multiply(a, b) }
}
enum DivideFunction: BinaryFunction {
    @inline(__always) static func apply<T: ArithmeticScalar>(_ a: T, _ b: T) -> T { T.divide(a, b) }
}
enum MaximumFunction: BinaryFunction {
    @inline(__always) static func apply<T: ArithmeticScalar>(_ a: T, _ b: T) -> T { a < b ? b : a }
}
enum MinimumFunction: BinaryFunction {
    @inline(__always) static func apply<T: ArithmeticScalar>(_ a: T, _ b: T) -> T { b < a ? b : a }
}
enum SquaredDifferenceFunction: BinaryFunction {
    @inline(__always) static func apply<T: ArithmeticScalar>(_ a: T, _ b: T) -> T {
        let d = T.subtract(a, b)
        return T.multiply(d, d)
    }
}

/// Elementwise binary arithmetic with broadcasting (AddV2, Sub, Mul, RealDiv, Maximum, ...).
///
/// The float32 and float64 loops are built in `init`, where `Function` is concrete, so they are
/// compiled for that function; calling through the `Kernel` witness alone would leave them generic.
struct BinaryKernel<Function: BinaryFunction>: Kernel {
    typealias Loop = @Sendable (Tensor, Tensor) throws(ServingError) -> Tensor

    let op: String
    private let float32Loop: Loop
    private let float64Loop: Loop

    init(op: String) {
        self.op = op
        float32Loop = { a, b throws(ServingError) in try Self.compute(a, b, Float.self) }
        float64Loop = { a, b throws(ServingError) in try Self.compute(a, b, Double.self) }
    }

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 2, op)
        let a = inputs[0], b = inputs[1]
        guard a.dtype == b.dtype else {
            throw .invalidArgument("\(op) operands differ in type: \(a.dtype) and \(b.dtype)")
        }
        switch a.dtype {
        case .float32: return [try float32Loop(a, b)]
        case .float64: return [try float64Loop(a, b)]
        case .int32: return [try Self.compute(a, b, Int32.self)]
        case .int64: return [try Self.compute(a, b, Int64.self)]
        case .uint8: return [try Self.compute(a, b, UInt8.self)]
        case .int8: return [try Self.compute(a, b, Int8.self)]
        case .int16: return [try Self.compute(a, b, Int16.self)]
        case .complex64:
            guard let function = Function.self as? any ComplexBinaryFunction.Type else { fallthrough }
            return [try complexBinary(a, b, function, op: op)]
        default: throw .unimplemented("\(op) does not support \(a.dtype)")
        }
    }

    @inline(__always)
    private static func compute<T: ArithmeticScalar>(_ a: Tensor, _ b: Tensor, _: T.Type) throws(ServingError) -> Tensor {
        let shape = a.shape == b.shape ? a.shape : try broadcastShape(a.shape, b.shape)
        let (result, _) = try Tensor.allocateUninitialized(a.dtype, shape)
        let out = result.mutableElements(T.self)
        let x = a.elements(T.self), y = b.elements(T.self)
        let count = out.count
        if count == 0 { return result }
        if x.count == count && y.count == count {
            for i in 0..<count { out[i] = Function.apply(x[i], y[i]) }
        } else if y.count == 1 && x.count == count {
            let s = y[0]
            for i in 0..<count { out[i] = Function.apply(x[i], s) }
        } else if x.count == 1 && y.count == count {
            let s = x[0]
            for i in 0..<count { out[i] = Function.apply(s, y[i]) }
        } else if x.count == count && isTrailing(b.shape, of: shape) && y.count > 0 {
            let inner = y.count
            var base = 0
            while base < count {
                for j in 0..<inner { out[base + j] = Function.apply(x[base + j], y[j]) }
                base += inner
            }
        } else if y.count == count && isTrailing(a.shape, of: shape) && x.count > 0 {
            let inner = x.count
            var base = 0
            while base < count {
                for j in 0..<inner { out[base + j] = Function.apply(x[j], y[base + j]) }
                base += inner
            }
        } else {
            let aStrides = broadcastStrides(a.shape, to: shape)
            let bStrides = broadcastStrides(b.shape, to: shape)
            let innerA = shape.rank > 0 ? aStrides[shape.rank - 1] : 0
            let innerB = shape.rank > 0 ? bStrides[shape.rank - 1] : 0
            forEachBroadcastRun(output: shape, aStrides: aStrides, bStrides: bStrides) { o, ao, bo, n in
                for j in 0..<n { out[o + j] = Function.apply(x[ao + j * innerA], y[bo + j * innerB]) }
            }
        }
        return result
    }

    /// Whether `part` (ignoring leading 1s) equals the trailing dimensions of `whole`.
    private static func isTrailing(_ part: Shape, of whole: Shape) -> Bool {
        var dims = part.dims[...]
        while let first = dims.first, first == 1, dims.count > 0 { dims = dims.dropFirst() }
        guard dims.count <= whole.rank else { return false }
        return Array(whole.dims.suffix(dims.count)) == Array(dims)
    }
}
