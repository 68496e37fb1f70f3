import Foundation
import Tensors

// Elementwise math beyond the activations, for `UnaryKernel`. Transcendental functions are evaluated
// in double precision and rounded to the element type.

enum FloorFunction: UnaryFunction {
    @inline(__always) static func apply<T: FloatScalar>(_ x: T, _: T) -> T { x.rounded(.down) }
}
enum CeilFunction: UnaryFunction {
    @inline(__always) static func apply<T: FloatScalar>(_ x: T, _: T) -> T { x.rounded(.up) }
}
/// TensorFlow's Round: halves go to the even neighbour.
enum RoundFunction: UnaryFunction {
    @inline(__always) static func apply<T: FloatScalar>(_ x: T, _: T) -> T { x.rounded(.toNearestOrEven) }
}
enum SignFunction: IntegerUnaryFunction {
    @inline(__always) static func apply<T: FloatScalar>(_ x: T, _: T) -> T { x.isNaN ? x : (x > 0 ? 1 : (x < 0 ? -1 : 0)) }
    @inline(__always) static func integer<I: FixedWidthInteger & SignedInteger>(_ x: I) -> I { x > 0 ? 1 : (x < 0 ? -1 : 0) }
}
enum ReciprocalFunction: UnaryFunction {
    @inline(__always) static func apply<T: FloatScalar>(_ x: T, _: T) -> T { 1 / x }
}
enum Expm1Function: UnaryFunction {
    @inline(__always) static func apply<T: FloatScalar>(_ x: T, _: T) -> T { T.exponentialMinusOne(x) }
}
enum Log1pFunction: UnaryFunction {
    @inline(__always) static func apply<T: FloatScalar>(_ x: T, _: T) -> T { T.logOnePlus(x) }
}

/// A double-precision libm function, applied elementwise.
protocol DoubleMathFunction: UnaryFunction {
    static func double(_ x: Double) -> Double
}
extension DoubleMathFunction {
    @inline(__always) static func apply<T: FloatScalar>(_ x: T, _: T) -> T { T(double(Double(x))) }
}
enum SinFunction: DoubleMathFunction { static func double(_ x: Double) -> Double { Foundation.sin(x) } }
enum CosFunction: DoubleMathFunction { static func double(_ x: Double) -> Double { Foundation.cos(x) } }
enum TanFunction: DoubleMathFunction { static func double(_ x: Double) -> Double { Foundation.tan(x) } }
enum AsinFunction: DoubleMathFunction { static func double(_ x: Double) -> Double { Foundation.asin(x) } }
enum AcosFunction: DoubleMathFunction { static func double(_ x: Double) -> Double { Foundation.acos(x) } }
enum AtanFunction: DoubleMathFunction { static func double(_ x: Double) -> Double { Foundation.atan(x) } }
enum SinhFunction: DoubleMathFunction { static func double(_ x: Double) -> Double { Foundation.sinh(x) } }
enum CoshFunction: DoubleMathFunction { static func double(_ x: Double) -> Double { Foundation.cosh(x) } }
enum AsinhFunction: DoubleMathFunction { static func double(_ x: Double) -> Double { Foundation.asinh(x) } }
enum AcoshFunction: DoubleMathFunction { static func double(_ x: Double) -> Double { Foundation.acosh(x) } }
enum AtanhFunction: DoubleMathFunction { static func double(_ x: Double) -> Double { Foundation.atanh(x) } }
enum LgammaFunction: DoubleMathFunction { static func double(_ x: Double) -> Double { Foundation.lgamma(x) } }
/// The inverse error function, by Newton steps on erf from a closed-form first guess.
enum ErfinvFunction: DoubleMathFunction {
    static func double(_ y: Double) -> Double {
        if y.isNaN || y < -1 || y > 1 { return .nan }
        if y == 1 { return .infinity }
        if y == -1 { return -.infinity }
        let a = 0.147
        let l = Foundation.log(1 - y * y)
        let t = 2 / (Double.pi * a) + l / 2
        var x = (y < 0 ? -1.0 : 1.0) * ((t * t - l / a).squareRoot() - t).squareRoot()
        for _ in 0..<3 {
            let error = Foundation.erf(x) - y
            x -= error / (2 / Double.pi.squareRoot() * Foundation.exp(-x * x))
        }
        return x
    }
}

/// IsNan, IsInf and IsFinite: a float tensor to a bool tensor of the same shape.
struct FloatClassKernel: Kernel {
    enum Test: Sendable { case nan, infinite, finite }
    let test: Test
    let op: String

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 1, op)
        let x = inputs[0]
        switch x.dtype {
        case .float32: return [try classify(x, Float.self)]
        case .float64: return [try classify(x, Double.self)]
        default: throw .unimplemented("\(op) does not support \(x.dtype)")
        }
    }

    private func classify<T: BinaryFloatingPoint & TensorScalar>(_ x: Tensor, _: T.Type) throws(ServingError) -> Tensor {
        let (result, _) = try Tensor.allocateUninitialized(.bool, x.shape)
        let out = result.mutableElements(Bool.self), input = x.elements(T.self)
        switch test {
        case .nan: for i in 0..<out.count { out[i] = input[i].isNaN }
        case .infinite: for i in 0..<out.count { out[i] = input[i].isInfinite }
        case .finite: for i in 0..<out.count { out[i] = input[i].isFinite }
        }
        return result
    }
}

/// The modified Bessel function of the first kind of order 0 or 1, optionally scaled by `e^-|x|`: its power
/// series (every term positive, so no cancellation) up to |x| = 40, the asymptotic expansion beyond.
enum ModifiedBessel {
    static func scaled(order: Int, _ x: Double) -> Double {
        let magnitude = abs(x)
        let value: Double
        if magnitude <= 40 {
            let quarterSquare = magnitude * magnitude / 4
            var term = order == 0 ? 1.0 : magnitude / 2, sum = term, k = 0.0
            repeat {
                k += 1
                term *= quarterSquare / (k * (k + Double(order)))
                sum += term
            } while term > sum * 1e-17
            value = sum * Foundation.exp(-magnitude)
        } else {
            let mu = 4.0 * Double(order * order)
            var term = 1.0, sum = 1.0
            for j in 1...12 {
                let odd = Double(2 * j - 1)
                term *= -(mu - odd * odd) / (Double(j) * 8 * magnitude)
                sum += term
            }
            value = sum / (2 * Double.pi * magnitude).squareRoot()
        }
        return order == 1 && x < 0 ? -value : value
    }
}
enum BesselI0Function: DoubleMathFunction {
    static func double(_ x: Double) -> Double {
        x.isNaN || x.isInfinite ? abs(x) : ModifiedBessel.scaled(order: 0, x) * Foundation.exp(abs(x))
    }
}
enum BesselI0eFunction: DoubleMathFunction {
    static func double(_ x: Double) -> Double { x.isNaN ? x : ModifiedBessel.scaled(order: 0, x) }
}
enum BesselI1Function: DoubleMathFunction {
    static func double(_ x: Double) -> Double {
        x.isNaN || x.isInfinite ? x : ModifiedBessel.scaled(order: 1, x) * Foundation.exp(abs(x))
    }
}
enum BesselI1eFunction: DoubleMathFunction {
    static func double(_ x: Double) -> Double { x.isNaN ? x : ModifiedBessel.scaled(order: 1, x) }
}
