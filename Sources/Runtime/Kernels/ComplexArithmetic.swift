import Tensors

/// A binary function that also applies to complex64 elements, given as (real, imaginary) pairs.
protocol ComplexBinaryFunction: BinaryFunction {
    static func complex(_ a: SIMD2<Float>, _ b: SIMD2<Float>) -> SIMD2<Float>
}

extension AddFunction: ComplexBinaryFunction {
    static func complex(_ a: SIMD2<Float>, _ b: SIMD2<Float>) -> SIMD2<Float> { a + b }
}
extension SubtractFunction: ComplexBinaryFunction {
    static func complex(_ a: SIMD2<Float>, _ b: SIMD2<Float>) -> SIMD2<Float> { a - b }
}
extension MultiplyFunction: ComplexBinaryFunction {
    static func complex(_ a: SIMD2<Float>, _ b: SIMD2<Float>) -> SIMD2<Float> {
        SIMD2(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x)
    }
}
extension DivideFunction: ComplexBinaryFunction {
    static func complex(_ a: SIMD2<Float>, _ b: SIMD2<Float>) -> SIMD2<Float> {
        let (ar, ai, br, bi) = (Double(a.x), Double(a.y), Double(b.x), Double(b.y))
        let denominator = br * br + bi * bi
        return SIMD2(Float((ar * br + ai * bi) / denominator), Float((ai * br - ar * bi) / denominator))
    }
}

/// Applies `function` to two complex64 tensors with broadcasting.
func complexBinary(_ a: Tensor, _ b: Tensor, _ function: any ComplexBinaryFunction.Type, op: String) throws(ServingError) -> Tensor {
    let shape = a.shape == b.shape ? a.shape : try broadcastShape(a.shape, b.shape)
    let left = try a.broadcast(to: shape), right = try b.broadcast(to: shape)
    guard let x = left.buffer, let y = right.buffer, x.byteCount >= 8 * left.elementCount, y.byteCount >= 8 * right.elementCount else {
        throw .invalidArgument("\(op): a complex64 operand holds fewer values than its shape")
    }
    let count = left.elementCount
    let (result, buffer) = try Tensor.allocateUninitialized(.complex64, shape)
    let output = buffer.typed(SIMD2<Float>.self, count: count)
    let first = x.typed(SIMD2<Float>.self, count: count), second = y.typed(SIMD2<Float>.self, count: count)
    for i in 0..<count { output[i] = function.complex(first[i], second[i]) }
    return result
}
