import Tensors

/// A compiled operation: attributes are read once when the kernel is built, inputs arrive per run.
protocol Kernel: Sendable {
    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor]
    /// Whether running the step matters even when nothing reads its outputs (assertions, and control
    /// flow around them); such steps are kept in plans.
    var hasEffects: Bool { get }
    /// Whether the step reads or writes variables whose values change while the model serves (see
    /// `MutableVariable`); such steps never run at load time, even when every input is known.
    var isStateful: Bool { get }
}

extension Kernel {
    var hasEffects: Bool { false }
    var isStateful: Bool { false }
}

/// The largest tensor a kernel may allocate (bytes); larger requests are rejected instead of crashing.
let maximumTensorBytes = 1 << 34

/// Buffers from this size on are charged to a run's `MemoryCharge` (`TensorBuffer` charges them).
private let chargedBufferBytes = 64 << 10

extension Shape {
    /// Element count, rejecting negative dimensions and overflow.
    func checkedElementCount() throws(ServingError) -> Int {
        var count = 1
        for dim in dims {
            guard dim >= 0 else { throw .invalidArgument("shape \(self) has a negative dimension") }
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow else { throw .invalidArgument("shape \(self) has too many elements") }
            count = product
        }
        return count
    }
}

extension Tensor {
    /// A new zero-filled tensor whose buffer the caller fills before sharing it.
    static func allocate(_ dtype: DType, _ shape: Shape) throws(ServingError) -> (Tensor, TensorBuffer) {
        let bytes = try checkedByteCount(dtype, shape)
        let buffer = TensorBuffer(byteCount: bytes)
        if bytes >= chargedBufferBytes { try RequestMemory.activeCharge?.check() }
        return (Tensor(dtype: dtype, shape: shape, storage: .buffer(buffer)), buffer)
    }

    /// A new tensor with undefined contents, for kernels that write every element before sharing it.
    static func allocateUninitialized(_ dtype: DType, _ shape: Shape) throws(ServingError) -> (Tensor, TensorBuffer) {
        let bytes = try checkedByteCount(dtype, shape)
        let buffer = TensorBuffer(uninitializedByteCount: bytes)
        if bytes >= chargedBufferBytes { try RequestMemory.activeCharge?.check() }
        return (Tensor(dtype: dtype, shape: shape, storage: .buffer(buffer)), buffer)
    }

    private static func checkedByteCount(_ dtype: DType, _ shape: Shape) throws(ServingError) -> Int {
        let count = try shape.checkedElementCount()
        return try RequestMemory.checkTensorSize(elements: count, elementBytes: dtype.byteSize, what: "a \(dtype)\(shape) tensor")
    }

    /// The elements as a mutable typed pointer; only valid on a tensor being built.
    func mutableElements<T: TensorScalar>(_ type: T.Type) -> UnsafeMutableBufferPointer<T> {
        guard let buffer else { return UnsafeMutableBufferPointer(start: nil, count: 0) }
        return buffer.typed(T.self, count: elementCount)
    }

    /// Read-only typed elements; the dtype must have been checked by the caller.
    func elements<T: TensorScalar>(_ type: T.Type) -> UnsafeBufferPointer<T> {
        guard let buffer else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(buffer.typed(T.self, count: elementCount))
    }

    /// Integer values of an int32/int64 tensor (shape operands).
    func integerValues() throws(ServingError) -> [Int] {
        switch dtype {
        case .int32: return elements(Int32.self).map { Int($0) }
        case .int64: return elements(Int64.self).map { Int($0) }
        default: throw .invalidArgument("expected an int32 or int64 tensor, got \(dtype)")
        }
    }

    /// The values of a float32 or float64 tensor (also int32 and int64 when `integers`) as doubles, for
    /// kernels that compute in double precision.
    func doubleValues(_ op: String, integers: Bool = false) throws(ServingError) -> [Double] {
        switch dtype {
        case .float32: return elements(Float.self).map { Double($0) }
        case .float64: return Array(elements(Double.self))
        case .int32 where integers: return elements(Int32.self).map { Double($0) }
        case .int64 where integers: return elements(Int64.self).map { Double($0) }
        default: throw .unimplemented("\(op) does not support \(dtype)")
        }
    }

    /// A tensor of `shape` holding `values`, float32 when `dtype` is float32 and float64 otherwise.
    static func floating(_ values: [Double], dtype: DType, shape: Shape) -> Tensor {
        dtype == .float32 ? Tensor(values.map { Float($0) }, shape: shape) : Tensor(values, shape: shape)
    }

    /// An int32 or int64 vector tensor holding `values`.
    static func integers(_ values: [Int], dtype: DType) throws(ServingError) -> Tensor {
        switch dtype {
        case .int32:
            var converted: [Int32] = []
            converted.reserveCapacity(values.count)
            for value in values {
                guard let narrow = Int32(exactly: value) else { throw .invalidArgument("\(value) does not fit in int32") }
                converted.append(narrow)
            }
            return Tensor(converted, shape: [values.count])
        case .int64:
            return Tensor(values.map { Int64($0) }, shape: [values.count])
        default:
            throw .invalidArgument("integer output type must be int32 or int64, got \(dtype)")
        }
    }
}

/// Checks the input count a kernel receives.
@inline(__always)
func expectInputs(_ inputs: [Tensor], _ count: Int, _ op: String) throws(ServingError) {
    guard inputs.count == count else {
        throw .invalidArgument("\(op) expects \(count) inputs, got \(inputs.count)")
    }
}
