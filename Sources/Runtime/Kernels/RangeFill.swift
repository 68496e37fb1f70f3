import Tensors

/// Range: `start, start + delta, ...` up to (excluding) `limit`, accumulated in the operand type like TensorFlow.
struct RangeSequenceKernel: Kernel {
    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 3, "Range")
        let dtype = inputs[0].dtype
        for input in inputs {
            guard input.dtype == dtype, input.elementCount == 1 else {
                throw .invalidArgument("Range operands must be scalars of one type, got \(inputs.map { "\($0.dtype)\($0.shape)" })")
            }
        }
        switch dtype {
        case .int32: return [try integers(inputs, Int32.self)]
        case .int64: return [try integers(inputs, Int64.self)]
        case .float32: return [try floats(inputs, Float.self)]
        case .float64: return [try floats(inputs, Double.self)]
        default: throw .unimplemented("Range does not support \(dtype)")
        }
    }

    private func integers<T: TensorScalar & FixedWidthInteger>(_ inputs: [Tensor], _: T.Type) throws(ServingError) -> Tensor {
        let start = Int(inputs[0].elements(T.self)[0]), limit = Int(inputs[1].elements(T.self)[0])
        let delta = Int(inputs[2].elements(T.self)[0])
        guard delta != 0 else { throw .invalidArgument("Range delta must not be zero") }
        guard delta > 0 ? start <= limit : start >= limit else {
            throw .invalidArgument("Range start \(start) and limit \(limit) disagree with delta \(delta)")
        }
        let (span, overflow) = limit.subtractingReportingOverflow(start)
        guard !overflow, delta != Int.min, span != Int.min else { throw .invalidArgument("Range operands are too large") }
        let size = span.magnitude / delta.magnitude + (span.magnitude % delta.magnitude == 0 ? 0 : 1)
        guard size <= UInt(RequestMemory.maxTensorElements) else {
            throw RequestMemory.tooManyElements(Int(clamping: size), what: "Range's output")
        }
        let count = Int(size)
        let (result, _) = try Tensor.allocate(T.dtype, Shape([count]))
        let out = result.mutableElements(T.self)
        var value = start
        for i in 0..<count {
            out[i] = T(truncatingIfNeeded: value)
            value &+= delta
        }
        return result
    }

    private func floats<T: TensorScalar & BinaryFloatingPoint>(_ inputs: [Tensor], _: T.Type) throws(ServingError) -> Tensor {
        let start = inputs[0].elements(T.self)[0], limit = inputs[1].elements(T.self)[0]
        let delta = inputs[2].elements(T.self)[0]
        guard delta != 0, start.isFinite, limit.isFinite, delta.isFinite else {
            throw .invalidArgument("Range needs finite operands and a non-zero delta")
        }
        guard delta > 0 ? start <= limit : start >= limit else {
            throw .invalidArgument("Range start \(start) and limit \(limit) disagree with delta \(delta)")
        }
        let steps = ((limit - start) / delta).magnitude.rounded(.up)
        guard steps.isFinite, steps <= T(RequestMemory.maxTensorElements) else {
            throw RequestMemory.tooManyElements(Int(exactly: steps) ?? .max, what: "Range's output")
        }
        let size = Int(steps)
        let (result, _) = try Tensor.allocate(T.dtype, Shape([size]))
        let out = result.mutableElements(T.self)
        var value = start
        for i in 0..<size {
            out[i] = value
            value += delta
        }
        return result
    }
}

/// Fill: a tensor of the given shape holding one value everywhere.
struct FillValueKernel: Kernel {
    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 2, "Fill")
        let dims = try inputs[0].integerValues()
        guard inputs[0].shape.rank == 1 else { throw .invalidArgument("Fill dims must be a vector, got \(inputs[0].shape)") }
        let value = inputs[1]
        guard value.elementCount == 1, value.shape.rank == 0 else { throw .invalidArgument("Fill value must be a scalar, got \(value.shape)") }
        let shape = Shape(dims)
        let count = try shape.checkedElementCount()
        guard count <= RequestMemory.maxTensorElements else { throw RequestMemory.tooManyElements(count, what: "Fill's output \(shape)") }
        guard value.dtype.isFixedSize, let pattern = value.buffer else {
            return [try value.reshaped([1]).gatheredElements([Int](repeating: 0, count: count), shape: shape)]
        }
        let (result, buffer) = try Tensor.allocateUninitialized(value.dtype, shape)
        let width = value.dtype.byteSize
        let total = count * width
        guard total > 0 else { return [result] }
        buffer.baseAddress.copyMemory(from: pattern.baseAddress, byteCount: width)
        var filled = width
        while filled < total {
            let step = min(filled, total - filled)
            (buffer.baseAddress + filled).copyMemory(from: buffer.baseAddress, byteCount: step)
            filled += step
        }
        return [result]
    }
}

/// ZerosLike / OnesLike: a tensor shaped like the input filled with 0 or 1.
struct ConstantLikeKernel: Kernel {
    let op: String
    let one: Bool

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 1, op)
        let x = inputs[0]
        guard x.dtype.isFixedSize else { throw .unimplemented("\(op) does not support \(x.dtype)") }
        let (result, _) = try Tensor.allocate(x.dtype, x.shape)
        guard one else { return [result] }
        switch x.dtype {
        case .float32: fill(result, Float(1))
        case .float64: fill(result, Double(1))
        case .int32: fill(result, Int32(1))
        case .int64: fill(result, Int64(1))
        case .int8: fill(result, Int8(1))
        case .int16: fill(result, Int16(1))
        case .uint8: fill(result, UInt8(1))
        case .uint16: fill(result, UInt16(1))
        case .uint32: fill(result, UInt32(1))
        case .uint64: fill(result, UInt64(1))
        case .bool: fill(result, true)
        default: throw .unimplemented("\(op) does not support \(x.dtype)")
        }
        return [result]
    }

    private func fill<T: TensorScalar>(_ tensor: Tensor, _ value: T) {
        let out = tensor.mutableElements(T.self)
        for i in 0..<out.count { out[i] = value }
    }
}

/// Empty: a zero-filled tensor of the given shape and `dtype` (TensorFlow leaves it uninitialized unless
/// `init`; zeros satisfy both).
struct EmptyKernel: Kernel {
    let dtype: DType

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 1, "Empty")
        guard inputs[0].shape.rank == 1 else { throw .invalidArgument("Empty shape must be a vector, got \(inputs[0].shape)") }
        let shape = Shape(try inputs[0].integerValues())
        let count = try shape.checkedElementCount()
        guard count <= RequestMemory.maxTensorElements else { throw RequestMemory.tooManyElements(count, what: "Empty's output \(shape)") }
        guard dtype.isFixedSize else { throw .unimplemented("Empty does not support \(dtype)") }
        return [try Tensor.allocate(dtype, shape).0]
    }
}
