import Tensors

/// The integer operations of `tf.bitwise`.
enum BitwiseOperation: Sendable {
    case and, or, xor, leftShift, rightShift

    /// Shift counts are clamped to [0, bit width - 1] as TensorFlow does; right shifts of signed
    /// values are arithmetic.
    @inline(__always) func apply<T: FixedWidthInteger>(_ a: T, _ b: T) -> T {
        switch self {
        case .and: return a & b
        case .or: return a | b
        case .xor: return a ^ b
        case .leftShift: return a << Self.clamped(b)
        case .rightShift: return a >> Self.clamped(b)
        }
    }

    @inline(__always) private static func clamped<T: FixedWidthInteger>(_ count: T) -> T {
        count < 0 ? 0 : (count > T.bitWidth - 1 ? T(T.bitWidth - 1) : count)
    }
}

/// BitwiseAnd, BitwiseOr, BitwiseXor, LeftShift and RightShift on integer tensors, with broadcasting.
struct BitwiseKernel: Kernel {
    let op: String
    let location: String
    let operation: BitwiseOperation

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 2, "\(location): \(op)")
        let a = inputs[0], b = inputs[1]
        guard a.dtype == b.dtype else {
            throw .invalidArgument("\(location): \(op) operands differ in type: \(a.dtype) and \(b.dtype)")
        }
        switch a.dtype {
        case .int8: return [try compute(a, b, Int8.self)]
        case .int16: return [try compute(a, b, Int16.self)]
        case .int32: return [try compute(a, b, Int32.self)]
        case .int64: return [try compute(a, b, Int64.self)]
        case .uint8: return [try compute(a, b, UInt8.self)]
        case .uint16: return [try compute(a, b, UInt16.self)]
        case .uint32: return [try compute(a, b, UInt32.self)]
        case .uint64: return [try compute(a, b, UInt64.self)]
        default: throw .invalidArgument("\(location): \(op) needs integer operands, got \(a.dtype)")
        }
    }

    private func compute<T: TensorScalar & FixedWidthInteger>(_ a: Tensor, _ b: Tensor, _: T.Type) throws(ServingError) -> Tensor {
        let shape: Shape
        do { shape = a.shape == b.shape ? a.shape : try broadcastShape(a.shape, b.shape) } catch {
            throw .invalidArgument("\(location): \(op): \(error.message)")
        }
        let (result, _) = try Tensor.allocateUninitialized(a.dtype, shape)
        let out = result.mutableElements(T.self)
        let x = a.elements(T.self), y = b.elements(T.self)
        let operation = operation
        if x.count == out.count && y.count == out.count {
            for i in 0..<out.count { out[i] = operation.apply(x[i], y[i]) }
            return result
        }
        let aStrides = broadcastStrides(a.shape, to: shape), bStrides = broadcastStrides(b.shape, to: shape)
        let innerA = shape.rank > 0 ? aStrides[shape.rank - 1] : 0
        let innerB = shape.rank > 0 ? bStrides[shape.rank - 1] : 0
        forEachBroadcastRun(output: shape, aStrides: aStrides, bStrides: bStrides) { o, ao, bo, n in
            for j in 0..<n { out[o + j] = operation.apply(x[ao + j * innerA], y[bo + j * innerB]) }
        }
        return result
    }
}

/// Invert: the bitwise complement of an integer tensor.
struct InvertKernel: Kernel {
    let location: String

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 1, "\(location): Invert")
        let x = inputs[0]
        switch x.dtype {
        case .int8: return [try invert(x, Int8.self)]
        case .int16: return [try invert(x, Int16.self)]
        case .int32: return [try invert(x, Int32.self)]
        case .int64: return [try invert(x, Int64.self)]
        case .uint8: return [try invert(x, UInt8.self)]
        case .uint16: return [try invert(x, UInt16.self)]
        case .uint32: return [try invert(x, UInt32.self)]
        case .uint64: return [try invert(x, UInt64.self)]
        default: throw .invalidArgument("\(location): Invert needs an integer operand, got \(x.dtype)")
        }
    }

    private func invert<T: TensorScalar & FixedWidthInteger>(_ x: Tensor, _: T.Type) throws(ServingError) -> Tensor {
        let (result, _) = try Tensor.allocateUninitialized(x.dtype, x.shape)
        let out = result.mutableElements(T.self), values = x.elements(T.self)
        for i in 0..<out.count { out[i] = ~values[i] }
        return result
    }
}

/// Bitcast: the same bytes read as another numeric type. Equal widths keep the shape; a wider input
/// gains a trailing axis of `input width / output width`, and a narrower one loses a trailing axis
/// that must hold `output width / input width` elements.
struct BitcastKernel: Kernel {
    let location: String
    let destination: DType

    init(attrs: AttrReader) throws(ServingError) {
        location = attrs.location
        destination = try attrs.dtype("type")
        guard Self.castable(destination) else {
            throw .unimplemented("\(attrs.location): Bitcast to \(destination) is not supported; expected a numeric type")
        }
    }

    private static func castable(_ dtype: DType) -> Bool {
        dtype.isFixedSize && dtype != .bool && dtype.byteSize > 0
    }

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 1, "\(location): Bitcast")
        let x = inputs[0]
        guard Self.castable(x.dtype), let buffer = x.buffer else {
            throw .invalidArgument("\(location): Bitcast needs a numeric input, got \(x.dtype)")
        }
        let from = x.dtype.byteSize, to = destination.byteSize
        var dims = x.shape.dims
        if from > to {
            dims.append(from / to)
        } else if from < to {
            guard let last = dims.last, last * from == to else {
                throw .invalidArgument("\(location): Bitcast of \(x.dtype)\(x.shape) to \(destination) needs a last dimension of \(to / from)")
            }
            dims.removeLast()
        }
        return [Tensor(dtype: destination, shape: Shape(dims), storage: .buffer(buffer))]
    }
}
