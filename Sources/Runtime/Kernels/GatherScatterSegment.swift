import Tensors

/// A kernel that takes a resource variable's value in place of its handle: the constant value of a
/// variable no signature assigns, or what a read step gives at run time for one a signature assigns.
protocol ReadsVariableInputs: Kernel {}

/// ResourceGather: GatherV2 on axis 0 of a variable's value.
struct ResourceGatherKernel: ReadsVariableInputs {
    let gather: GatherKernel

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 2, "ResourceGather")
        return try gather.run([inputs[0], inputs[1], Tensor(scalar: Int32(0))])
    }
}

/// ResourceGatherNd: GatherNd on a variable's value.
struct ResourceGatherNdKernel: ReadsVariableInputs {
    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] { try GatherNdKernel().run(inputs) }
}

/// Splits an index tensor whose last axis addresses the leading axes of `shape` into flat slice starts,
/// each index checked against its axis.
func sliceStarts(_ indices: Tensor, into shape: Shape, op: String) throws(ServingError) -> (starts: [Int], sliceSize: Int, batch: [Int]) {
    guard indices.shape.rank >= 1 else { throw .invalidArgument("\(op) indices must have rank >= 1, got \(indices.shape)") }
    let depth = indices.shape[indices.shape.rank - 1]
    guard depth <= shape.rank else {
        throw .invalidArgument("\(op) index depth \(depth) is larger than the rank of \(shape)")
    }
    let values = try indices.integerValues()
    let strides = shape.strides
    let sliceSize = shape.dims[depth...].reduce(1, *)
    let count = depth == 0 ? indices.elementCount : values.count / depth
    var starts: [Int] = []
    starts.reserveCapacity(count)
    for row in 0..<count {
        var offset = 0
        for axis in 0..<depth {
            let index = values[row * depth + axis]
            guard index >= 0, index < shape[axis] else {
                throw .invalidArgument("\(op) index \(index) is out of range [0, \(shape[axis])) on axis \(axis) of \(shape)")
            }
            offset += index * strides[axis]
        }
        starts.append(offset)
    }
    return (starts, sliceSize, Array(indices.shape.dims.dropLast()))
}

/// GatherNd: slices of `params` addressed by the last axis of `indices`.
struct GatherNdKernel: Kernel {
    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 2, "GatherNd")
        let params = inputs[0], indices = inputs[1]
        let (starts, sliceSize, batch) = try sliceStarts(indices, into: params.shape, op: "GatherNd")
        let depth = indices.shape[indices.shape.rank - 1]
        let offsets = starts.flatMap { start in (0..<sliceSize).map { start + $0 } }
        return [try params.gatheredElements(offsets, shape: Shape(batch + params.shape.dims[depth...]))]
    }
}

/// TensorScatterUpdate / TensorScatterAdd (and ScatterNd, onto zeros of `shape`): `updates` written
/// into (or added onto) slices of the tensor addressed by `indices`.
struct TensorScatterKernel: Kernel {
    enum Mode: Sendable { case update, add, scatterNd }
    let mode: Mode
    let op: String

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 3, op)
        let base: Tensor, indices: Tensor, updates: Tensor
        if mode == .scatterNd {
            indices = inputs[0]
            updates = inputs[1]
            base = try Tensor.allocate(updates.dtype, Shape(try inputs[2].integerValues())).0
        } else {
            (base, indices, updates) = (inputs[0], inputs[1], inputs[2])
        }
        guard base.dtype == updates.dtype else { throw .invalidArgument("\(op) updates are \(updates.dtype), the tensor is \(base.dtype)") }
        let (starts, sliceSize, _) = try sliceStarts(indices, into: base.shape, op: op)
        guard updates.elementCount == starts.count * sliceSize else {
            throw .invalidArgument("\(op) updates \(updates.shape) do not match \(starts.count) slices of \(sliceSize) elements")
        }
        switch base.dtype {
        case .float32: return [try scatter(base, starts, sliceSize, updates, Float.self)]
        case .float64: return [try scatter(base, starts, sliceSize, updates, Double.self)]
        case .int32: return [try scatter(base, starts, sliceSize, updates, Int32.self)]
        case .int64: return [try scatter(base, starts, sliceSize, updates, Int64.self)]
        default: throw .unimplemented("\(op) does not support \(base.dtype)")
        }
    }

    private func scatter<T: ArithmeticScalar>(_ base: Tensor, _ starts: [Int], _ sliceSize: Int, _ updates: Tensor, _: T.Type)
        throws(ServingError) -> Tensor {
        let (result, _) = try Tensor.allocateUninitialized(base.dtype, base.shape)
        let out = result.mutableElements(T.self), source = base.elements(T.self), values = updates.elements(T.self)
        for i in 0..<out.count { out[i] = source[i] }
        for (row, start) in starts.enumerated() {
            for j in 0..<sliceSize {
                let value = values[row * sliceSize + j]
                out[start + j] = mode == .update ? value : T.add(out[start + j], value)
            }
        }
        return result
    }
}

