import Tensors

/// Element types Cast reads and writes.
protocol CastScalar: TensorScalar {
    static var isFloatingPoint: Bool { get }
    var asDouble: Double { get }
    var asInt64: Int64 { get }
    static func from(double: Double) -> Self
    static func from(int64: Int64) -> Self
}

extension CastScalar where Self: BinaryFloatingPoint {
    static var isFloatingPoint: Bool { true }
    var asDouble: Double { Double(self) }
    var asInt64: Int64 { 0 }
    static func from(double: Double) -> Self { Self(double) }
    static func from(int64: Int64) -> Self { Self(int64) }
}

extension CastScalar where Self: FixedWidthInteger {
    static var isFloatingPoint: Bool { false }
    var asDouble: Double { Double(self) }
    var asInt64: Int64 { Int64(truncatingIfNeeded: self) }
    /// Truncates toward zero, saturating out-of-range values and mapping NaN to 0 (no trap).
    static func from(double: Double) -> Self {
        if double.isNaN { return 0 }
        if double <= Double(Self.min) { return Self.min }
        if double >= Double(Self.max) { return Self.max }
        return Self(double.rounded(.towardZero))
    }
    static func from(int64: Int64) -> Self { Self(truncatingIfNeeded: int64) }
}

extension Float: CastScalar {}
extension Double: CastScalar {}
extension Int32: CastScalar {}
extension Int64: CastScalar {}
extension Int16: CastScalar {}
extension Int8: CastScalar {}
extension UInt8: CastScalar {}
extension UInt16: CastScalar {}
extension UInt32: CastScalar {}
extension UInt64: CastScalar {}
extension Bool: CastScalar {
    static var isFloatingPoint: Bool { false }
    var asDouble: Double { self ? 1 : 0 }
    var asInt64: Int64 { self ? 1 : 0 }
    static func from(double: Double) -> Bool { double != 0 }
    static func from(int64: Int64) -> Bool { int64 != 0 }
}

/// Cast between numeric and bool types; to complex64 with zero imaginary parts, and from it keeping the real part.
struct CastKernel: Kernel {
    let destination: DType

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 1, "Cast")
        let x = inputs[0]
        if x.dtype == destination { return [x] }
        if x.dtype == .float16 || destination == .float16 { return [try HalfPrecisionCast.cast(x, to: destination)] }
        if destination == .complex64 { return [try toComplex(x)] }
        if x.dtype == .complex64 {
            let real = try ComplexPartKernel(part: 0, op: "Cast").run([x])[0]
            return try CastKernel(destination: destination).run([real])
        }
        switch x.dtype {
        case .float32: return [try cast(x, from: Float.self)]
        case .float64: return [try cast(x, from: Double.self)]
        case .int32: return [try cast(x, from: Int32.self)]
        case .int64: return [try cast(x, from: Int64.self)]
        case .int16: return [try cast(x, from: Int16.self)]
        case .int8: return [try cast(x, from: Int8.self)]
        case .uint8: return [try cast(x, from: UInt8.self)]
        case .uint16: return [try cast(x, from: UInt16.self)]
        case .uint32: return [try cast(x, from: UInt32.self)]
        case .uint64: return [try cast(x, from: UInt64.self)]
        case .bool: return [try cast(x, from: Bool.self)]
        default: throw .unimplemented("Cast from \(x.dtype) to \(destination) is not supported")
        }
    }

    /// A real tensor as complex64 with zero imaginary parts.
    private func toComplex(_ x: Tensor) throws(ServingError) -> Tensor {
        let real = x.dtype == .float32 ? x : try CastKernel(destination: .float32).run([x])[0]
        let (result, buffer) = try Tensor.allocate(.complex64, x.shape)
        let pairs = buffer.typed(Float.self, count: 2 * x.elementCount), values = real.elements(Float.self)
        for i in 0..<values.count { pairs[2 * i] = values[i] }
        return result
    }

    private func cast<S: CastScalar>(_ x: Tensor, from _: S.Type) throws(ServingError) -> Tensor {
        switch destination {
        case .float32: return try convert(x, S.self, Float.self)
        case .float64: return try convert(x, S.self, Double.self)
        case .int32: return try convert(x, S.self, Int32.self)
        case .int64: return try convert(x, S.self, Int64.self)
        case .int16: return try convert(x, S.self, Int16.self)
        case .int8: return try convert(x, S.self, Int8.self)
        case .uint8: return try convert(x, S.self, UInt8.self)
        case .uint16: return try convert(x, S.self, UInt16.self)
        case .uint32: return try convert(x, S.self, UInt32.self)
        case .uint64: return try convert(x, S.self, UInt64.self)
        case .bool: return try convert(x, S.self, Bool.self)
        default: throw .unimplemented("Cast from \(x.dtype) to \(destination) is not supported")
        }
    }

    private func convert<S: CastScalar, D: CastScalar>(_ x: Tensor, _: S.Type, _: D.Type) throws(ServingError) -> Tensor {
        let (result, _) = try Tensor.allocate(D.dtype, x.shape)
        let out = result.mutableElements(D.self), input = x.elements(S.self)
        if S.isFloatingPoint {
            for i in 0..<out.count { out[i] = D.from(double: input[i].asDouble) }
        } else {
            for i in 0..<out.count { out[i] = D.from(int64: input[i].asInt64) }
        }
        return result
    }
}
