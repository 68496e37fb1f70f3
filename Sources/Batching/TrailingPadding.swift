import Tensors

/// `pad_variable_length_inputs`: tensors of one rank padded along every dimension but the first to the
/// largest size among them, each with its own first element (as TF Serving pads).
enum TrailingPadding {
    static func padded(_ parts: [Tensor]) throws(ServingError) -> [Tensor] {
        guard let first = parts.first, first.shape.rank >= 2 else { return parts }
        var target = first.shape.dims
        for part in parts {
            guard part.shape.rank == target.count, part.dtype == first.dtype else {
                throw .invalidArgument("cannot pad \(part.dtype)\(part.shape) to batch with \(first.dtype)\(first.shape)")
            }
            for axis in 1..<target.count { target[axis] = max(target[axis], part.shape[axis]) }
        }
        return try parts.map { part throws(ServingError) in try pad(part, trailing: Array(target.dropFirst())) }
    }

    private static func pad(_ tensor: Tensor, trailing: [Int]) throws(ServingError) -> Tensor {
        let dims = tensor.shape.dims
        guard Array(dims.dropFirst()) != trailing else { return tensor }
        guard tensor.elementCount > 0 else {
            throw .invalidArgument("cannot pad an empty \(tensor.dtype)\(tensor.shape) input: it has no first element to pad with")
        }
        let shape = Shape([dims[0]] + trailing)
        let sourceStrides = tensor.shape.strides, targetStrides = shape.strides
        // Target offset of each source element.
        var offsets = [Int](repeating: 0, count: tensor.elementCount)
        for index in 0..<tensor.elementCount {
            var rest = index, offset = 0
            for axis in 0..<dims.count {
                offset += (rest / sourceStrides[axis]) * targetStrides[axis]
                rest %= sourceStrides[axis]
            }
            offsets[index] = offset
        }
        switch tensor.storage {
        case .strings(let strings):
            var padded = [[UInt8]](repeating: strings[0], count: shape.elementCount)
            for (index, offset) in offsets.enumerated() { padded[offset] = strings[index] }
            return Tensor(strings: padded, shape: shape)
        case .opaque:
            throw .invalidArgument("cannot pad \(tensor.dtype) tensors")
        case .buffer(let source):
            let size = tensor.dtype.byteSize
            let result = TensorBuffer(byteCount: shape.elementCount * size)
            for slot in 0..<shape.elementCount {
                (result.baseAddress + slot * size).copyMemory(from: source.baseAddress, byteCount: size)
            }
            for (index, offset) in offsets.enumerated() {
                (result.baseAddress + offset * size).copyMemory(from: source.baseAddress + index * size, byteCount: size)
            }
            return Tensor(dtype: tensor.dtype, shape: shape, storage: .buffer(result))
        }
    }
}
