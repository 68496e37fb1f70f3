import Foundation
import Tensors

/// A scalar floating-point function applied elementwise.
protocol UnaryFunction: Sendable {
    static func apply<T: FloatScalar>(_ x: T, _ parameter: T) -> T
    /// Eight float32 lanes at once; by default lane by lane through `apply`.
    static func apply(_ x: SIMD8<Float>, _ parameter: Float) -> SIMD8<Float>
}

extension UnaryFunction {
    @inline(__always) static func apply(_ x: SIMD8<Float>, _ parameter: Float) -> SIMD8<Float> {
        var result = x
        for lane in 0..<8 { result[lane] = apply(x[lane], parameter) }
        return result
    }
}

enum ReluFunction: UnaryFunction {
    /// NaN compares false and passes through, as in TensorFlow.
    @inline(__always) static func apply<T: FloatScalar>(_ x: T, _: T) -> T { x < 0 ? 0 : x }
    @inline(__always) static func apply(_ x: SIMD8<Float>, _: Float) -> SIMD8<Float> { x.replacing(with: 0, where: x .< 0) }
}
enum Relu6Function: UnaryFunction {
    @inline(__always) static func apply<T: FloatScalar>(_ x: T, _: T) -> T {
        x.isNaN ? x : min(max(x, 0), 6)
    }
    @inline(__always) static func apply(_ x: SIMD8<Float>, _: Float) -> SIMD8<Float> {
        x.replacing(with: 0, where: x .< 0).replacing(with: 6, where: x .> 6)
    }
}
enum SigmoidFunction: UnaryFunction {
    @inline(__always) static func apply<T: FloatScalar>(_ x: T, _: T) -> T { 1 / (1 + T.exponential(-x)) }
}
enum TanhFunction: UnaryFunction {
    @inline(__always) static func apply<T: FloatScalar>(_ x: T, _: T) -> T { T.hyperbolicTangent(x) }
}
enum ExpFunction: UnaryFunction {
    @inline(__always) static func apply<T: FloatScalar>(_ x: T, _: T) -> T { T.exponential(x) }
}
enum LogFunction: UnaryFunction {
    @inline(__always) static func apply<T: FloatScalar>(_ x: T, _: T) -> T { T.logarithm(x) }
}
/// A unary function that also applies to signed integers (wrapping on overflow, as TensorFlow does).
protocol IntegerUnaryFunction: UnaryFunction {
    static func integer<I: FixedWidthInteger & SignedInteger>(_ x: I) -> I
}

