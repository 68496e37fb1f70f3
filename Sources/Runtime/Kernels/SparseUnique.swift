import Tensors

/// SparseToDense: `sparse_values` (or one value for all) placed at `sparse_indices` in a tensor of
/// `output_shape` filled with `default_value`.
struct SparseToDenseKernel: Kernel {
    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 4, "SparseToDense")
        let indices = inputs[0], shape = Shape(try inputs[1].integerValues()), values = inputs[2], fill = inputs[3]
        guard fill.elementCount == 1, fill.dtype == values.dtype else {
            throw .invalidArgument("SparseToDense default_value must be one \(values.dtype), got \(fill.dtype)\(fill.shape)")
        }
        let count = indices.shape.rank == 0 ? 1 : indices.shape[0]
        let depth = indices.shape.rank < 2 ? 1 : indices.shape[1]
        guard depth == shape.rank, indices.elementCount == count * depth else {
            throw .invalidArgument("SparseToDense indices \(indices.shape) do not address a tensor of shape \(shape)")
        }
        guard values.elementCount == count || values.elementCount == 1 else {
            throw .invalidArgument("SparseToDense has \(count) indices and \(values.elementCount) values")
        }
        _ = try shape.checkedElementCount()
        let (starts, _, _) = try sliceStarts(indices.reshaped([count, depth]), into: shape, op: "SparseToDense")
        var offsets = [Int](repeating: values.elementCount, count: shape.elementCount)
        for (row, offset) in starts.enumerated() { offsets[offset] = values.elementCount == 1 ? 0 : row }
        let source = try Tensor.joinedElements(values.reshaped([values.elementCount]), fill.reshaped([1]))
        return [try source.gatheredElements(offsets, shape: shape)]
    }
}

/// SparseReduceSum: a sparse tensor (indices, values, dense shape) summed over `reduction_axes` into a dense tensor.
struct SparseReduceSumKernel: Kernel {
    let keepDims: Bool

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 4, "SparseReduceSum")
        let indices = try inputs[0].integerValues(), shape = try inputs[2].integerValues()
        let rank = shape.count
        var axes = Set<Int>()
        for axis in try inputs[3].integerValues() { axes.insert(try normalizedAxis(axis, rank: rank, op: "SparseReduceSum")) }
        let values = inputs[1]
        let count = values.elementCount
        guard indices.count == count * rank else {
            throw .invalidArgument("SparseReduceSum indices \(inputs[0].shape) do not match \(count) values of rank \(rank)")
        }
        let kept = (0..<rank).filter { !axes.contains($0) }
        let outDims = kept.map { shape[$0] }
        let outputShape = Shape(keepDims ? (0..<rank).map { axes.contains($0) ? 1 : shape[$0] } : outDims)
        _ = try outputShape.checkedElementCount()
        let strides = Shape(outDims).strides
        var sums = [Double](repeating: 0, count: outputShape.elementCount)
        let numbers = try values.doubleValues("SparseReduceSum", integers: true)
        for row in 0..<count {
            var offset = 0
            for (position, axis) in kept.enumerated() {
                let index = indices[row * rank + axis]
                guard index >= 0, index < shape[axis] else { throw .invalidArgument("SparseReduceSum index \(index) is out of bounds on axis \(axis)") }
                offset += index * strides[position]
            }
            sums[offset] += numbers[row]
        }
        switch values.dtype {
        case .float32: return [Tensor(sums.map { Float($0) }, shape: outputShape)]
        case .float64: return [Tensor(sums, shape: outputShape)]
        case .int32: return [Tensor(sums.map { Int32(truncatingIfNeeded: Int64($0)) }, shape: outputShape)]
        default: return [Tensor(sums.map { Int64($0) }, shape: outputShape)]
        }
    }
}

/// Unique: the distinct elements of a vector in order of first appearance, and each element's index among them.
struct UniqueKernel: Kernel {
    let indexType: DType

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 1, "Unique")
        let x = inputs[0]
        guard x.shape.rank == 1 else { throw .invalidArgument("Unique input must be a vector, got \(x.shape)") }
        let keys: [[UInt8]]
        if let strings = x.strings {
            keys = strings
        } else {
            guard x.dtype.isFixedSize, let buffer = x.buffer else { throw .unimplemented("Unique does not support \(x.dtype)") }
            let size = x.dtype.byteSize
            let bytes = UnsafeRawBufferPointer(buffer.rawBuffer)
            keys = (0..<x.elementCount).map { Array(bytes[($0 * size)..<($0 * size + size)]) }
        }
        var firstOffsets: [Int] = [], positions: [[UInt8]: Int] = [:], indices: [Int] = []
        for (offset, key) in keys.enumerated() {
            if let position = positions[key] {
                indices.append(position)
            } else {
                positions[key] = firstOffsets.count
                indices.append(firstOffsets.count)
                firstOffsets.append(offset)
            }
        }
        let unique = try x.gatheredElements(firstOffsets, shape: [firstOffsets.count])
        let idx = try Tensor.integers(indices, dtype: indexType).reshaped([indices.count])
        return [unique, idx]
    }
}
