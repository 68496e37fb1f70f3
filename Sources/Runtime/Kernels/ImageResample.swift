import Foundation
import Tensors

/// The sampling kernels of `ScaleAndTranslate` (tf.image.resize's lanczos, gaussian and cubic methods),
/// as functions of the distance from the sample point.
enum SamplingKernel: Sendable {
    case lanczos(Float), gaussian, box, triangle, keysCubic, mitchellCubic

    init?(name: String) {
        switch name {
        case "lanczos1": self = .lanczos(1)
        case "lanczos3": self = .lanczos(3)
        case "lanczos5": self = .lanczos(5)
        case "gaussian": self = .gaussian
        case "box": self = .box
        case "triangle": self = .triangle
        case "keyscubic": self = .keysCubic
        case "mitchellcubic": self = .mitchellCubic
        default: return nil
        }
    }

    var radius: Float {
        switch self {
        case .lanczos(let radius): radius
        case .gaussian: 1.5
        case .box, .triangle: 1
        case .keysCubic, .mitchellCubic: 2
        }
    }

    func weight(_ distance: Float) -> Float {
        let x = abs(distance)
        switch self {
        case .lanczos(let radius):
            let pi: Float = 3.14159265359879
            if x > radius { return 0 }
            if x <= 1e-3 { return 1 }
            return radius * sinf(pi * x) * sinf(pi * x / radius) / (pi * pi * x * x)
        case .gaussian:
            let sigma = radius / 3
            return x >= radius ? 0 : expf(-x * x / (2 * sigma * sigma))
        case .box:
            return x < 0.5 ? 1 : (x == 0.5 ? 0.5 : 0)
        case .triangle:
            return x < 1 ? 1 - x : 0
        case .keysCubic:
            if x >= 2 { return 0 }
            if x >= 1 { return ((-0.5 * x + 2.5) * x - 4) * x + 2 }
            return ((1.5 * x - 2.5) * x) * x + 1
        case .mitchellCubic:
            if x >= 2 { return 0 }
            if x >= 1 { return (((-7.0 / 18.0) * x + 2) * x - 10.0 / 3.0) * x + 16.0 / 9.0 }
            return (((7.0 / 6.0) * x - 2) * x) * x + 8.0 / 9.0
        }
    }
}

/// ScaleAndTranslate: each output pixel a normalized, kernel-weighted sum of the input pixels around
/// where it lands under `scale` and `translation` (rows first, then columns); float32 output.
struct ScaleAndTranslateKernel: Kernel {
    let kernel: SamplingKernel
    let antialias: Bool

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 4, "ScaleAndTranslate")
        let image = inputs[0]
        guard image.shape.rank == 4, image.shape[1] > 0, image.shape[2] > 0, image.shape[3] > 0 else {
            throw .invalidArgument("ScaleAndTranslate images must be non-empty [batch, height, width, channels], got \(image.shape)")
        }
        let size = try inputs[1].integerValues()
        guard size.count == 2, size[0] > 0, size[1] > 0 else { throw .invalidArgument("ScaleAndTranslate size must be two positive integers, got \(size)") }
        guard inputs[2].dtype == .float32, inputs[2].elementCount == 2, inputs[3].dtype == .float32, inputs[3].elementCount == 2 else {
            throw .invalidArgument("ScaleAndTranslate scale and translation must be two float32 values each")
        }
        let scale = inputs[2].elements(Float.self), translation = inputs[3].elements(Float.self)
        guard scale[0] > 0, scale[1] > 0 else { throw .invalidArgument("ScaleAndTranslate scale must be greater than zero, got \(Array(scale))") }
        let (n, h, w, c) = (image.shape[0], image.shape[1], image.shape[2], image.shape[3])
        let pixels = try ImageResizeKernel.floats(image, op: "ScaleAndTranslate")
        let rows = spans(output: size[0], input: h, scale: scale[0], translate: translation[0])
        let columns = spans(output: size[1], input: w, scale: scale[1], translate: translation[1])
        let (result, _) = try Tensor.allocateUninitialized(.float32, [n, size[0], size[1], c])
        let out = result.mutableElements(Float.self)
        var intermediate = [Float](repeating: 0, count: size[0] * w * c)
        for b in 0..<n {
            for y in 0..<size[0] {
                for x in 0..<w {
                    for ch in 0..<c {
                        var total: Float = 0
                        for (k, weight) in rows[y].weights.enumerated() {
                            total += weight * pixels[((b * h + rows[y].start + k) * w + x) * c + ch]
                        }
                        intermediate[(y * w + x) * c + ch] = total
                    }
                }
            }
            for y in 0..<size[0] {
                for x in 0..<size[1] {
                    for ch in 0..<c {
                        var total: Float = 0
                        for (k, weight) in columns[x].weights.enumerated() {
                            total += weight * intermediate[(y * w + columns[x].start + k) * c + ch]
                        }
                        out[((b * size[0] + y) * size[1] + x) * c + ch] = total
                    }
                }
            }
        }
        return [result]
    }

    private func spans(output: Int, input: Int, scale: Float, translate: Float) -> [(start: Int, weights: [Float])] {
        let inverseScale = 1 / scale, inverseTranslate = -inverseScale * translate
        let kernelScale = antialias ? max(inverseScale, 1) : 1
        return (0..<output).map { x in
            let sample = (Float(x) + 0.5) * inverseScale + inverseTranslate
            guard sample >= 0, sample <= Float(input) else { return (0, []) }
            let reach = kernel.radius * kernelScale
            let start = max(0, min(input - 1, Int((sample - reach - 0.5).rounded(.up))))
            let end = max(0, min(input - 1, Int((sample + reach - 0.5).rounded(.down)))) + 1
            var weights = (start..<end).map { source in kernel.weight((Float(source) + 0.5 - sample) / kernelScale) }
            let total = weights.reduce(0, +)
            if abs(total) >= 1000 * Float.leastNormalMagnitude {
                weights = weights.map { $0 * (1 / total) }
            } else {
                weights = weights.map { _ in 0 }
            }
            return (start, weights)
        }
    }
}

