import Tensors

/// FusedBatchNorm, V2 and V3 on float32: inference mode normalises with the given mean and variance,
/// training mode with the batch statistics. Outputs: y, mean, variance, two reserve copies (and an
/// empty third reserve for V3).
struct FusedBatchNormKernel: Kernel {
    let epsilon: Float
    let isTraining: Bool
    let channelsFirst: Bool
    let exponentialAverageFactor: Float
    let outputCount: Int

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 5, "FusedBatchNorm")
        let x = inputs[0]
        guard x.shape.rank == 4 else { throw .invalidArgument("FusedBatchNorm expects a rank-4 input, got \(x.shape)") }
        guard inputs.allSatisfy({ $0.dtype == .float32 }) else {
            throw .unimplemented("FusedBatchNorm supports float32 only, got \(inputs.map(\.dtype))")
        }
        let c = channelsFirst ? x.shape[1] : x.shape[3]
        let spatial = channelsFirst ? x.shape[2] * x.shape[3] : x.shape[1] * x.shape[2]
        let n = x.shape[0]
        for (index, name) in [(1, "scale"), (2, "offset")] where inputs[index].elementCount != c {
            throw .invalidArgument("FusedBatchNorm \(name) \(inputs[index].shape) does not match \(c) channels")
        }
        let input = x.elements(Float.self)
        let scale = inputs[1].elements(Float.self), offset = inputs[2].elements(Float.self)
        var mean = [Float](repeating: 0, count: c), variance = [Float](repeating: 0, count: c)
        var reportedVariance = variance
        let count = n * spatial
        if isTraining {
            var sums = [Double](repeating: 0, count: c), squares = [Double](repeating: 0, count: c)
            forEachElement(n: n, c: c, spatial: spatial) { i, ch in sums[ch] += Double(input[i]) }
            for ch in 0..<c { mean[ch] = Float(sums[ch] / Double(max(count, 1))) }
            forEachElement(n: n, c: c, spatial: spatial) { i, ch in
                let d = Double(input[i]) - Double(mean[ch])
                squares[ch] += d * d
            }
            for ch in 0..<c {
                variance[ch] = Float(squares[ch] / Double(max(count, 1)))
                reportedVariance[ch] = Float(squares[ch] / Double(max(count - 1, 1)))
            }
            if exponentialAverageFactor != 1, inputs[3].elementCount == c, inputs[4].elementCount == c {
                let oldMean = inputs[3].elements(Float.self), oldVariance = inputs[4].elements(Float.self)
                let f = exponentialAverageFactor
                for ch in 0..<c {
                    mean[ch] = (1 - f) * oldMean[ch] + f * mean[ch]
                    reportedVariance[ch] = (1 - f) * oldVariance[ch] + f * reportedVariance[ch]
                }
            }
        } else {
            guard inputs[3].elementCount == c, inputs[4].elementCount == c else {
                throw .invalidArgument("FusedBatchNorm mean \(inputs[3].shape) / variance \(inputs[4].shape) do not match \(c) channels")
            }
            mean = Array(inputs[3].elements(Float.self))
            variance = Array(inputs[4].elements(Float.self))
            reportedVariance = variance
        }
        var multiplier = [Float](repeating: 0, count: c), shift = [Float](repeating: 0, count: c)
        for ch in 0..<c {
            multiplier[ch] = scale[ch] / (variance[ch] + epsilon).squareRoot()
            shift[ch] = offset[ch] - mean[ch] * multiplier[ch]
        }
        let (result, _) = try Tensor.allocateUninitialized(.float32, x.shape)
        let out = result.mutableElements(Float.self)
        if channelsFirst {
            forEachElement(n: n, c: c, spatial: spatial) { i, ch in out[i] = input[i] * multiplier[ch] + shift[ch] }
        } else if let source = input.baseAddress, let target = out.baseAddress {
            for row in 0..<count {
                let from = source + row * c, to = target + row * c
                for ch in 0..<c { to[ch] = from[ch] * multiplier[ch] + shift[ch] }
            }
        }
        let meanTensor = Tensor(mean, shape: [c]), varianceTensor = Tensor(reportedVariance, shape: [c])
        var outputs = [result, meanTensor, varianceTensor, meanTensor, Tensor(variance, shape: [c])]
        if outputCount > 5 { outputs.append(Tensor([Float](), shape: [0])) }
        return outputs
    }

    private func forEachElement(n: Int, c: Int, spatial: Int, _ body: (Int, Int) -> Void) {
        var i = 0
        if channelsFirst {
            for _ in 0..<n { for ch in 0..<c { for _ in 0..<spatial { body(i, ch); i += 1 } } }
        } else {
            for _ in 0..<(n * spatial) { for ch in 0..<c { body(i, ch); i += 1 } }
        }
    }
}
