/// A dense tensor: dtype, shape and row-major little-endian storage.
///
/// Numeric and bool elements live in a `TensorBuffer`; string elements are byte strings (TensorFlow
/// strings are not necessarily UTF-8); resources and variants carry a runtime object.
public struct Tensor: Sendable {
    public enum Storage: Sendable {
        case buffer(TensorBuffer)
        case strings([[UInt8]])
        case opaque([any Sendable])
    }

    public let dtype: DType
    public let shape: Shape
    public let storage: Storage

    public var elementCount: Int { shape.elementCount }

    /// Wraps existing storage. The caller guarantees the storage matches dtype and shape.
    public init(dtype: DType, shape: Shape, storage: Storage) {
        self.dtype = dtype
        self.shape = shape
        self.storage = storage
    }

    /// A zero-filled (empty-string for strings) tensor.
    public init(zeros dtype: DType, shape: Shape) {
        self.dtype = dtype
        self.shape = shape
        switch dtype {
        case .string:
            storage = .strings(Array(repeating: [], count: shape.elementCount))
        case .resource, .variant:
            storage = .opaque([])
        default:
            storage = .buffer(TensorBuffer(byteCount: shape.elementCount * dtype.byteSize))
        }
    }

    /// A tensor of fixed-size scalars copied from `values`.
    public init<T: TensorScalar>(_ values: [T], shape: Shape) {
        precondition(values.count == shape.elementCount, "value count does not match shape")
        let buffer = values.withUnsafeBytes { TensorBuffer(copying: $0) }
        self.init(dtype: T.dtype, shape: shape, storage: .buffer(buffer))
    }

    /// A string tensor.
    public init(strings: [[UInt8]], shape: Shape) {
        precondition(strings.count == shape.elementCount, "value count does not match shape")
        self.init(dtype: .string, shape: shape, storage: .strings(strings))
    }

    /// A scalar.
    public init<T: TensorScalar>(scalar: T) {
        self.init([scalar], shape: .scalar)
    }

    /// The byte buffer of a fixed-size tensor; nil for strings, resources and variants.
    public var buffer: TensorBuffer? {
        if case .buffer(let buffer) = storage { return buffer }
        return nil
    }

    /// About how many bytes the tensor's storage holds: the buffer, or each string's bytes plus the
    /// array that holds them (32 bytes a string).
    public var storageByteCount: Int {
        switch storage {
        case .buffer(let buffer): return buffer.byteCount
        case .strings(let strings): return strings.reduce(strings.count * 32) { $0 + $1.count }
        default: return 0
        }
    }

    /// The elements of a string tensor; nil otherwise.
    public var strings: [[UInt8]]? {
        if case .strings(let strings) = storage { return strings }
        return nil
    }

    /// Read access to the elements as `T`, which must match the dtype.
    public func withElements<T: TensorScalar, R>(
        as type: T.Type, _ body: (UnsafeBufferPointer<T>) throws -> R
    ) rethrows -> R {
        precondition(T.dtype == dtype, "element type \(T.self) does not match \(dtype)")
        guard let buffer else { return try body(UnsafeBufferPointer(start: nil, count: 0)) }
        return try body(UnsafeBufferPointer(buffer.typed(T.self, count: elementCount)))
    }

    /// The elements copied into an array; `T` must match the dtype.
    public func scalars<T: TensorScalar>(as type: T.Type) -> [T] {
        withElements(as: type) { Array($0) }
    }

    /// The same elements under another shape with the same element count.
    public func reshaped(_ newShape: Shape) -> Tensor {
        precondition(newShape.elementCount == elementCount, "reshape must keep the element count")
        return Tensor(dtype: dtype, shape: newShape, storage: storage)
    }
}

/// Swift types that are the element type of some `DType`.
public protocol TensorScalar: Sendable {
    static var dtype: DType { get }
}

extension Float: TensorScalar { public static var dtype: DType { .float32 } }
extension Double: TensorScalar { public static var dtype: DType { .float64 } }
extension Int32: TensorScalar { public static var dtype: DType { .int32 } }
extension Int64: TensorScalar { public static var dtype: DType { .int64 } }
extension Int16: TensorScalar { public static var dtype: DType { .int16 } }
extension Int8: TensorScalar { public static var dtype: DType { .int8 } }
extension UInt8: TensorScalar { public static var dtype: DType { .uint8 } }
extension UInt16: TensorScalar { public static var dtype: DType { .uint16 } }
extension UInt32: TensorScalar { public static var dtype: DType { .uint32 } }
extension UInt64: TensorScalar { public static var dtype: DType { .uint64 } }
extension Bool: TensorScalar { public static var dtype: DType { .bool } }
