import Tensors

/// Flat element offsets for an output whose index along each axis maps to an input index (or to
/// nothing, -1): the common core of Pad, MirrorPad, Slice and BroadcastTo.
func mappedOffsets(axisMaps: [[Int]], inputShape: Shape, missing: Int) -> [Int] {
    let strides = inputShape.strides
    var offsets = [0]
    for (axis, map) in axisMaps.enumerated() {
        var next: [Int] = []
        next.reserveCapacity(offsets.count * map.count)
        for base in offsets {
            for source in map {
                next.append(base < 0 || source < 0 ? -1 : base + source * strides[axis])
            }
        }
        offsets = next
    }
    return offsets.map { $0 < 0 ? missing : $0 }
}

extension Tensor {
    /// The tensor rearranged by `axisMaps` (see `mappedOffsets`); -1 entries take `fill`'s single value.
    func remapped(_ axisMaps: [[Int]], fill: Tensor? = nil) throws(ServingError) -> Tensor {
        let dims = axisMaps.map(\.count)
        let outputShape = Shape(dims)
        _ = try outputShape.checkedElementCount()
        _ = try RequestMemory.checkTensorSize(
            elements: outputShape.elementCount, elementBytes: dtype.byteSize, what: "a \(dtype)\(outputShape) tensor")
        let needsFill = axisMaps.contains { $0.contains(-1) }
        guard needsFill, let fill else {
            return try gatheredElements(mappedOffsets(axisMaps: axisMaps, inputShape: shape, missing: 0), shape: outputShape)
        }
        let source = try Tensor.joinedElements(self, fill)
        let offsets = mappedOffsets(axisMaps: axisMaps, inputShape: shape, missing: elementCount)
        return try source.gatheredElements(offsets, shape: outputShape)
    }
}

/// Pad, PadV2 (constant) and MirrorPad (REFLECT, SYMMETRIC): `paddings` is [rank, 2].
struct PadKernel: Kernel {
    enum Mode: Sendable { case constant, reflect, symmetric }
    let mode: Mode
    let op: String

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        guard inputs.count == 2 || (inputs.count == 3 && mode == .constant) else {
            throw .invalidArgument("\(op) expects \(mode == .constant ? "2 or 3" : "2") inputs, got \(inputs.count)")
        }
        let x = inputs[0]
        let paddings = try inputs[1].integerValues()
        guard paddings.count == 2 * x.shape.rank else {
            throw .invalidArgument("\(op) paddings must be [\(x.shape.rank), 2] for input \(x.shape), got \(inputs[1].shape)")
        }
        var maps: [[Int]] = []
        for axis in 0..<x.shape.rank {
            let before = paddings[2 * axis], after = paddings[2 * axis + 1], size = x.shape[axis]
            guard before >= 0, after >= 0 else { throw .invalidArgument("\(op) paddings must not be negative, got \(paddings)") }
            if mode != .constant {
                let limit = mode == .reflect ? size - 1 : size
                guard before <= limit, after <= limit else {
                    throw .invalidArgument("\(op) paddings \(before), \(after) on axis \(axis) must be at most \(limit) for size \(size)")
                }
            }
            guard before + size + after <= RequestMemory.maxTensorElements else {
                throw RequestMemory.tooManyElements(before + size + after, what: "\(op) output axis")
            }
            maps.append((-before..<(size + after)).map { index in
                if index >= 0 && index < size { return index }
                switch mode {
                case .constant: return -1
                case .reflect: return index < 0 ? -index : 2 * (size - 1) - index
                case .symmetric: return index < 0 ? -index - 1 : 2 * size - 1 - index
                }
            })
        }
        let fill = inputs.count == 3 ? inputs[2] : try zero(like: x)
        return [try x.remapped(maps, fill: fill)]
    }

    private func zero(like x: Tensor) throws(ServingError) -> Tensor {
        if x.dtype == .string { return Tensor(strings: [[]], shape: [1]) }
        guard x.dtype.isFixedSize else { throw .unimplemented("\(op) does not support \(x.dtype)") }
        return try Tensor.allocate(x.dtype, [1]).0
    }
}

