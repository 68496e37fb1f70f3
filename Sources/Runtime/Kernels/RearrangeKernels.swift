import Tensors

/// Roll: elements shifted cyclically along the given axes (shifts add up when an axis repeats).
struct RollKernel: Kernel {
    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 3, "Roll")
        let x = inputs[0]
        let shifts = try inputs[1].integerValues(), axes = try inputs[2].integerValues()
        guard shifts.count == axes.count else { throw .invalidArgument("Roll shift and axis must have the same length, got \(shifts.count) and \(axes.count)") }
        var total = [Int](repeating: 0, count: x.shape.rank)
        for (shift, axis) in zip(shifts, axes) { total[try normalizedAxis(axis, rank: x.shape.rank, op: "Roll")] += shift }
        let maps = (0..<x.shape.rank).map { axis -> [Int] in
            let size = x.shape[axis]
            guard size > 0 else { return [] }
            let shift = ((total[axis] % size) + size) % size
            return (0..<size).map { (($0 - shift) % size + size) % size }
        }
        return [try x.remapped(maps)]
    }
}

/// DepthToSpace and SpaceToDepth on NHWC tensors: channel blocks moved to (or from) `block_size` x `block_size` pixels.
struct DepthSpaceKernel: Kernel {
    let toSpace: Bool
    let blockSize: Int
    let op: String

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 1, op)
        let x = inputs[0], bs = blockSize
        guard x.shape.rank == 4, bs >= 2 else { throw .invalidArgument("\(op) needs an NHWC tensor and block_size >= 2, got \(x.shape) and \(bs)") }
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        var offsets: [Int] = []
        offsets.reserveCapacity(x.elementCount)
        if toSpace {
            guard c % (bs * bs) == 0 else { throw .invalidArgument("\(op): channels \(c) must be divisible by block_size^2 = \(bs * bs)") }
            let outC = c / (bs * bs)
            for b in 0..<n { for oy in 0..<(h * bs) { for ox in 0..<(w * bs) { for oc in 0..<outC {
                let channel = ((oy % bs) * bs + ox % bs) * outC + oc
                offsets.append(((b * h + oy / bs) * w + ox / bs) * c + channel)
            } } } }
            return [try x.gatheredElements(offsets, shape: [n, h * bs, w * bs, outC])]
        }
        guard h % bs == 0, w % bs == 0 else { throw .invalidArgument("\(op): height \(h) and width \(w) must be divisible by block_size \(bs)") }
        for b in 0..<n { for oy in 0..<(h / bs) { for ox in 0..<(w / bs) { for oc in 0..<(c * bs * bs) {
            let block = oc / c, channel = oc % c
            offsets.append(((b * h + oy * bs + block / bs) * w + ox * bs + block % bs) * c + channel)
        } } } }
        return [try x.gatheredElements(offsets, shape: [n, h / bs, w / bs, c * bs * bs])]
    }
}

/// LowerBound / UpperBound: for each value of a row, the first position in that row of the sorted
/// input where it could be inserted (before equal entries, or after them).
struct SearchSortedKernel: Kernel {
    let upper: Bool
    let outType: DType

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        let op = upper ? "UpperBound" : "LowerBound"
        try expectInputs(inputs, 2, op)
        let sorted = inputs[0], values = inputs[1]
        guard sorted.shape.rank == 2, values.shape.rank == 2, sorted.shape[0] == values.shape[0], sorted.dtype == values.dtype else {
            throw .invalidArgument("\(op) needs [rows, n] sorted inputs and [rows, m] values of one type, got \(sorted.shape) and \(values.shape)")
        }
        let a = try sorted.doubleValues(op, integers: true), v = try values.doubleValues(op, integers: true)
        let n = sorted.shape[1], m = values.shape[1]
        var positions: [Int] = []
        positions.reserveCapacity(v.count)
        for row in 0..<sorted.shape[0] {
            for j in 0..<m {
                let value = v[row * m + j]
                var low = 0, high = n
                while low < high {
                    let middle = (low + high) / 2, entry = a[row * n + middle]
                    if upper ? entry <= value : entry < value { low = middle + 1 } else { high = middle }
                }
                positions.append(low)
            }
        }
        return [try Tensor.integers(positions, dtype: outType).reshaped(values.shape)]
    }
}

/// InTopKV2: whether each row's target class is among its k highest predictions (ties at the
/// boundary count as in; a non-finite prediction or an out-of-range target is not).
struct InTopKKernel: Kernel {
    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 3, "InTopKV2")
        let predictions = inputs[0]
        guard predictions.dtype == .float32, predictions.shape.rank == 2 else {
            throw .invalidArgument("InTopKV2 predictions must be float32 [batch, classes], got \(predictions.dtype)\(predictions.shape)")
        }
        let targets = try inputs[1].integerValues()
        guard let k = try inputs[2].integerValues().first else { throw .invalidArgument("InTopKV2 k must be a scalar") }
        let rows = predictions.shape[0], classes = predictions.shape[1]
        guard targets.count == rows else { throw .invalidArgument("InTopKV2 has \(targets.count) targets for \(rows) rows") }
        let p = predictions.elements(Float.self)
        let result = (0..<rows).map { row -> Bool in
            let target = targets[row]
            guard target >= 0, target < classes else { return false }
            let value = p[row * classes + target]
            guard value.isFinite else { return false }
            var higher = 0
            for c in 0..<classes where p[row * classes + c] > value { higher += 1 }
            return higher < k
        }
        return [Tensor(result, shape: [rows])]
    }
}

/// Cross: the cross product of 3-vectors along the last axis.
struct CrossKernel: Kernel {
    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 2, "Cross")
        let a = inputs[0], b = inputs[1]
        guard a.shape == b.shape, a.shape.rank >= 1, a.shape[a.shape.rank - 1] == 3, a.dtype == b.dtype else {
            throw .invalidArgument("Cross needs two tensors of one shape ending in 3, got \(a.shape) and \(b.shape)")
        }
        switch a.dtype {
        case .float32: return [cross(a, b, Float.self)]
        case .float64: return [cross(a, b, Double.self)]
        default: throw .unimplemented("Cross does not support \(a.dtype)")
        }
    }

    private func cross<T: FloatScalar>(_ a: Tensor, _ b: Tensor, _: T.Type) -> Tensor {
        let x = a.elements(T.self), y = b.elements(T.self)
        var out: [T] = []
        out.reserveCapacity(x.count)
        for base in stride(from: 0, to: x.count, by: 3) {
            out.append(x[base + 1] * y[base + 2] - x[base + 2] * y[base + 1])
            out.append(x[base + 2] * y[base] - x[base] * y[base + 2])
            out.append(x[base] * y[base + 1] - x[base + 1] * y[base])
        }
        return Tensor(out, shape: a.shape)
    }
}
