import Tensors

/// CTCGreedyDecoder: per sequence of `inputs` [max_time, batch, classes], the most likely class at each
/// step up to its `sequence_length`, blanks dropped and (with `merge_repeated`) runs of one class merged.
/// Outputs the decoded classes as a sparse int64 matrix [batch, longest] and, per sequence, the negated sum
/// of the steps' largest logits.
struct CTCGreedyDecoderKernel: Kernel {
    let mergeRepeated: Bool
    let blankIndex: Int

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 2, "CTCGreedyDecoder")
        let logits = inputs[0], lengths = try inputs[1].integerValues()
        guard logits.shape.rank == 3, inputs[1].shape.rank == 1, lengths.count == logits.shape[1] else {
            throw .invalidArgument("CTCGreedyDecoder needs inputs [max_time, batch, classes] and sequence_length [batch], got \(logits.shape) and \(inputs[1].shape)")
        }
        let time = logits.shape[0], batch = logits.shape[1], classes = logits.shape[2]
        guard classes > 0 else { throw .invalidArgument("CTCGreedyDecoder needs at least one class, got \(logits.shape)") }
        let blank = blankIndex < 0 ? classes + blankIndex : blankIndex
        guard blank >= 0, blank < classes else {
            throw .invalidArgument("CTCGreedyDecoder blank_index \(blankIndex) is out of range for \(classes) classes")
        }
        let values = try logits.doubleValues("CTCGreedyDecoder")
        var indices: [Int64] = [], decoded: [Int64] = [], logProbabilities: [Double] = []
        var longest = 0
        for b in 0..<batch {
            guard lengths[b] >= 0, lengths[b] <= time else {
                throw .invalidArgument("CTCGreedyDecoder sequence_length[\(b)] = \(lengths[b]) is not in 0...\(time)")
            }
            var previous = -1, count = 0, logProbability = 0.0
            for t in 0..<lengths[b] {
                let row = (t * batch + b) * classes
                var best = 0
                for c in 1..<classes where values[row + c] > values[row + best] { best = c }
                logProbability -= values[row + best]
                if best != blank && !(mergeRepeated && best == previous) {
                    indices.append(contentsOf: [Int64(b), Int64(count)])
                    decoded.append(Int64(best))
                    count += 1
                }
                previous = best
            }
            longest = max(longest, count)
            logProbabilities.append(logProbability)
        }
        return [Tensor(indices, shape: [decoded.count, 2]), Tensor(decoded, shape: [decoded.count]),
                Tensor([Int64(batch), Int64(longest)], shape: [2]),
                Tensor.floating(logProbabilities, dtype: logits.dtype, shape: [batch, 1])]
    }
}
