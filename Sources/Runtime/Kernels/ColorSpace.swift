import Tensors

/// RGBToHSV / HSVToRGB over a last axis of three channels, with TensorFlow's formulas (hue in [0, 1)).
struct ColorSpaceKernel: Kernel {
    let op: String
    let location: String
    let toHSV: Bool

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 1, "\(location): \(op)")
        let x = inputs[0]
        guard x.shape.rank >= 1, x.shape.dims[x.shape.rank - 1] == 3 else {
            throw .invalidArgument("\(location): \(op) needs a last dimension of 3 channels, got \(x.shape)")
        }
        switch x.dtype {
        case .float32: return [try convert(x, Float.self)]
        case .float64: return [try convert(x, Double.self)]
        default: throw .unimplemented("\(location): \(op) does not support \(x.dtype); expected float32 or float64")
        }
    }

    private func convert<T: TensorScalar & BinaryFloatingPoint>(_ x: Tensor, _: T.Type) throws(ServingError) -> Tensor {
        let (result, _) = try Tensor.allocateUninitialized(x.dtype, x.shape)
        let source = x.elements(T.self), out = result.mutableElements(T.self)
        var i = 0
        while i < out.count {
            let (a, b, c) = toHSV ? Self.hsv(source[i], source[i + 1], source[i + 2])
                                  : Self.rgb(source[i], source[i + 1], source[i + 2])
            out[i] = a
            out[i + 1] = b
            out[i + 2] = c
            i += 3
        }
        return result
    }

    @inline(__always) private static func hsv<T: BinaryFloatingPoint>(_ r: T, _ g: T, _ b: T) -> (T, T, T) {
        let value = max(max(r, g), b)
        let range = value - min(min(r, g), b)
        let saturation = value > 0 ? range / value : 0
        let norm = (1 / range) * (T(1) / T(6))
        var hue: T
        if r == value {
            hue = norm * (g - b)
        } else if g == value {
            hue = norm * (b - r) + T(2) / T(6)
        } else {
            hue = norm * (r - g) + T(4) / T(6)
        }
        if !(range > 0) { hue = 0 }
        if hue < 0 { hue += 1 }
        return (hue, saturation, value)
    }

    @inline(__always) private static func rgb<T: BinaryFloatingPoint>(_ h: T, _ s: T, _ v: T) -> (T, T, T) {
        let dh = h * 6
        func clamp(_ x: T) -> T { min(max(x, 0), 1) }
        let dr = clamp(abs(dh - 3) - 1), dg = clamp(-abs(dh - 2) + 2), db = clamp(-abs(dh - 4) + 2)
        let oneMinusS = -s + 1
        return ((oneMinusS + s * dr) * v, (oneMinusS + s * dg) * v, (oneMinusS + s * db) * v)
    }
}
