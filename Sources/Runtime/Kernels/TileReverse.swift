import Tensors

/// Walks every element of `output` in row-major order, calling `body(position, sourceOffset)` where the
/// source offset comes from per-axis source indices given by `sourceIndex(axis, outputIndex)`.
private func mapElements(output: Shape, sourceStrides: [Int], sourceIndex: (Int, Int) -> Int) -> [Int] {
    let total = output.elementCount
    var offsets = [Int](repeating: 0, count: total)
    guard total > 0 else { return offsets }
    var index = [Int](repeating: 0, count: output.rank)
    for position in 0..<total {
        var offset = 0
        for axis in 0..<output.rank { offset += sourceIndex(axis, index[axis]) * sourceStrides[axis] }
        offsets[position] = offset
        var axis = output.rank - 1
        while axis >= 0 {
            index[axis] += 1
            if index[axis] < output.dims[axis] { break }
            index[axis] = 0
            axis -= 1
        }
    }
    return offsets
}

/// Tile: the input repeated `multiples[i]` times along each axis.
struct TileRepeatKernel: Kernel {
    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 2, "Tile")
        let input = inputs[0]
        let multiples = try inputs[1].integerValues()
        guard multiples.count == input.shape.rank, !multiples.contains(where: { $0 < 0 }) else {
            throw .invalidArgument("Tile multiples \(multiples) do not fit an input of shape \(input.shape)")
        }
        var dims: [Int] = []
        for (dim, multiple) in zip(input.shape.dims, multiples) {
            let (product, overflow) = dim.multipliedReportingOverflow(by: multiple)
            guard !overflow else { throw .invalidArgument("Tile output is too large") }
            dims.append(product)
        }
        let output = Shape(dims)
        let count = try output.checkedElementCount()
        guard count <= RequestMemory.maxTensorElements else {
            throw RequestMemory.tooManyElements(count, what: "Tile's output \(output)")
        }
        let source = input.shape.dims
        let offsets = mapElements(output: output, sourceStrides: input.shape.strides) { axis, index in index % source[axis] }
        return [try input.gatheredElements(offsets, shape: output)]
    }
}

/// ReverseV2: the input with the order of elements reversed along the given axes.
struct ReverseAxesKernel: Kernel {
    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 2, "ReverseV2")
        let input = inputs[0]
        var reversed = [Bool](repeating: false, count: input.shape.rank)
        for axis in try inputs[1].integerValues() {
            let normalized = try normalizedAxis(axis, rank: input.shape.rank, op: "ReverseV2")
            guard !reversed[normalized] else { throw .invalidArgument("ReverseV2 axis \(axis) is given twice") }
            reversed[normalized] = true
        }
        guard reversed.contains(true) else { return [input] }
        let dims = input.shape.dims
        let offsets = mapElements(output: input.shape, sourceStrides: input.shape.strides) { axis, index in
            reversed[axis] ? dims[axis] - 1 - index : index
        }
        return [try input.gatheredElements(offsets, shape: input.shape)]
    }
}
