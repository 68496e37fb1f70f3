import NIOCore
import SavedModel
import SwiftProtobuf
import TFProtos
import Tensors

/// Reads the common form of a `tensorflow.serving.PredictRequest` straight from the wire: every input
/// a numeric `TensorProto` whose values are in `tensor_content` (what `tf.make_tensor_proto` and the
/// TF Serving clients send), copied once into the tensor. Anything else — typed `*_val` fields,
/// strings, a repeated field, an unknown field, malformed bytes, a tensor the checks would refuse —
/// makes `init` return nil, and the caller decodes the message with SwiftProtobuf and reports
/// errors as it always does, so both paths accept and refuse exactly the same requests.
struct PredictRequestWire {
    /// The request without its inputs: model spec and output filter.
    var request = Tensorflow_Serving_PredictRequest()
    /// The inputs in name order.
    var inputs: [(name: String, tensor: Tensor)] = []

    init?(_ message: ByteBuffer) {
        let parsed: PredictRequestWire? = message.withUnsafeReadableBytes { bytes in
            var reader = ProtoWireReader(bytes)
            return Self(reading: &reader)
        }
        guard let parsed else { return nil }
        self = parsed
    }

    private init() {}

    private init?(reading reader: inout ProtoWireReader) {
        var sawSpec = false
        while !reader.isAtEnd {
            guard let key = try? reader.nextField(), key.wireType == .lengthDelimited,
                  let value = try? reader.lengthDelimited() else { return nil }
            switch key.number {
            case 1:
                guard !sawSpec, let spec = try? Tensorflow_Serving_ModelSpec(serializedBytes: Array(value)) else { return nil }
                request.modelSpec = spec
                sawSpec = true
            case 2:
                guard let (name, tensor) = Self.input(entry: value), !inputs.contains(where: { $0.name == name }) else { return nil }
                inputs.append((name, tensor))
            case 3:
                guard let name = String(validating: value, as: UTF8.self) else { return nil }
                request.outputFilter.append(name)
            default:
                return nil
            }
        }
        inputs.sort { $0.name < $1.name }
    }

    /// One `inputs` map entry: the name (field 1) and the TensorProto (field 2), each exactly once.
    private static func input(entry: UnsafeRawBufferPointer) -> (String, Tensor)? {
        var reader = ProtoWireReader(entry)
        var name: String?
        var tensor: Tensor?
        while !reader.isAtEnd {
            guard let key = try? reader.nextField(), key.wireType == .lengthDelimited,
                  let value = try? reader.lengthDelimited() else { return nil }
            switch key.number {
            case 1:
                guard name == nil, let text = String(validating: value, as: UTF8.self) else { return nil }
                name = text
            case 2:
                guard tensor == nil, let decoded = Self.tensor(value) else { return nil }
                tensor = decoded
            default:
                return nil
            }
        }
        guard let name, let tensor else { return nil }
        return (name, tensor)
    }

    /// A numeric tensor from dtype (1), shape (2), version number (3) and a non-empty tensor_content (4).
    private static func tensor(_ bytes: UnsafeRawBufferPointer) -> Tensor? {
        var reader = ProtoWireReader(bytes)
        var dtypeValue: UInt64?
        var dims: [Int]?
        var content: UnsafeRawBufferPointer?
        var sawVersion = false
        while !reader.isAtEnd {
            guard let key = try? reader.nextField() else { return nil }
            switch (key.number, key.wireType) {
            case (1, .varint):
                guard dtypeValue == nil, let value = try? reader.varint() else { return nil }
                dtypeValue = value
            case (2, .lengthDelimited):
                guard dims == nil, let value = try? reader.lengthDelimited(), let shape = Self.dims(value) else { return nil }
                dims = shape
            case (3, .varint):
                guard !sawVersion, (try? reader.varint()) != nil else { return nil }
                sawVersion = true
            case (4, .lengthDelimited):
                guard content == nil, let value = try? reader.lengthDelimited() else { return nil }
                content = value
            default:
                return nil
            }
        }
        guard let dtypeValue, dtypeValue <= 200, let dtype = DType(tensorFlowValue: Int(dtypeValue)), dtype.isFixedSize,
              let content, content.count > 0
        else { return nil }
        let shapeDims = dims ?? []
        var count = 1
        for dim in shapeDims {
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow else { return nil }
            count = product
        }
        // Over a cap: the general decoder answers with the refusal.
        guard let byteCount = try? RequestMemory.checkTensorSize(elements: count, elementBytes: dtype.byteSize, what: ""),
              byteCount == content.count else { return nil }
        return Tensor(dtype: dtype, shape: Shape(shapeDims), storage: .buffer(TensorBuffer(copying: content)))
    }

    /// A TensorShapeProto's dimensions (field 2, each a Dim of size 1 and an optional name 2); nil for
    /// unknown rank, a negative size or anything else.
    private static func dims(_ bytes: UnsafeRawBufferPointer) -> [Int]? {
        var reader = ProtoWireReader(bytes)
        var dims: [Int] = []
        while !reader.isAtEnd {
            guard let key = try? reader.nextField(), key.number == 2, key.wireType == .lengthDelimited,
                  let dim = try? reader.lengthDelimited() else {
                return nil
            }
            var dimReader = ProtoWireReader(dim)
            var size: Int64?
            var sawName = false
            while !dimReader.isAtEnd {
                guard let dimKey = try? dimReader.nextField() else { return nil }
                switch (dimKey.number, dimKey.wireType) {
                case (1, .varint):
                    guard size == nil, let value = try? dimReader.varint() else { return nil }
                    size = Int64(bitPattern: value)
                case (2, .lengthDelimited):
                    guard !sawName, let name = try? dimReader.lengthDelimited(), String(validating: name, as: UTF8.self) != nil else {
                        return nil
                    }
                    sawName = true
                default:
                    return nil
                }
            }
            let value = size ?? 0
            guard value >= 0, value <= Int64(Int.max) else { return nil }
            dims.append(Int(value))
        }
        return dims
    }
}