/// Slice: `begin` and `size` vectors, size -1 meaning "to the end".
struct SliceKernel: Kernel {
    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 3, "Slice")
        let x = inputs[0]
        let begin = try inputs[1].integerValues(), size = try inputs[2].integerValues()
        guard begin.count == x.shape.rank, size.count == x.shape.rank else {
            throw .invalidArgument("Slice begin and size must have \(x.shape.rank) entries for input \(x.shape)")
        }
        var maps: [[Int]] = []
        for axis in 0..<x.shape.rank {
            let length = size[axis] == -1 ? x.shape[axis] - begin[axis] : size[axis]
            guard begin[axis] >= 0, length >= 0, begin[axis] + length <= x.shape[axis] else {
                throw .invalidArgument("Slice of \(x.shape) with begin \(begin) and size \(size) is out of bounds")
            }
            maps.append(Array(begin[axis]..<(begin[axis] + length)))
        }
        return [try x.remapped(maps)]
    }
}

/// BroadcastTo: the input repeated along axes of size 1 (and new leading axes) to `shape`.
struct BroadcastToKernel: Kernel {
    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 2, "BroadcastTo")
        let x = inputs[0]
        let target = Shape(try inputs[1].integerValues())
        guard try broadcastShape(x.shape, target) == target else {
            throw .invalidArgument("BroadcastTo cannot broadcast \(x.shape) to \(target)")
        }
        return [try x.broadcast(to: target)]
    }
}

extension Tensor {
    /// The tensor repeated along its size-1 axes (and new leading ones) to `target`, which must be a
    /// broadcast of its shape.
    func broadcast(to target: Shape) throws(ServingError) -> Tensor {
        if shape == target { return self }
        let offset = target.rank - shape.rank
        let expanded = reshaped(Shape([Int](repeating: 1, count: offset) + shape.dims))
        let maps = (0..<target.rank).map { axis -> [Int] in
            (0..<target[axis]).map { expanded.shape[axis] == 1 ? 0 : $0 }
        }
        return try expanded.remapped(maps)
    }
}

/// BroadcastArgs: the broadcast shape of two shape vectors.
struct BroadcastArgsKernel: Kernel {
    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 2, "BroadcastArgs")
        let shape = try broadcastShape(Shape(try inputs[0].integerValues()), Shape(try inputs[1].integerValues()))
        return [try Tensor.integers(shape.dims, dtype: inputs[0].dtype)]
    }
}

/// EnsureShape: the input, once its shape is checked against the attribute (-1 matches any size).
struct EnsureShapeKernel: Kernel {
    let expected: [Int]?
    let location: String

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 1, "EnsureShape")
        let x = inputs[0]
        if let expected {
            let matches = expected.count == x.shape.rank && zip(expected, x.shape.dims).allSatisfy { $0 == -1 || $0 == $1 }
            guard matches else {
                throw .invalidArgument("\(location): shape of tensor \(x.shape) is not compatible with expected shape \(expected)")
            }
        }
        return [x]
    }
}

/// XlaDynamicUpdateSlice: the input with `update` written at `indices`, each start clamped so the update
/// fits (XLA's dynamic-update-slice).
struct DynamicUpdateSliceKernel: Kernel {
    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 3, "XlaDynamicUpdateSlice")
        let x = inputs[0], update = inputs[1]
        let starts = try inputs[2].integerValues()
        let rank = x.shape.rank
        guard update.dtype == x.dtype, update.shape.rank == rank, starts.count == rank,
              (0..<rank).allSatisfy({ update.shape[$0] <= x.shape[$0] }) else {
            throw .invalidArgument("XlaDynamicUpdateSlice needs an update of the input's type and rank that fits in it, and one start per axis; got input \(x.dtype)\(x.shape), update \(update.dtype)\(update.shape), starts \(starts)")
        }
        guard x.dtype.isFixedSize, let source = x.buffer, let patch = update.buffer else {
            throw .unimplemented("XlaDynamicUpdateSlice does not support \(x.dtype)")
        }
        let clamped = (0..<rank).map { min(max(starts[$0], 0), x.shape[$0] - update.shape[$0]) }
        let (result, buffer) = try Tensor.allocateUninitialized(x.dtype, x.shape)
        let size = x.dtype.byteSize
        buffer.baseAddress.copyMemory(from: source.baseAddress, byteCount: x.elementCount * size)
        var strides = [Int](repeating: 1, count: rank)
        for axis in stride(from: rank - 2, through: 0, by: -1) { strides[axis] = strides[axis + 1] * x.shape[axis + 1] }
        var index = [Int](repeating: 0, count: rank)
        for element in 0..<update.elementCount {
            var remainder = element, offset = 0
            for axis in stride(from: rank - 1, through: 0, by: -1) {
                index[axis] = remainder % update.shape[axis]
                remainder /= update.shape[axis]
                offset += (index[axis] + clamped[axis]) * strides[axis]
            }
            (buffer.baseAddress + offset * size).copyMemory(from: patch.baseAddress + element * size, byteCount: size)
        }
        return [result]
    }
}
