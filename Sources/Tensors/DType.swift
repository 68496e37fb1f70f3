/// Element type of a tensor. Raw values are TensorFlow's `DataType` enum numbers, so protobuf
/// fields convert with `DType(rawValue:)`.
public enum DType: Int, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case float32 = 1
    case float64 = 2
    case int32 = 3
    case uint8 = 4
    case int16 = 5
    case int8 = 6
    case string = 7
    case int64 = 9
    case bool = 10
    case bfloat16 = 14
    case uint16 = 17
    case float16 = 19
    case uint32 = 22
    case uint64 = 23
    /// Pairs of float32 (real part, then imaginary part); what RFFT gives, which Real and Imag read.
    case complex64 = 8
    /// A resource handle (variables, hash tables); only meaningful inside the runtime.
    case resource = 20
    /// A TensorFlow variant (TensorList and friends); only meaningful inside the runtime.
    case variant = 21

    /// Bytes per element for fixed-size types; 0 for string, resource and variant.
    public var byteSize: Int {
        switch self {
        case .float32, .int32, .uint32: 4
        case .float64, .int64, .uint64, .complex64: 8
        case .int16, .uint16, .float16, .bfloat16: 2
        case .int8, .uint8, .bool: 1
        case .string, .resource, .variant: 0
        }
    }

    /// Whether elements live in the raw byte buffer (everything but strings, resources and variants).
    public var isFixedSize: Bool { byteSize > 0 }

    /// TensorFlow's spelling (`DT_FLOAT`, `DT_INT64`, ...), used in metadata and error messages.
    public var tensorFlowName: String {
        switch self {
        case .float32: "DT_FLOAT"
        case .float64: "DT_DOUBLE"
        case .int32: "DT_INT32"
        case .uint8: "DT_UINT8"
        case .int16: "DT_INT16"
        case .int8: "DT_INT8"
        case .string: "DT_STRING"
        case .int64: "DT_INT64"
        case .bool: "DT_BOOL"
        case .bfloat16: "DT_BFLOAT16"
        case .uint16: "DT_UINT16"
        case .float16: "DT_HALF"
        case .uint32: "DT_UINT32"
        case .uint64: "DT_UINT64"
        case .complex64: "DT_COMPLEX64"
        case .resource: "DT_RESOURCE"
        case .variant: "DT_VARIANT"
        }
    }

    /// KServe v2 datatype name (`FP32`, `INT64`, `BYTES`, ...); nil for runtime-only types.
    public var kserveName: String? {
        switch self {
        case .float32: "FP32"
        case .float64: "FP64"
        case .int32: "INT32"
        case .uint8: "UINT8"
        case .int16: "INT16"
        case .int8: "INT8"
        case .string: "BYTES"
        case .int64: "INT64"
        case .bool: "BOOL"
        case .bfloat16: "BF16"
        case .uint16: "UINT16"
        case .float16: "FP16"
        case .uint32: "UINT32"
        case .uint64: "UINT64"
        case .complex64, .resource, .variant: nil
        }
    }

    public var description: String { tensorFlowName }

    /// TensorFlow's `DataType` number, mapping reference types (`DT_FLOAT_REF` = 101, ...) to their base.
    public init?(tensorFlowValue: Int) {
        self.init(rawValue: tensorFlowValue > 100 ? tensorFlowValue - 100 : tensorFlowValue)
    }
}