/// Segment reductions: SegmentSum/Mean/Max/Min/Prod (sorted ids; the output has max id + 1 rows) and
/// UnsortedSegmentSum/Max/Min/Prod (ids in any order, `num_segments` rows). Empty segments are 0 for the
/// sorted forms (1 for SegmentProd) and the reduction's identity (lowest / highest value, 1) for the
/// unsorted ones, as in TensorFlow.
struct SegmentReductionKernel: Kernel {
    enum Reduction: Sendable { case sum, mean, max, min, prod }
    let reduction: Reduction
    let sorted: Bool
    let op: String

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, sorted ? 2 : 3, op)
        let data = inputs[0], ids = try inputs[1].integerValues()
        guard inputs[1].shape.rank >= 1, data.shape.dims.starts(with: inputs[1].shape.dims) else {
            throw .invalidArgument("\(op) segment_ids \(inputs[1].shape) must be a prefix of the data shape \(data.shape)")
        }
        let segments: Int
        if sorted {
            for (a, b) in zip(ids, ids.dropFirst()) where b < a {
                throw .invalidArgument("\(op) segment_ids must be sorted, got \(a) before \(b)")
            }
            segments = (ids.last ?? -1) + 1
        } else {
            guard inputs[2].elementCount == 1, let count = try inputs[2].integerValues().first, count >= 0 else {
                throw .invalidArgument("\(op) num_segments must be a non-negative scalar")
            }
            segments = count
        }
        guard segments <= RequestMemory.maxTensorElements else { throw RequestMemory.tooManyElements(segments, what: "\(op) segments") }
        let inner = data.shape.dims[inputs[1].shape.rank...].reduce(1, *)
        let shape = Shape([segments] + data.shape.dims[inputs[1].shape.rank...])
        switch data.dtype {
        case .float32: return [try reduce(data, ids, segments, inner, shape, Float.self)]
        case .float64: return [try reduce(data, ids, segments, inner, shape, Double.self)]
        case .int32: return [try reduce(data, ids, segments, inner, shape, Int32.self)]
        case .int64: return [try reduce(data, ids, segments, inner, shape, Int64.self)]
        default: throw .unimplemented("\(op) does not support \(data.dtype)")
        }
    }

    private func reduce<T: ArithmeticScalar & Numeric & SegmentBounds>(
        _ data: Tensor, _ ids: [Int], _ segments: Int, _ inner: Int, _ shape: Shape, _: T.Type
    ) throws(ServingError) -> Tensor {
        let (result, _) = try Tensor.allocateUninitialized(data.dtype, shape)
        let out = result.mutableElements(T.self), input = data.elements(T.self)
        let identity: T = switch reduction {
        case .sum, .mean: 0
        case .prod: 1
        case .max: T.lowestValue
        case .min: T.highestValue
        }
        for i in 0..<out.count { out[i] = identity }
        var counts = [Int](repeating: 0, count: segments)
        for (row, id) in ids.enumerated() {
            guard id < segments else { continue }
            guard id >= 0 else {
                if sorted { throw .invalidArgument("\(op) segment id \(id) is negative") }
                continue
            }
            counts[id] += 1
            for j in 0..<inner {
                let value = input[row * inner + j], slot = id * inner + j
                switch reduction {
                case .sum, .mean: out[slot] = T.add(out[slot], value)
                case .prod: out[slot] = T.multiply(out[slot], value)
                case .max: if value > out[slot] { out[slot] = value }
                case .min: if value < out[slot] { out[slot] = value }
                }
            }
        }
        for segment in 0..<segments {
            if reduction == .mean, counts[segment] > 0 {
                let count = T(exactly: counts[segment]) ?? 1
                for j in 0..<inner { out[segment * inner + j] = T.divide(out[segment * inner + j], count) }
            }
            if sorted, counts[segment] == 0, reduction != .prod {
                for j in 0..<inner { out[segment * inner + j] = 0 }
            }
        }
        return result
    }
}

/// The extreme values a max or min segment reduction starts from.
protocol SegmentBounds {
    static var lowestValue: Self { get }
    static var highestValue: Self { get }
}
extension Float: SegmentBounds {
    static var lowestValue: Float { -.greatestFiniteMagnitude }
    static var highestValue: Float { .greatestFiniteMagnitude }
}
extension Double: SegmentBounds {
    static var lowestValue: Double { -.greatestFiniteMagnitude }
    static var highestValue: Double { .greatestFiniteMagnitude }
}
extension Int32: SegmentBounds {
    static var lowestValue: Int32 { .min }
    static var highestValue: Int32 { .max }
}
extension Int64: SegmentBounds {
    static var lowestValue: Int64 { .min }
    static var highestValue: Int64 { .max }
}
