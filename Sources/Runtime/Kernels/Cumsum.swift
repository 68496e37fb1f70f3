import Tensors

/// Cumsum (or Cumprod) along one axis, optionally exclusive and/or reversed.
struct CumsumKernel: Kernel {
    let exclusive: Bool
    let reverse: Bool
    var product = false
    private var op: String { product ? "Cumprod" : "Cumsum" }

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 2, op)
        let x = inputs[0]
        guard inputs[1].elementCount == 1, let axisValue = try inputs[1].integerValues().first else {
            throw .invalidArgument("\(op) axis must be a scalar")
        }
        let axis = try normalizedAxis(axisValue, rank: x.shape.rank, op: op)
        switch x.dtype {
        case .float32: return [try scan(x, axis, Float.self)]
        case .float64: return [try scan(x, axis, Double.self)]
        case .int32: return [try scan(x, axis, Int32.self)]
        case .int64: return [try scan(x, axis, Int64.self)]
        default: throw .unimplemented("\(op) does not support \(x.dtype)")
        }
    }

    private func scan<T: ArithmeticScalar & Numeric>(_ x: Tensor, _ axis: Int, _: T.Type) throws(ServingError) -> Tensor {
        let (result, _) = try Tensor.allocate(x.dtype, x.shape)
        let out = result.mutableElements(T.self), input = x.elements(T.self)
        let length = x.shape[axis]
        let outer = x.shape.dims[..<axis].reduce(1, *)
        let inner = x.shape.dims[(axis + 1)...].reduce(1, *)
        for o in 0..<outer {
            for j in 0..<inner {
                var total: T = product ? 1 : T.zero
                for step in 0..<length {
                    let k = reverse ? length - 1 - step : step
                    let index = (o * length + k) * inner + j
                    if exclusive {
                        out[index] = total
                        total = combine(total, input[index])
                    } else {
                        total = combine(total, input[index])
                        out[index] = total
                    }
                }
            }
        }
        return result
    }

    @inline(__always) private func combine<T: ArithmeticScalar>(_ a: T, _ b: T) -> T {
        product ? T.multiply(a, b) : T.add(a, b)
    }
}
