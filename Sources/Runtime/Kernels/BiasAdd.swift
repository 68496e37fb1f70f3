import Tensors

/// BiasAdd: adds a vector along the channel axis (last for NHWC, 1 for NCHW).
struct BiasAddKernel: Kernel {
    let channelsFirst: Bool

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 2, "BiasAdd")
        let value = inputs[0], bias = inputs[1]
        guard value.dtype == bias.dtype else {
            throw .invalidArgument("BiasAdd operands differ in type: \(value.dtype) and \(bias.dtype)")
        }
        guard bias.shape.rank == 1 else { throw .invalidArgument("BiasAdd bias must be a vector, got \(bias.shape)") }
        let minimumRank = channelsFirst ? 3 : 2
        guard value.shape.rank >= minimumRank else {
            throw .invalidArgument("BiasAdd input must have rank at least \(minimumRank), got \(value.shape)")
        }
        let axis = channelsFirst ? 1 : value.shape.rank - 1
        let channels = value.shape[axis]
        guard channels == bias.shape[0] else {
            throw .invalidArgument("BiasAdd bias length \(bias.shape[0]) does not match dimension \(axis) of \(value.shape)")
        }
        switch value.dtype {
        case .float32: return [try compute(value, bias, axis: axis, Float.self)]
        case .float64: return [try compute(value, bias, axis: axis, Double.self)]
        case .int32: return [try compute(value, bias, axis: axis, Int32.self)]
        case .int64: return [try compute(value, bias, axis: axis, Int64.self)]
        default: throw .unimplemented("BiasAdd does not support \(value.dtype)")
        }
    }

    private func compute<T: ArithmeticScalar>(_ value: Tensor, _ bias: Tensor, axis: Int, _: T.Type) throws(ServingError) -> Tensor {
        let (result, _) = try Tensor.allocateUninitialized(value.dtype, value.shape)
        let out = result.mutableElements(T.self), x = value.elements(T.self), b = bias.elements(T.self)
        let channels = b.count
        guard out.count > 0, channels > 0 else { return result }
        var inner = 1
        for d in value.shape.dims[(axis + 1)...] { inner *= d }
        let outer = out.count / (channels * inner)
        var offset = 0
        for _ in 0..<outer {
            for c in 0..<channels {
                let bc = b[c]
                for j in 0..<inner { out[offset + j] = T.add(x[offset + j], bc) }
                offset += inner
            }
        }
        return result
    }
}