enum NegFunction: IntegerUnaryFunction {
    @inline(__always) static func apply<T: FloatScalar>(_ x: T, _: T) -> T { -x }
    @inline(__always) static func integer<I: FixedWidthInteger & SignedInteger>(_ x: I) -> I { 0 &- x }
}
enum AbsFunction: IntegerUnaryFunction {
    @inline(__always) static func apply<T: FloatScalar>(_ x: T, _: T) -> T { x.magnitude }
    @inline(__always) static func integer<I: FixedWidthInteger & SignedInteger>(_ x: I) -> I { x < 0 ? 0 &- x : x }
}
enum SquareFunction: IntegerUnaryFunction {
    @inline(__always) static func apply<T: FloatScalar>(_ x: T, _: T) -> T { x * x }
    @inline(__always) static func integer<I: FixedWidthInteger & SignedInteger>(_ x: I) -> I { x &* x }
}
enum SqrtFunction: UnaryFunction {
    @inline(__always) static func apply<T: FloatScalar>(_ x: T, _: T) -> T { x.squareRoot() }
}
enum RsqrtFunction: UnaryFunction {
    @inline(__always) static func apply<T: FloatScalar>(_ x: T, _: T) -> T { 1 / x.squareRoot() }
}
enum ErfFunction: UnaryFunction {
    @inline(__always) static func apply<T: FloatScalar>(_ x: T, _: T) -> T { T.errorFunction(x) }
}
/// Erfc evaluated in double precision, then rounded to the element type.
enum ErfcFunction: UnaryFunction {
    @inline(__always) static func apply<T: FloatScalar>(_ x: T, _: T) -> T { T(Foundation.erfc(Double(x))) }
}
enum SoftplusFunction: UnaryFunction {
    @inline(__always) static func apply<T: FloatScalar>(_ x: T, _: T) -> T {
        x > 0 ? x + T.logOnePlus(T.exponential(-x)) : T.logOnePlus(T.exponential(x))
    }
}
/// Keras' `softsign`: x / (1 + |x|).
enum SoftsignFunction: UnaryFunction {
    @inline(__always) static func apply<T: FloatScalar>(_ x: T, _: T) -> T { x / (1 + x.magnitude) }
}
enum EluFunction: UnaryFunction {
    @inline(__always) static func apply<T: FloatScalar>(_ x: T, _: T) -> T { x > 0 ? x : T.exponentialMinusOne(x) }
}
enum SeluFunction: UnaryFunction {
    @inline(__always) static func apply<T: FloatScalar>(_ x: T, _: T) -> T {
        let scale = T(1.0507009873554804934193349852946)
        let alpha = T(1.6732632423543772848170429916717)
        return x > 0 ? scale * x : scale * alpha * T.exponentialMinusOne(x)
    }
}
/// LeakyRelu with its `alpha` attribute as the parameter.
enum LeakyReluFunction: UnaryFunction {
    @inline(__always) static func apply<T: FloatScalar>(_ x: T, _ alpha: T) -> T { x > 0 ? x : alpha * x }
}

/// Elementwise float32/float64 functions (activations and math).
///
/// The loops are built in `init`, where `Function` is concrete, so they are compiled for that
/// function and element type; calling through the `Kernel` witness alone would leave them generic.
struct UnaryKernel<Function: UnaryFunction>: Kernel {
    typealias Loop<T> = @Sendable (Tensor, T) throws(ServingError) -> Tensor

    let op: String
    let parameter: Double
    private let float32Loop: Loop<Float>
    private let float64Loop: Loop<Double>

    init(op: String, parameter: Double = 0) {
        self.op = op
        self.parameter = parameter
        float32Loop = { x, p throws(ServingError) in try Self.compute(x, p) }
        float64Loop = { x, p throws(ServingError) in try Self.compute(x, p) }
    }

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 1, op)
        let x = inputs[0]
        switch x.dtype {
        case .float32: return [try float32Loop(x, Float(parameter))]
        case .float64: return [try float64Loop(x, parameter)]
        case .int32, .int64:
            guard let integer = Function.self as? any IntegerUnaryFunction.Type else {
                throw .unimplemented("\(op) does not support \(x.dtype)")
            }
            return [x.dtype == .int32 ? try Self.computeInteger(x, integer, Int32.self) : try Self.computeInteger(x, integer, Int64.self)]
        default: throw .unimplemented("\(op) does not support \(x.dtype)")
        }
    }

    private static func computeInteger<F: IntegerUnaryFunction, I: FixedWidthInteger & SignedInteger & TensorScalar>(
        _ x: Tensor, _: F.Type, _: I.Type
    ) throws(ServingError) -> Tensor {
        let (result, _) = try Tensor.allocateUninitialized(x.dtype, x.shape)
        let out = result.mutableElements(I.self), input = x.elements(I.self)
        for i in 0..<out.count { out[i] = F.integer(input[i]) }
        return result
    }

    @inline(__always)
    private static func compute<T: FloatScalar>(_ x: Tensor, _ p: T) throws(ServingError) -> Tensor {
        let (result, _) = try Tensor.allocateUninitialized(x.dtype, x.shape)
        let out = result.mutableElements(T.self)
        let input = x.elements(T.self)
        for i in 0..<out.count { out[i] = Function.apply(input[i], p) }
        return result
    }
}
