import Foundation
import Tensors

/// ResizeBilinear, ResizeNearestNeighbor and ResizeBicubic on NHWC images, with TensorFlow's
/// `align_corners` and `half_pixel_centers` coordinate rules. Bilinear and bicubic give float32;
/// nearest keeps the input's type.
struct ImageResizeKernel: Kernel {
    enum Method: Sendable { case bilinear, nearest, bicubic }
    let method: Method
    let alignCorners: Bool
    let halfPixelCenters: Bool
    let op: String

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 2, op)
        let image = inputs[0]
        guard image.shape.rank == 4 else { throw .invalidArgument("\(op) images must be [batch, height, width, channels], got \(image.shape)") }
        let size = try inputs[1].integerValues()
        guard size.count == 2, size[0] > 0, size[1] > 0 else {
            throw .invalidArgument("\(op) size must be two positive integers [height, width], got \(size)")
        }
        guard !(alignCorners && halfPixelCenters) else {
            throw .invalidArgument("\(op): half_pixel_centers and align_corners cannot both be true")
        }
        let dims = (batch: image.shape[0], height: image.shape[1], width: image.shape[2], channels: image.shape[3])
        guard dims.height > 0, dims.width > 0 else { throw .invalidArgument("\(op) input \(image.shape) has an empty image") }
        let outputShape = Shape([dims.batch, size[0], size[1], dims.channels])
        let pixels = try Self.floats(image, op: op)
        switch method {
        case .nearest:
            let rows = nearestIndices(out: size[0], in: dims.height), columns = nearestIndices(out: size[1], in: dims.width)
            var offsets: [Int] = []
            offsets.reserveCapacity(outputShape.elementCount)
            for b in 0..<dims.batch {
                for y in rows {
                    for x in columns {
                        let base = ((b * dims.height + y) * dims.width + x) * dims.channels
                        for c in 0..<dims.channels { offsets.append(base + c) }
                    }
                }
            }
            return [try image.gatheredElements(offsets, shape: outputShape)]
        case .bilinear, .bicubic:
            let rows = taps(out: size[0], in: dims.height), columns = taps(out: size[1], in: dims.width)
            let (result, _) = try Tensor.allocateUninitialized(.float32, outputShape)
            let out = result.mutableElements(Float.self)
            var index = 0
            for b in 0..<dims.batch {
                for row in rows {
                    for column in columns {
                        for c in 0..<dims.channels {
                            var total: Float = 0
                            for (y, wy) in zip(row.indices, row.weights) {
                                var line: Float = 0
                                for (x, wx) in zip(column.indices, column.weights) {
                                    line += wx * pixels[((b * dims.height + y) * dims.width + x) * dims.channels + c]
                                }
                                total += wy * line
                            }
                            out[index] = total
                            index += 1
                        }
                    }
                }
            }
            return [result]
        }
    }

    private func scale(out: Int, in size: Int) -> Float {
        alignCorners && out > 1 ? Float(size - 1) / Float(out - 1) : Float(size) / Float(out)
    }

    private func nearestIndices(out: Int, in size: Int) -> [Int] {
        let s = scale(out: out, in: size)
        return (0..<out).map { i in
            let source = halfPixelCenters ? (Float(i) + 0.5) * s : Float(i) * s
            let index = alignCorners ? Int(source.rounded(.toNearestOrAwayFromZero)) : Int(source.rounded(.down))
            return max(0, min(index, size - 1))
        }
    }

    /// Input indices and weights along one axis for each output position.
    private func taps(out: Int, in size: Int) -> [(indices: [Int], weights: [Float])] {
        let s = scale(out: out, in: size)
        return (0..<out).map { i in
            let source = halfPixelCenters ? (Float(i) + 0.5) * s - 0.5 : Float(i) * s
            let floor = source.rounded(.down)
            let delta = source - floor
            let base = Int(floor)
            if method == .bilinear {
                let lower = max(base, 0), upper = min(Int(source.rounded(.up)), size - 1)
                return ([min(lower, size - 1), max(upper, 0)], [1 - delta, delta])
            }
            return bicubicTaps(base: base, delta: delta, size: size)
        }
    }

    private static let tableSize = 1024

    /// TensorFlow's Keys cubic coefficients, tabulated at 1/1024 steps: a = -0.5 with half-pixel
    /// centers (taps outside the image dropped and the rest renormalized), else a = -0.75.
    private func bicubicTaps(base: Int, delta: Float, size: Int) -> (indices: [Int], weights: [Float]) {
        let a: Float = halfPixelCenters ? -0.5 : -0.75
        let offset = Int(lrintf(delta * Float(Self.tableSize)))
        func near(_ step: Int) -> Float {
            let x = Float(step) / Float(Self.tableSize)
            return ((a + 2) * x - (a + 3)) * x * x + 1
        }
        func far(_ step: Int) -> Float {
            let x = Float(step) / Float(Self.tableSize) + 1
            return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
        }
        let wanted = [base - 1, base, base + 1, base + 2]
        let indices = wanted.map { max(0, min($0, size - 1)) }
        var weights = [far(offset), near(offset), near(Self.tableSize - offset), far(Self.tableSize - offset)]
        if halfPixelCenters {
            for k in 0..<4 where indices[k] != wanted[k] { weights[k] = 0 }
            let sum = weights.reduce(0, +)
            if abs(sum) >= 1000 * Float.leastNormalMagnitude { weights = weights.map { $0 / sum } }
        }
        return (indices, weights)
    }

    /// The image's values as float32, for the kernels that resample.
    static func floats(_ image: Tensor, op: String) throws(ServingError) -> [Float] {
        switch image.dtype {
        case .float32: Array(image.elements(Float.self))
        case .float64: image.elements(Double.self).map { Float($0) }
        case .int32: image.elements(Int32.self).map { Float($0) }
        case .int64: image.elements(Int64.self).map { Float($0) }
        case .uint8: image.elements(UInt8.self).map { Float($0) }
        case .int8: image.elements(Int8.self).map { Float($0) }
        case .uint16: image.elements(UInt16.self).map { Float($0) }
        case .int16: image.elements(Int16.self).map { Float($0) }
        default: throw .unimplemented("\(op) does not support \(image.dtype) images")
        }
    }
}
