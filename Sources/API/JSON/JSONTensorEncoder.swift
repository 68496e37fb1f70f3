import NIOCore
import Tensors

/// Writes predict results as TF Serving JSON: `{"predictions": ...}` for row requests,
/// `{"outputs": ...}` for columnar ones; a single output drops its name.
enum JSONTensorEncoder {
    static func encodePredictResponse(_ outputs: [String: Tensor], format: PredictFormat) throws(ServingError) -> ByteBuffer {
        let names = outputs.keys.sorted()
        var estimate = 32
        for tensor in outputs.values { estimate += tensor.elementCount * 12 }
        var writer = JSONWriter(capacity: min(estimate, 64 << 20))
        writer.beginObject()
        switch format {
        case .columnar:
            writer.key("outputs")
            if names.count == 1, let tensor = outputs[names[0]] {
                try write(tensor, name: names[0], row: nil, into: &writer)
            } else {
                writer.beginObject()
                for name in names {
                    guard let tensor = outputs[name] else { continue }
                    writer.key(name)
                    try write(tensor, name: name, row: nil, into: &writer)
                }
                writer.endObject()
            }
        case .row:
            let batch = try batchSize(outputs, names: names)
            writer.key("predictions")
            if names.count == 1, let tensor = outputs[names[0]] {
                try write(tensor, name: names[0], row: nil, into: &writer)
            } else {
                let tensors = names.compactMap { name in outputs[name].map { (name, $0) } }
                writer.beginArray()
                for row in 0..<batch {
                    writer.beginObject()
                    for (name, tensor) in tensors {
                        writer.key(name)
                        try write(tensor, name: name, row: row, into: &writer)
                    }
                    writer.endObject()
                }
                writer.endArray()
            }
        }
        writer.endObject()
        return writer.buffer
    }

    /// The shared dimension 0 of all outputs, which row format needs.
    private static func batchSize(_ outputs: [String: Tensor], names: [String]) throws(ServingError) -> Int {
        var batch: Int?
        var firstName = ""
        for name in names {
            guard let tensor = outputs[name] else { continue }
            guard tensor.shape.rank >= 1 else {
                throw .invalidArgument(
                    "output '\(name)' is a scalar, which the row ('instances') format cannot return; use 'inputs' instead")
            }
            if let batch {
                guard tensor.shape[0] == batch else {
                    throw .invalidArgument(
                        "output '\(name)' has batch size \(tensor.shape[0]) but output '\(firstName)' has \(batch); "
                            + "use the columnar ('inputs') format")
                }
            } else {
                batch = tensor.shape[0]
                firstName = name
            }
        }
        return batch ?? 0
    }

    /// The whole tensor (`row` nil) or one row of dimension 0, as nested lists.
    static func write(_ tensor: Tensor, name: String, row: Int?, into writer: inout JSONWriter) throws(ServingError) {
        let count = tensor.elementCount
        var dims = tensor.shape.dims
        var start = 0
        if let row {
            dims.removeFirst()
            start = row * dims.reduce(1, *)
        }
        switch tensor.storage {
        case .strings(let strings):
            guard strings.count >= count else { throw storageMismatch(name, tensor) }
            let alwaysBase64 = name.hasSuffix("_bytes")
            nested(dims, start: start, into: &writer) { writer, index in
                let bytes = strings[index]
                if alwaysBase64 || !isValidUTF8(bytes) {
                    writer.base64Object(bytes)
                } else {
                    writer.string(utf8: bytes)
                }
            }
        case .opaque:
            throw .internal("output '\(name)' has dtype \(tensor.dtype.tensorFlowName), which JSON cannot express")
        case .buffer(let buffer):
            guard buffer.byteCount >= count * tensor.dtype.byteSize else { throw storageMismatch(name, tensor) }
            switch tensor.dtype {
            case .float32:
                let values = buffer.typed(Float.self, count: count)
                nested(dims, start: start, into: &writer) { $0.float(values[$1]) }
            case .float64:
                let values = buffer.typed(Double.self, count: count)
                nested(dims, start: start, into: &writer) { $0.double(values[$1]) }
            case .float16:
                let values = buffer.typed(UInt16.self, count: count)
                nested(dims, start: start, into: &writer) { $0.float(Float(Float16(bitPattern: values[$1]))) }
            case .bfloat16:
                let values = buffer.typed(UInt16.self, count: count)
                nested(dims, start: start, into: &writer) { $0.float(Float(bitPattern: UInt32(values[$1]) << 16)) }
            case .int32:
                let values = buffer.typed(Int32.self, count: count)
                nested(dims, start: start, into: &writer) { $0.int(Int64(values[$1])) }
            case .int64:
                let values = buffer.typed(Int64.self, count: count)
                nested(dims, start: start, into: &writer) { $0.int(values[$1]) }
            case .int16:
                let values = buffer.typed(Int16.self, count: count)
                nested(dims, start: start, into: &writer) { $0.int(Int64(values[$1])) }
            case .int8:
                let values = buffer.typed(Int8.self, count: count)
                nested(dims, start: start, into: &writer) { $0.int(Int64(values[$1])) }
            case .uint8:
                let values = buffer.typed(UInt8.self, count: count)
                nested(dims, start: start, into: &writer) { $0.uint(UInt64(values[$1])) }
            case .uint16:
                let values = buffer.typed(UInt16.self, count: count)
                nested(dims, start: start, into: &writer) { $0.uint(UInt64(values[$1])) }
            case .uint32:
                let values = buffer.typed(UInt32.self, count: count)
                nested(dims, start: start, into: &writer) { $0.uint(UInt64(values[$1])) }
            case .uint64:
                let values = buffer.typed(UInt64.self, count: count)
                nested(dims, start: start, into: &writer) { $0.uint(values[$1]) }
            case .bool:
                let values = buffer.typed(UInt8.self, count: count)
                nested(dims, start: start, into: &writer) { $0.bool(values[$1] != 0) }
            case .string, .complex64, .resource, .variant:
                throw .internal("output '\(name)' has dtype \(tensor.dtype.tensorFlowName), which JSON cannot express")
            }
        }
    }

    private static func storageMismatch(_ name: String, _ tensor: Tensor) -> ServingError {
        .internal("output '\(name)' (\(tensor.dtype.tensorFlowName)\(tensor.shape)) has less storage than its shape needs")
    }

    /// Elements `start...` laid out as nested lists of `dims` (a bare element when `dims` is empty).
    private static func nested(
        _ dims: [Int], start: Int, into writer: inout JSONWriter, element: (inout JSONWriter, Int) -> Void
    ) {
        var index = start
        nestedLevel(0, dims, &index, &writer, element)
    }

    private static func nestedLevel(
        _ axis: Int, _ dims: [Int], _ index: inout Int, _ writer: inout JSONWriter,
        _ element: (inout JSONWriter, Int) -> Void
    ) {
        if axis == dims.count {
            element(&writer, index)
            index += 1
            return
        }
        writer.beginArray()
        if axis == dims.count - 1 {
            for _ in 0..<dims[axis] {
                element(&writer, index)
                index += 1
            }
        } else {
            for _ in 0..<dims[axis] { nestedLevel(axis + 1, dims, &index, &writer, element) }
        }
        writer.endArray()
    }

    static func isValidUTF8(_ bytes: [UInt8]) -> Bool {
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }
}
