import Tensors

/// Copies `count` elements of fixed size between raw buffers.
@inline(__always)
func copyElements(from source: Tensor, at sourceOffset: Int, to destination: TensorBuffer, at destinationOffset: Int,
                  count: Int, byteSize: Int) {
    guard count > 0, let buffer = source.buffer else { return }
    (destination.baseAddress + destinationOffset * byteSize)
        .copyMemory(from: buffer.baseAddress + sourceOffset * byteSize, byteCount: count * byteSize)
}

/// Normalises an axis in `[-rank, rank)`.
func normalizedAxis(_ axis: Int, rank: Int, op: String) throws(ServingError) -> Int {
    let normalized = axis < 0 ? axis + rank : axis
    guard normalized >= 0, normalized < rank else {
        throw .invalidArgument("\(op) axis \(axis) is out of range for rank \(rank)")
    }
    return normalized
}

/// ConcatV2: joins N tensors along an axis given as the last input.
struct ConcatKernel: Kernel {
    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        guard inputs.count >= 2 else { throw .invalidArgument("ConcatV2 needs at least one value and an axis") }
        let values = inputs.dropLast()
        guard let axisValue = try inputs[inputs.count - 1].integerValues().first, inputs[inputs.count - 1].elementCount == 1 else {
            throw .invalidArgument("ConcatV2 axis must be a scalar")
        }
        let first = values[values.startIndex]
        guard first.dtype.isFixedSize else { throw .unimplemented("ConcatV2 does not support \(first.dtype)") }
        let rank = first.shape.rank
        let axis = try normalizedAxis(axisValue, rank: rank, op: "ConcatV2")
        var dims = first.shape.dims
        dims[axis] = 0
        for value in values {
            guard value.dtype == first.dtype, value.shape.rank == rank else {
                throw .invalidArgument("ConcatV2 inputs differ: \(first.dtype)\(first.shape) and \(value.dtype)\(value.shape)")
            }
            for d in 0..<rank where d != axis && value.shape[d] != first.shape[d] {
                throw .invalidArgument("ConcatV2 inputs differ outside axis \(axis): \(first.shape) and \(value.shape)")
            }
            dims[axis] += value.shape[axis]
        }
        let (result, buffer) = try Tensor.allocate(first.dtype, Shape(dims))
        let outer = dims[..<axis].reduce(1, *)
        let inner = dims[(axis + 1)...].reduce(1, *)
        var offset = 0
        for o in 0..<outer {
            for value in values {
                let chunk = value.shape[axis] * inner
                copyElements(from: value, at: o * chunk, to: buffer, at: offset, count: chunk, byteSize: first.dtype.byteSize)
                offset += chunk
            }
        }
        return [result]
    }
}

/// Pack: stacks N same-shaped tensors along a new axis.
struct PackKernel: Kernel {
    let axis: Int

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        guard let first = inputs.first else { throw .invalidArgument("Pack needs at least one input") }
        guard first.dtype.isFixedSize else { throw .unimplemented("Pack does not support \(first.dtype)") }
        for value in inputs where value.dtype != first.dtype || value.shape != first.shape {
            throw .invalidArgument("Pack inputs differ: \(first.dtype)\(first.shape) and \(value.dtype)\(value.shape)")
        }
        let axis = try normalizedAxis(self.axis, rank: first.shape.rank + 1, op: "Pack")
        var dims = first.shape.dims
        dims.insert(inputs.count, at: axis)
        let (result, buffer) = try Tensor.allocate(first.dtype, Shape(dims))
        let outer = first.shape.dims[..<axis].reduce(1, *)
        let chunk = first.shape.dims[axis...].reduce(1, *)
        var offset = 0
        for o in 0..<outer {
            for value in inputs {
                copyElements(from: value, at: o * chunk, to: buffer, at: offset, count: chunk, byteSize: first.dtype.byteSize)
                offset += chunk
            }
        }
        return [result]
    }
}

/// Transpose: permutes dimensions.
struct TransposeKernel: Kernel {
    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 2, "Transpose")
        let x = inputs[0]
        let permutation = try inputs[1].integerValues()
        let rank = x.shape.rank
        guard permutation.count == rank, Set(permutation) == Set(0..<rank) else {
            throw .invalidArgument("Transpose permutation \(permutation) does not fit \(x.shape)")
        }
        guard x.dtype.isFixedSize else { throw .unimplemented("Transpose does not support \(x.dtype)") }
        let dims = permutation.map { x.shape[$0] }
        let (result, buffer) = try Tensor.allocate(x.dtype, Shape(dims))
        if permutation == Array(0..<rank) || result.elementCount == 0 {
            copyElements(from: x, at: 0, to: buffer, at: 0, count: x.elementCount, byteSize: x.dtype.byteSize)
            return [result]
        }
        let sourceStrides = x.shape.strides
        let strides = permutation.map { sourceStrides[$0] }
        if permutation.last == rank - 1 {
            copyRows(x, buffer, dims, strides)
            return [result]
        }
        switch x.dtype.byteSize {
        case 1: permute(x, buffer, dims, strides, UInt8.self)
        case 2: permute(x, buffer, dims, strides, UInt16.self)
        case 4: permute(x, buffer, dims, strides, UInt32.self)
        default: permute(x, buffer, dims, strides, UInt64.self)
        }
        return [result]
    }

    /// A permutation that keeps the last axis in place moves whole rows of it.
    private func copyRows(_ x: Tensor, _ buffer: TensorBuffer, _ dims: [Int], _ strides: [Int]) {
        guard let source = x.buffer, let rowLength = dims.last else { return }
        let byteSize = x.dtype.byteSize, rowBytes = rowLength * byteSize
        forEachSourceOffset(Array(dims.dropLast()), Array(strides.dropLast())) { row, offset in
            (buffer.baseAddress + row * rowBytes).copyMemory(from: source.baseAddress + offset * byteSize, byteCount: rowBytes)
        }
    }

    private func permute<T>(_ x: Tensor, _ buffer: TensorBuffer, _ dims: [Int], _ strides: [Int], _: T.Type) {
        guard let source = x.buffer else { return }
        let input = source.baseAddress.assumingMemoryBound(to: T.self)
        let output = buffer.baseAddress.assumingMemoryBound(to: T.self)
        forEachSourceOffset(dims, strides) { position, offset in output[position] = input[offset] }
    }

    /// Calls `body(position, offset)` for every position of `dims` in row-major order, with the source
    /// offset that moves by `strides[axis]` along each axis.
    @inline(__always)
    private func forEachSourceOffset(_ dims: [Int], _ strides: [Int], _ body: (Int, Int) -> Void) {
        let rank = dims.count
        let total = dims.reduce(1, *)
        var index = [Int](repeating: 0, count: rank)
        var sourceOffset = 0
        for position in 0..<total {
            body(position, sourceOffset)
            var axis = rank - 1
            while axis >= 0 {
                index[axis] += 1
                sourceOffset += strides[axis]
                if index[axis] < dims[axis] { break }
                sourceOffset -= strides[axis] * index[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }
}
