import COpenBLAS
import Foundation
import Tensors

/// Element types the arithmetic kernels support; integer operations wrap instead of trapping.
protocol ArithmeticScalar: TensorScalar, Comparable {
    static var zero: Self { get }
    static func add(_ a: Self, _ b: Self) -> Self
    static func subtract(_ a: Self, _ b: Self) -> Self
    static func multiply(_ a: Self, _ b: Self) -> Self
    static func divide(_ a: Self, _ b: Self) -> Self
}

/// Floating-point element types with the transcendental functions activations need.
protocol FloatScalar: ArithmeticScalar, BinaryFloatingPoint {
    static func exponential(_ x: Self) -> Self
    static func logarithm(_ x: Self) -> Self
    static func hyperbolicTangent(_ x: Self) -> Self
    static func errorFunction(_ x: Self) -> Self
    static func logOnePlus(_ x: Self) -> Self
    static func exponentialMinusOne(_ x: Self) -> Self
}

extension Float: FloatScalar {
    static func add(_ a: Float, _ b: Float) -> Float { a + b }
    static func subtract(_ a: Float, _ b: Float) -> Float { a - b }
    static func multiply(_ a: Float, _ b: Float) -> Float { a * b }
    static func divide(_ a: Float, _ b: Float) -> Float { a / b }
    static func exponential(_ x: Float) -> Float { Foundation.exp(x) }
    static func logarithm(_ x: Float) -> Float { Foundation.log(x) }
    static func hyperbolicTangent(_ x: Float) -> Float { Foundation.tanh(x) }
    static func errorFunction(_ x: Float) -> Float { Foundation.erf(x) }
    static func logOnePlus(_ x: Float) -> Float { Foundation.log1p(x) }
    static func exponentialMinusOne(_ x: Float) -> Float { Foundation.expm1(x) }
}

extension Double: FloatScalar {
    static func add(_ a: Double, _ b: Double) -> Double { a + b }
    static func subtract(_ a: Double, _ b: Double) -> Double { a - b }
    static func multiply(_ a: Double, _ b: Double) -> Double { a * b }
    static func divide(_ a: Double, _ b: Double) -> Double { a / b }
    static func exponential(_ x: Double) -> Double { Foundation.exp(x) }
    static func logarithm(_ x: Double) -> Double { Foundation.log(x) }
    static func hyperbolicTangent(_ x: Double) -> Double { Foundation.tanh(x) }
    static func errorFunction(_ x: Double) -> Double { Foundation.erf(x) }
    static func logOnePlus(_ x: Double) -> Double { Foundation.log1p(x) }
    static func exponentialMinusOne(_ x: Double) -> Double { Foundation.expm1(x) }
}

/// Wrapping integer arithmetic; division by zero yields 0 rather than trapping.
protocol WrappingIntegerScalar: ArithmeticScalar, FixedWidthInteger {}

extension WrappingIntegerScalar {
    static func add(_ a: Self, _ b: Self) -> Self { a &+ b }
    static func subtract(_ a: Self, _ b: Self) -> Self { a &- b }
    static func multiply(_ a: Self, _ b: Self) -> Self { a &* b }
    static func divide(_ a: Self, _ b: Self) -> Self {
        if b == 0 { return 0 }
        return a.dividedReportingOverflow(by: b).partialValue
    }
}

extension Int32: WrappingIntegerScalar {}
extension Int64: WrappingIntegerScalar {}
extension UInt8: WrappingIntegerScalar {}
extension Int8: WrappingIntegerScalar {}
extension Int16: WrappingIntegerScalar {}
extension UInt16: WrappingIntegerScalar {}
extension UInt32: WrappingIntegerScalar {}
extension UInt64: WrappingIntegerScalar {}

/// Floating-point element types with an OpenBLAS GEMM.
protocol GEMMScalar: FloatScalar {
    /// Row-major `c = a × b` with `a` m×k, `b` k×n and `c` m×n, all densely packed.
    static func gemm(m: Int, n: Int, k: Int, a: UnsafePointer<Self>, b: UnsafePointer<Self>, c: UnsafeMutablePointer<Self>)
    /// Runs `epilogue` over `rows` rows of `width` values.
    static func apply(_ epilogue: GEMMEpilogue, to values: UnsafeMutablePointer<Self>, rows: Int, width: Int)
}

extension Float: GEMMScalar {
    @inline(__always)
    static func gemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(n), 0, c, Int32(n))
    }

    @inline(__always)
    static func apply(_ epilogue: GEMMEpilogue, to values: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
        epilogue.apply(values, rows: rows, width: width)
    }
}

extension Double: GEMMScalar {
    @inline(__always)
    static func gemm(m: Int, n: Int, k: Int, a: UnsafePointer<Double>, b: UnsafePointer<Double>, c: UnsafeMutablePointer<Double>) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(n), 0, c, Int32(n))
    }

    @inline(__always)
    static func apply(_ epilogue: GEMMEpilogue, to values: UnsafeMutablePointer<Double>, rows: Int, width: Int) {
        epilogue.apply(values, rows: rows, width: width)
    }
}
