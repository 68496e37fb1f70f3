import Foundation
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

/// SparseSoftmaxCrossEntropyWithLogits: per row of `features` [batch, classes], the cross-entropy loss
/// against the class index in `labels` [batch] and its gradient (softmax minus the one-hot label).
struct SparseSoftmaxCrossEntropyKernel: Kernel {
    private static let op = "SparseSoftmaxCrossEntropyWithLogits"

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 2, Self.op)
        let features = inputs[0], labels = inputs[1]
        guard features.shape.rank == 2, labels.shape.rank == 1, labels.shape[0] == features.shape[0] else {
            throw .invalidArgument("\(Self.op) needs features [batch, classes] and labels [batch], got \(features.shape) and \(labels.shape)")
        }
        let rows = features.shape[0], classes = features.shape[1]
        let logits = try features.doubleValues(Self.op)
        let targets = try labels.integerValues()
        var loss = [Double](repeating: 0, count: rows), gradient = [Double](repeating: 0, count: rows * classes)
        for row in 0..<rows {
            let label = targets[row]
            guard label >= 0, label < classes else {
                throw .invalidArgument("\(Self.op): received a label value of \(label) which is outside the valid range of [0, \(classes))")
            }
            let values = logits[(row * classes)..<((row + 1) * classes)]
            let maximum = values.max() ?? 0
            let sum = values.reduce(0.0) { $0 + Foundation.exp($1 - maximum) }
            let logSum = Foundation.log(sum)
            loss[row] = logSum - (logits[row * classes + label] - maximum)
            for j in 0..<classes {
                gradient[row * classes + j] = Foundation.exp(logits[row * classes + j] - maximum) / sum - (j == label ? 1 : 0)
            }
        }
        return [Tensor.floating(loss, dtype: features.dtype, shape: [rows]),
                Tensor.floating(gradient, dtype: features.dtype, shape: features.shape)]
    }
}
