import Foundation
import TFProtos
import Tensors

extension Tensor {
    /// Refuses a request's TensorProto whose shape has more than `elementLimit` elements
    /// (`--max_tensor_elements` by default) or whose values would hold more than `--max_tensor_bytes`,
    /// before anything is expanded: a shape with no values becomes zeros.
    public static func checkRequestSize(
        of proto: Tensorflow_TensorProto, elementLimit: Int = RequestMemory.maxTensorElements
    ) throws(ServingError) {
        let dims = proto.tensorShape.dim.lazy.map(\.size)
        let what = { "a \(proto.tensorShape.dim.map(\.size)) tensor" }
        try RequestMemory.checkElementCount(dims, limit: elementLimit, what: what())
        guard let dtype = DType(tensorFlowValue: proto.dtype.rawValue), dtype.isFixedSize else { return }
        let elements = dims.reduce(1) { $1 >= 0 ? $0 * Int($1) : $0 }
        _ = try RequestMemory.checkByteCount(
            elements: elements, elementBytes: dtype.byteSize, what: "a \(dtype)\(proto.tensorShape.dim.map(\.size)) tensor")
    }

    /// Decodes a `TensorProto`: values come from `tensor_content` (raw little-endian bytes) or from
    /// the typed `*_val` field of the dtype, where the last value repeats to fill the shape and no
    /// values at all means zeros. float16 and bfloat16 values are 16-bit patterns in `half_val`;
    /// complex64 values are (real, imaginary) pairs in `scomplex_val`.
    public init(proto: Tensorflow_TensorProto) throws(ServingError) {
        guard let dtype = DType(tensorFlowValue: proto.dtype.rawValue) else {
            throw .unimplemented("TensorProto dtype \(proto.dtype) is not supported")
        }
        guard dtype != .resource, dtype != .variant else {
            throw .unimplemented("TensorProto of dtype \(dtype) cannot be decoded")
        }
        guard !proto.tensorShape.unknownRank else {
            throw .invalidArgument("TensorProto shape has unknown rank; a tensor needs a fully known shape")
        }
        let shape = Shape(proto.tensorShape.dim.map { Int($0.size) })
        guard let count = shape.checkedElementCount else {
            throw .invalidArgument("TensorProto shape \(shape) is not a valid tensor shape")
        }

        if dtype == .string {
            let values = proto.stringVal
            guard values.count <= count else {
                throw Self.tooManyValues(values.count, dtype: dtype, shape: shape)
            }
            guard values.count == count || count <= Self.maximumExpandedByteCount / MemoryLayout<[UInt8]>.stride else {
                throw Self.tooLargeToExpand(dtype: dtype, shape: shape)
            }
            var strings: [[UInt8]] = []
            strings.reserveCapacity(count)
            for value in values { strings.append([UInt8](value)) }
            let fill = strings.last ?? []
            while strings.count < count { strings.append(fill) }
            self.init(strings: strings, shape: shape)
            return
        }

        guard let byteCount = shape.checkedByteCount(of: dtype) else {
            throw .invalidArgument("TensorProto shape \(shape) is too large for \(dtype)")
        }
        if !proto.tensorContent.isEmpty {
            let content = proto.tensorContent
            guard content.count == byteCount else {
                throw .invalidArgument(
                    "TensorProto tensor_content holds \(content.count) bytes, but \(dtype)\(shape) needs \(byteCount)")
            }
            let buffer = content.withUnsafeBytes { TensorBuffer(copying: $0) }
            self.init(dtype: dtype, shape: shape, storage: .buffer(buffer))
            return
        }

        guard byteCount <= Self.maximumExpandedByteCount else {
            throw Self.tooLargeToExpand(dtype: dtype, shape: shape)
        }
        let buffer: TensorBuffer
        switch dtype {
        case .float32: buffer = try Self.fill(proto.floatVal, count: count, dtype: dtype, shape: shape) { $0 }
        case .float64: buffer = try Self.fill(proto.doubleVal, count: count, dtype: dtype, shape: shape) { $0 }
        case .int32: buffer = try Self.fill(proto.intVal, count: count, dtype: dtype, shape: shape) { $0 }
        case .int16: buffer = try Self.fill(proto.intVal, count: count, dtype: dtype, shape: shape) { Int16(truncatingIfNeeded: $0) }
        case .int8: buffer = try Self.fill(proto.intVal, count: count, dtype: dtype, shape: shape) { Int8(truncatingIfNeeded: $0) }
        case .uint16: buffer = try Self.fill(proto.intVal, count: count, dtype: dtype, shape: shape) { UInt16(truncatingIfNeeded: $0) }
        case .uint8: buffer = try Self.fill(proto.intVal, count: count, dtype: dtype, shape: shape) { UInt8(truncatingIfNeeded: $0) }
        case .int64: buffer = try Self.fill(proto.int64Val, count: count, dtype: dtype, shape: shape) { $0 }
        case .uint32: buffer = try Self.fill(proto.uint32Val, count: count, dtype: dtype, shape: shape) { $0 }
        case .uint64: buffer = try Self.fill(proto.uint64Val, count: count, dtype: dtype, shape: shape) { $0 }
        case .bool: buffer = try Self.fill(proto.boolVal, count: count, dtype: dtype, shape: shape) { $0 }
        case .float16, .bfloat16:
            buffer = try Self.fill(proto.halfVal, count: count, dtype: dtype, shape: shape) { UInt16(truncatingIfNeeded: $0) }
        case .complex64:
            let parts = proto.scomplexVal
            guard parts.count % 2 == 0 else {
                throw .invalidArgument("TensorProto scomplex_val holds \(parts.count) floats, not (real, imaginary) pairs")
            }
            let pairs = stride(from: 0, to: parts.count, by: 2).map { SIMD2(parts[$0], parts[$0 + 1]) }
            buffer = try Self.fill(pairs, count: count, dtype: dtype, shape: shape) { $0 }
        case .string, .resource, .variant:
            throw .unimplemented("TensorProto of dtype \(dtype) cannot be decoded")
        }
        self.init(dtype: dtype, shape: shape, storage: .buffer(buffer))
    }

    /// A buffer of `count` elements converted from `values`, repeating the last one; zeros if empty.
    private static func fill<Source, Element>(
        _ values: [Source], count: Int, dtype: DType, shape: Shape, _ convert: (Source) -> Element
    ) throws(ServingError) -> TensorBuffer {
        guard values.count <= count else { throw tooManyValues(values.count, dtype: dtype, shape: shape) }
        let buffer = TensorBuffer(byteCount: count * MemoryLayout<Element>.stride)
        guard let last = values.last else { return buffer }
        let elements = buffer.typed(Element.self, count: count)
        for index in values.indices { elements[index] = convert(values[index]) }
        let fill = convert(last)
        for index in values.count..<count { elements[index] = fill }
        return buffer
    }

    /// The largest tensor built by repeating values of a typed field (TensorProtos cannot exceed 2 GiB
    /// when serialized, so no legitimate one expands beyond this).
    static let maximumExpandedByteCount = 1 << 31

    private static func tooLargeToExpand(dtype: DType, shape: Shape) -> ServingError {
        .invalidArgument(
            "TensorProto of \(dtype)\(shape) is too large to build from its typed values (limit \(maximumExpandedByteCount) bytes)")
    }

    private static func tooManyValues(_ given: Int, dtype: DType, shape: Shape) -> ServingError {
        .invalidArgument("TensorProto holds \(given) values, more than the \(shape.elementCount) elements of \(dtype)\(shape)")
    }
}
