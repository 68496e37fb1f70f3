import Tensors

/// Writes `TensorProto` messages straight from tensors: dtype, shape, and the raw little-endian bytes
/// in `tensor_content` (fixed-size dtypes) or one `string_val` per element; resource and variant
/// tensors carry only dtype and shape. The fields are those `Tensorflow_TensorProto(tensor)` sets, in
/// field order, without building the message or copying the data into it first.
enum TensorProtoWire {
    static func size(of tensor: Tensor) -> Int {
        var size = 0
        if tensor.dtype.rawValue != 0 { size += ProtobufWireSize.varintField(1, UInt64(tensor.dtype.rawValue)) }
        size += ProtobufWireSize.lengthDelimited(2, length: shapeSize(tensor.shape))
        switch tensor.storage {
        case .buffer:
            let count = contentByteCount(tensor)
            if count > 0 { size += ProtobufWireSize.lengthDelimited(4, length: count) }
        case .strings(let strings):
            for string in strings { size += ProtobufWireSize.lengthDelimited(8, length: string.count) }
        case .opaque:
            break
        }
        return size
    }

    static func write(_ tensor: Tensor, into writer: inout ProtobufWireWriter) {
        if tensor.dtype.rawValue != 0 { writer.varintField(1, UInt64(tensor.dtype.rawValue)) }
        writer.lengthDelimited(2, length: shapeSize(tensor.shape))
        for dim in tensor.shape.dims {
            writer.lengthDelimited(2, length: dimSize(dim))
            if dim != 0 { writer.varintField(1, UInt64(bitPattern: Int64(dim))) }
        }
        switch tensor.storage {
        case .buffer(let buffer):
            let count = contentByteCount(tensor)
            if count > 0 { writer.bytesField(4, UnsafeRawBufferPointer(start: buffer.baseAddress, count: count)) }
        case .strings(let strings):
            for string in strings { writer.bytesField(8, string) }
        case .opaque:
            break
        }
    }

    private static func contentByteCount(_ tensor: Tensor) -> Int {
        guard let buffer = tensor.buffer else { return 0 }
        return min(buffer.byteCount, tensor.elementCount * tensor.dtype.byteSize)
    }

    private static func dimSize(_ dim: Int) -> Int {
        dim == 0 ? 0 : ProtobufWireSize.varintField(1, UInt64(bitPattern: Int64(dim)))
    }

    private static func shapeSize(_ shape: Shape) -> Int {
        shape.dims.reduce(0) { $0 + ProtobufWireSize.lengthDelimited(2, length: dimSize($1)) }
    }
}

/// Writes a `tensorflow.serving.PredictResponse`: the outputs map (entries in key order) and the
/// model spec of the version that answered.
enum PredictResponseWire {
    static func encode(
        outputs: [(name: String, tensor: Tensor)], modelName: String, version: Int64, signatureName: String
    ) -> [UInt8] {
        let sorted = outputs.sorted { $0.name < $1.name }
        var sizes: [(entry: Int, tensor: Int)] = []
        sizes.reserveCapacity(sorted.count)
        var total = 0
        for output in sorted {
            let tensor = TensorProtoWire.size(of: output.tensor)
            let entry = ProtobufWireSize.lengthDelimited(1, length: output.name.utf8.count)
                + ProtobufWireSize.lengthDelimited(2, length: tensor)
            sizes.append((entry, tensor))
            total += ProtobufWireSize.lengthDelimited(1, length: entry)
        }
        let versionSize = version == 0 ? 0 : ProtobufWireSize.varintField(1, UInt64(bitPattern: version))
        var specSize = ProtobufWireSize.lengthDelimited(2, length: versionSize)
        if !modelName.isEmpty { specSize += ProtobufWireSize.lengthDelimited(1, length: modelName.utf8.count) }
        if !signatureName.isEmpty { specSize += ProtobufWireSize.lengthDelimited(3, length: signatureName.utf8.count) }
        total += ProtobufWireSize.lengthDelimited(2, length: specSize)

        var writer = ProtobufWireWriter(capacity: total)
        for (output, size) in zip(sorted, sizes) {
            writer.lengthDelimited(1, length: size.entry)
            writer.stringField(1, output.name)
            writer.lengthDelimited(2, length: size.tensor)
            TensorProtoWire.write(output.tensor, into: &writer)
        }
        writer.lengthDelimited(2, length: specSize)
        if !modelName.isEmpty { writer.stringField(1, modelName) }
        writer.lengthDelimited(2, length: versionSize)
        if version != 0 { writer.varintField(1, UInt64(bitPattern: version)) }
        if !signatureName.isEmpty { writer.stringField(3, signatureName) }
        return writer.bytes
    }
}
