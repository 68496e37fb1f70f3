import Tensors

/// Collects the elements of one input tensor as they are read, already converted to the
/// signature's dtype and laid out little-endian, row-major.
struct TensorAccumulator {
    let name: String
    let dtype: DType
    private let raw = ElementBytes()
    private(set) var strings: [[UInt8]] = []
    private(set) var count = 0

    init(name: String, dtype: DType) throws(ServingError) {
        guard dtype.isFixedSize || dtype == .string else {
            throw .invalidArgument("input '\(name)' has dtype \(dtype.tensorFlowName), which JSON cannot express")
        }
        self.name = name
        self.dtype = dtype
    }

    @inline(__always)
    private mutating func appendRaw<T>(_ value: T) {
        raw.append(value)
        count += 1
    }

    /// Appends a float32 element; only for an accumulator of float32.
    @inline(__always)
    mutating func appendFloat32(_ value: Float) {
        appendRaw(value)
    }

    private func mismatch(_ got: String) -> ServingError {
        .invalidArgument("input '\(name)' expects \(dtype.tensorFlowName) values, got \(got)")
    }

    mutating func appendString(_ bytes: [UInt8]) throws(ServingError) {
        guard dtype == .string else { throw mismatch("a string") }
        strings.append(bytes)
        count += 1
    }

    mutating func appendBool(_ value: Bool) throws(ServingError) {
        guard dtype == .bool else { throw mismatch("a bool") }
        appendRaw(value ? UInt8(1) : UInt8(0))
    }

    /// A non-finite value: only floating-point inputs accept it.
    mutating func appendNonFinite(_ value: Double, text: String) throws(ServingError) {
        switch dtype {
        case .float32: appendRaw(Float(value))
        case .float64: appendRaw(value)
        case .float16: appendRaw(Self.half(Float(value)))
        case .bfloat16: appendRaw(Self.bfloat16(Float(value)))
        default: throw mismatch(text)
        }
    }

    mutating func appendNumber(_ number: JSONNumber, scanner: JSONScanner) throws(ServingError) {
        switch dtype {
        case .float32: appendRaw(scanner.floatValue(number))
        case .float64: appendRaw(scanner.doubleValue(number))
        case .float16: appendRaw(Self.half(scanner.floatValue(number)))
        case .bfloat16: appendRaw(Self.bfloat16(scanner.floatValue(number)))
        case .int32: appendRaw(Int32(truncatingIfNeeded: try integer(number, scanner, min: Int64(Int32.min), max: UInt64(Int32.max))))
        case .int64: appendRaw(try integer(number, scanner, min: Int64.min, max: UInt64(Int64.max)))
        case .int16: appendRaw(Int16(truncatingIfNeeded: try integer(number, scanner, min: Int64(Int16.min), max: UInt64(Int16.max))))
        case .int8: appendRaw(Int8(truncatingIfNeeded: try integer(number, scanner, min: Int64(Int8.min), max: UInt64(Int8.max))))
        case .uint8: appendRaw(UInt8(truncatingIfNeeded: try unsigned(number, scanner, max: UInt64(UInt8.max))))
        case .uint16: appendRaw(UInt16(truncatingIfNeeded: try unsigned(number, scanner, max: UInt64(UInt16.max))))
        case .uint32: appendRaw(UInt32(truncatingIfNeeded: try unsigned(number, scanner, max: UInt64(UInt32.max))))
        case .uint64: appendRaw(try unsigned(number, scanner, max: UInt64.max))
        case .bool: throw mismatch("a number")
        case .string: throw mismatch("a number")
        case .complex64, .resource, .variant: throw mismatch("a number")
        }
    }

    private func outOfRange(_ number: JSONNumber, _ scanner: JSONScanner) -> ServingError {
        .invalidArgument(
            "input '\(name)' value \(scanner.text(number.start..<number.end)) is out of range for \(dtype.tensorFlowName)")
    }

    private func integer(_ number: JSONNumber, _ scanner: JSONScanner, min: Int64, max: UInt64) throws(ServingError) -> Int64 {
        switch scanner.integerValue(number) {
        case .fractional:
            throw mismatch("the fractional number \(scanner.text(number.start..<number.end))")
        case .tooLarge:
            throw outOfRange(number, scanner)
        case .integral(let isNegative, let magnitude):
            if isNegative {
                guard magnitude <= min.magnitude else { throw outOfRange(number, scanner) }
                return magnitude == min.magnitude ? min : -Int64(magnitude)
            }
            guard magnitude <= max else { throw outOfRange(number, scanner) }
            return Int64(magnitude)
        }
    }

    private func unsigned(_ number: JSONNumber, _ scanner: JSONScanner, max: UInt64) throws(ServingError) -> UInt64 {
        switch scanner.integerValue(number) {
        case .fractional:
            throw mismatch("the fractional number \(scanner.text(number.start..<number.end))")
        case .tooLarge:
            throw outOfRange(number, scanner)
        case .integral(let isNegative, let magnitude):
            guard !isNegative || magnitude == 0, magnitude <= max else { throw outOfRange(number, scanner) }
            return magnitude
        }
    }

    static func half(_ value: Float) -> UInt16 {
        Float16(value).bitPattern
    }

    /// Round-to-nearest-even truncation of a float to its upper 16 bits.
    static func bfloat16(_ value: Float) -> UInt16 {
        if value.isNaN { return 0x7FC0 }
        let bits = value.bitPattern
        let rounding = 0x7FFF + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ rounding) >> 16)
    }

    /// The finished tensor with `shape`, whose element count must equal `count`.
    func makeTensor(shape: Shape) -> Tensor {
        if dtype == .string {
            return Tensor(dtype: .string, shape: shape, storage: .strings(strings))
        }
        let buffer = TensorBuffer(copying: raw.bytes)
        return Tensor(dtype: dtype, shape: shape, storage: .buffer(buffer))
    }
}

/// Growable little-endian element storage; one per accumulator, never shared.
final class ElementBytes {
    private var base: UnsafeMutableRawPointer
    private var capacity: Int
    private var used = 0

    init() {
        capacity = 256
        base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit { base.deallocate() }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: used) }

    @inline(__always)
    func append<T>(_ value: T) {
        let size = MemoryLayout<T>.size
        if used + size > capacity { grow(to: used + size) }
        (base + used).storeBytes(of: value, as: T.self)
        used += size
    }

    private func grow(to needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
        newBase.copyMemory(from: base, byteCount: used)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }
}