/// ResizeArea: each output pixel the average of the input area it covers, fractional pixels weighted by coverage.
struct ResizeAreaKernel: Kernel {
    let alignCorners: Bool

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 2, "ResizeArea")
        let image = inputs[0]
        guard image.shape.rank == 4, image.shape[1] > 0, image.shape[2] > 0 else {
            throw .invalidArgument("ResizeArea images must be non-empty [batch, height, width, channels], got \(image.shape)")
        }
        let size = try inputs[1].integerValues()
        guard size.count == 2, size[0] > 0, size[1] > 0 else { throw .invalidArgument("ResizeArea size must be two positive integers, got \(size)") }
        let (n, h, w, c) = (image.shape[0], image.shape[1], image.shape[2], image.shape[3])
        let pixels = try ImageResizeKernel.floats(image, op: "ResizeArea")
        func scale(_ out: Int, _ size: Int) -> Float { alignCorners && out > 1 ? Float(size - 1) / Float(out - 1) : Float(size) / Float(out) }
        let heightScale = scale(size[0], h), widthScale = scale(size[1], w)
        func coverage(_ index: Int, _ s: Float, _ limit: Int) -> [(Int, Float)] {
            let low = Float(index) * s, high = Float(index + 1) * s
            let first = Int(low.rounded(.down)), last = Int(high.rounded(.up))
            return (first..<last).map { i in (min(i, limit - 1), min(Float(i + 1), high) - max(Float(i), low)) }
        }
        let rows = (0..<size[0]).map { coverage($0, heightScale, h) }, columns = (0..<size[1]).map { coverage($0, widthScale, w) }
        let normalizer = 1 / (heightScale * widthScale)
        let (result, _) = try Tensor.allocateUninitialized(.float32, [n, size[0], size[1], c])
        let out = result.mutableElements(Float.self)
        var index = 0
        for b in 0..<n {
            for row in rows {
                for column in columns {
                    for ch in 0..<c {
                        var total: Float = 0
                        for (y, ys) in row {
                            var line: Float = 0
                            for (x, xs) in column { line += xs * pixels[((b * h + y) * w + x) * c + ch] }
                            total += ys * line
                        }
                        out[index] = total * normalizer
                        index += 1
                    }
                }
            }
        }
        return [result]
    }
}
