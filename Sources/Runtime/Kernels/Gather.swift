import Tensors

/// GatherV2: rows of `params` along `axis` picked by `indices`, with leading `batch_dims` shared.
/// Indices out of range fail the request, as in TensorFlow on CPU.
struct GatherKernel: Kernel {
    let batchDims: Int

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 3, "GatherV2")
        let params = inputs[0], indices = inputs[1]
        guard inputs[2].elementCount == 1, let axisValue = try inputs[2].integerValues().first else {
            throw .invalidArgument("GatherV2 axis must be a scalar, got \(inputs[2].shape)")
        }
        let indexRank = indices.shape.rank
        var batch = batchDims
        if batch < 0 { batch += indexRank }
        guard batch >= 0, batch <= indexRank else {
            throw .invalidArgument("GatherV2 batch_dims \(batchDims) is out of range for indices of rank \(indexRank)")
        }
        guard params.shape.rank > 0 else { throw .invalidArgument("GatherV2 params must have rank ≥ 1") }
        let axis = try normalizedAxis(axisValue, rank: params.shape.rank, op: "GatherV2")
        guard batch <= axis else {
            throw .invalidArgument("GatherV2 batch_dims \(batch) must not exceed axis \(axis)")
        }
        for d in 0..<batch where params.shape[d] != indices.shape[d] {
            throw .invalidArgument("GatherV2 params \(params.shape) and indices \(indices.shape) differ in batch dimension \(d)")
        }
        let indexValues = try indices.integerValues()
        let dims = params.shape.dims
        let batchCount = dims[..<batch].reduce(1, *)
        let outer = dims[batch..<axis].reduce(1, *)
        let limit = dims[axis]
        let inner = dims[(axis + 1)...].reduce(1, *)
        let perBatch = indices.shape.dims[batch...].reduce(1, *)
        let outputShape = Shape(Array(dims[..<axis]) + Array(indices.shape.dims[batch...]) + Array(dims[(axis + 1)...]))
        for index in indexValues where index < 0 || index >= limit {
            throw .invalidArgument("GatherV2 index \(index) is not in [0, \(limit))")
        }
        if params.dtype == .string {
            guard let source = params.strings else { throw .internal("GatherV2 string params without strings") }
            var output: [[UInt8]] = []
            output.reserveCapacity(try outputShape.checkedElementCount())
            for b in 0..<batchCount {
                for o in 0..<outer {
                    for i in 0..<perBatch {
                        let base = ((b * outer + o) * limit + indexValues[b * perBatch + i]) * inner
                        output.append(contentsOf: source[base..<(base + inner)])
                    }
                }
            }
            return [Tensor(strings: output, shape: outputShape)]
        }
        guard params.dtype.isFixedSize else { throw .unimplemented("GatherV2 does not support \(params.dtype)") }
        let (result, buffer) = try Tensor.allocateUninitialized(params.dtype, outputShape)
        let byteSize = params.dtype.byteSize
        var offset = 0
        for b in 0..<batchCount {
            for o in 0..<outer {
                let rowBase = (b * outer + o) * limit
                for i in 0..<perBatch {
                    let source = (rowBase + indexValues[b * perBatch + i]) * inner
                    copyElements(from: params, at: source, to: buffer, at: offset, count: inner, byteSize: byteSize)
                    offset += inner
                }
            }
        }
        return [result]
    }
}
