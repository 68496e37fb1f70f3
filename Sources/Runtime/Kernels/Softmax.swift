import Tensors

/// Softmax (or LogSoftmax) over the last dimension.
struct SoftmaxKernel: Kernel {
    let logarithmic: Bool

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        let op = logarithmic ? "LogSoftmax" : "Softmax"
        try expectInputs(inputs, 1, op)
        let x = inputs[0]
        guard x.shape.rank >= 1 else { throw .invalidArgument("\(op) expects rank at least 1, got \(x.shape)") }
        switch x.dtype {
        case .float32: return [try compute(x, Float.self)]
        case .float64: return [try compute(x, Double.self)]
        default: throw .unimplemented("\(op) does not support \(x.dtype)")
        }
    }

    private func compute<T: FloatScalar>(_ x: Tensor, _: T.Type) throws(ServingError) -> Tensor {
        let (result, _) = try Tensor.allocateUninitialized(x.dtype, x.shape)
        let out = result.mutableElements(T.self), input = x.elements(T.self)
        let width = x.shape[x.shape.rank - 1]
        guard width > 0, out.count > 0 else { return result }
        var row = 0
        while row < out.count {
            var maximum = input[row]
            for j in 1..<width where input[row + j] > maximum { maximum = input[row + j] }
            var sum = T.zero
            for j in 0..<width {
                let e = T.exponential(input[row + j] - maximum)
                out[row + j] = e
                sum += e
            }
            if logarithmic {
                let logSum = T.logarithm(sum)
                for j in 0..<width { out[row + j] = input[row + j] - maximum - logSum }
            } else {
                let scale = 1 / sum
                for j in 0..<width { out[row + j] *= scale }
            }
            row += width
        }
        return result
    }
}
