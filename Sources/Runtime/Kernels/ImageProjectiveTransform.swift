import Foundation
import Tensors

/// How ImageProjectiveTransform maps input coordinates that fall outside the image.
enum ProjectiveFillMode: String, Sendable {
    case reflect = "REFLECT", wrap = "WRAP", constant = "CONSTANT", nearest = "NEAREST"

    /// The in-image coordinate for `coordinate` along an axis of `length`, as TensorFlow's `MapCoordinate`.
    @inline(__always) func map(_ coordinate: Float, _ length: Int) -> Float {
        let last = Float(length - 1)
        switch self {
        case .constant:
            return coordinate
        case .nearest:
            return min(max(coordinate, 0), last)
        case .reflect:
            var c = coordinate
            if c < 0 {
                if length <= 1 {
                    c = 0
                } else {
                    let twice = Float(2 * length)
                    if c < twice { c = twice * Self.truncated(-c / twice) + c }
                    c = c < Float(-length) ? c + twice : -c - 1
                }
            } else if c > last {
                if length <= 1 {
                    c = 0
                } else {
                    let twice = Float(2 * length)
                    c -= twice * Self.truncated(c / twice)
                    if c >= Float(length) { c = twice - c - 1 }
                }
            }
            return min(max(c, 0), last)
        case .wrap:
            var c = coordinate
            if c < 0 {
                if length <= 1 {
                    c = 0
                } else {
                    c += Float(length) * (Self.truncated(-c / last) + 1)
                }
            } else if c > last {
                if length <= 1 {
                    c = 0
                } else {
                    c -= Float(length) * Self.truncated(c / last)
                }
            }
            return min(max(c, 0), last)
        }
    }

    /// Truncation toward zero, as the integer casts in TensorFlow's arithmetic.
    @inline(__always) private static func truncated(_ x: Float) -> Float { x.rounded(.towardZero) }
}

/// ImageProjectiveTransformV2/V3: each output pixel (x, y) of batch b reads the input at
/// ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k) with k = c0 x + c1 y + 1, from the eight
/// transform parameters of b (or one shared row), by nearest or bilinear interpolation in float32.
struct ImageProjectiveTransformKernel: Kernel {
    let op: String
    let location: String
    let dtype: DType
    let bilinear: Bool
    let fillMode: ProjectiveFillMode
    let takesFillValue: Bool

    init(op: String, takesFillValue: Bool, attrs: AttrReader) throws(ServingError) {
        self.op = op
        self.takesFillValue = takesFillValue
        location = attrs.location
        dtype = try attrs.dtype("dtype")
        guard [.float32, .float64, .uint8, .int32, .int64].contains(dtype) else {
            throw .unimplemented("\(attrs.location): \(op) does not support dtype \(dtype)")
        }
        let interpolation = try attrs.string("interpolation")
        guard interpolation == "NEAREST" || interpolation == "BILINEAR" else {
            throw .invalidArgument("\(attrs.location): \(op) interpolation must be NEAREST or BILINEAR, got '\(interpolation)'")
        }
        bilinear = interpolation == "BILINEAR"
        let mode = try attrs.string("fill_mode")
        guard let fillMode = ProjectiveFillMode(rawValue: mode) else {
            throw .invalidArgument("\(attrs.location): \(op) fill_mode must be REFLECT, WRAP, CONSTANT or NEAREST, got '\(mode)'")
        }
        self.fillMode = fillMode
    }

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, takesFillValue ? 4 : 3, "\(location): \(op)")
        let images = inputs[0], transforms = inputs[1], outputShape = inputs[2]
        guard images.dtype == dtype, images.shape.rank == 4 else {
            throw .invalidArgument("\(location): \(op) images must be a rank-4 \(dtype) tensor, got \(images.dtype)\(images.shape)")
        }
        let batch = images.shape.dims[0]
        guard transforms.dtype == .float32, transforms.shape.rank == 2, transforms.shape.dims[1] == 8,
              transforms.shape.dims[0] == 1 || transforms.shape.dims[0] == batch else {
            throw .invalidArgument("\(location): \(op) transforms must be float32 [1 or \(batch), 8], got "
                + "\(transforms.dtype)\(transforms.shape)")
        }
        guard outputShape.dtype == .int32, outputShape.shape == [2] else {
            throw .invalidArgument("\(location): \(op) output_shape must be an int32 vector of 2, got \(outputShape.dtype)\(outputShape.shape)")
        }
        let size = try outputShape.integerValues()
        guard size[0] > 0, size[1] > 0 else {
            throw .invalidArgument("\(location): \(op) output_shape must be positive, got \(size)")
        }
        var fill: Float = 0
        if takesFillValue {
            let value = inputs[3]
            guard value.dtype == .float32, value.elementCount == 1 else {
                throw .invalidArgument("\(location): \(op) fill_value must be a float32 scalar, got \(value.dtype)\(value.shape)")
            }
            fill = value.elements(Float.self)[0]
        }
        let shape = Shape([batch, size[0], size[1], images.shape.dims[3]])
        switch dtype {
        case .float32: return [try transform(images, transforms, shape, fill, Float.self)]
        case .float64: return [try transform(images, transforms, shape, fill, Double.self)]
        case .uint8: return [try transform(images, transforms, shape, fill, UInt8.self)]
        case .int32: return [try transform(images, transforms, shape, fill, Int32.self)]
        case .int64: return [try transform(images, transforms, shape, fill, Int64.self)]
        default: throw .unimplemented("\(location): \(op) does not support dtype \(dtype)")
        }
    }

    private func transform<T: ProjectiveScalar>(_ images: Tensor, _ transforms: Tensor, _ shape: Shape, _ fillValue: Float,
                                                _: T.Type) throws(ServingError) -> Tensor {
        let (result, _) = try Tensor.allocateUninitialized(dtype, shape)
        let out = result.mutableElements(T.self), input = images.elements(T.self), parameters = transforms.elements(Float.self)
        let height = images.shape.dims[1], width = images.shape.dims[2], channels = shape.dims[3]
        let outHeight = shape.dims[1], outWidth = shape.dims[2]
        let fill = T(projecting: fillValue), fillRead = fill.projected
        let shared = transforms.shape.dims[0] == 1
        let fillMode = fillMode, bilinear = bilinear

        func read(_ base: Int, _ y: Float, _ x: Float, _ channel: Int) -> Float {
            guard y >= 0, y < Float(height), x >= 0, x < Float(width) else { return fillRead }
            return input[base + (Int(y) * width + Int(x)) * channels + channel].projected
        }

        var o = 0
        for b in 0..<shape.dims[0] {
            let t = shared ? 0 : b * 8
            let base = b * height * width * channels
            for outY in 0..<outHeight {
                let fy = Float(outY)
                for outX in 0..<outWidth {
                    let fx = Float(outX)
                    let projection = parameters[t + 6] * fx + parameters[t + 7] * fy + 1
                    guard projection != 0 else {
                        for _ in 0..<channels { out[o] = fill; o += 1 }
                        continue
                    }
                    let inX = (parameters[t] * fx + parameters[t + 1] * fy + parameters[t + 2]) / projection
                    let inY = (parameters[t + 3] * fx + parameters[t + 4] * fy + parameters[t + 5]) / projection
                    let x = fillMode.map(inX, width), y = fillMode.map(inY, height)
                    if bilinear {
                        let yFloor = y.rounded(.down), xFloor = x.rounded(.down)
                        let yCeil = yFloor + 1, xCeil = xFloor + 1
                        for channel in 0..<channels {
                            let top = (xCeil - x) * read(base, yFloor, xFloor, channel) + (x - xFloor) * read(base, yFloor, xCeil, channel)
                            let bottom = (xCeil - x) * read(base, yCeil, xFloor, channel) + (x - xFloor) * read(base, yCeil, xCeil, channel)
                            out[o] = T(projecting: (yCeil - y) * top + (y - yFloor) * bottom)
                            o += 1
                        }
                    } else {
                        let ry = y.rounded(.toNearestOrAwayFromZero), rx = x.rounded(.toNearestOrAwayFromZero)
                        let inside = ry >= 0 && ry < Float(height) && rx >= 0 && rx < Float(width)
                        let pixel = inside ? base + (Int(ry) * width + Int(rx)) * channels : 0
                        for channel in 0..<channels {
                            out[o] = inside ? input[pixel + channel] : fill
                            o += 1
                        }
                    }
                }
            }
        }
        return result
    }
}

/// Element types ImageProjectiveTransform interpolates in float32 and casts back like `static_cast`.
protocol ProjectiveScalar: TensorScalar {
    init(projecting value: Float)
    var projected: Float { get }
}

extension Float: ProjectiveScalar {
    init(projecting value: Float) { self = value }
    var projected: Float { self }
}

extension Double: ProjectiveScalar {
    init(projecting value: Float) { self = Double(value) }
    var projected: Float { Float(self) }
}

extension UInt8: ProjectiveScalar {
    init(projecting value: Float) { self = value.isNaN ? 0 : UInt8(clamping: Int(Swift.max(Swift.min(value, 255), 0))) }
    var projected: Float { Float(self) }
}

extension Int32: ProjectiveScalar {
    init(projecting value: Float) {
        self = value.isNaN ? 0 : Int32(Swift.max(Swift.min(value, 2_147_483_520), -2_147_483_648))
    }
    var projected: Float { Float(self) }
}

extension Int64: ProjectiveScalar {
    init(projecting value: Float) {
        self = value.isNaN ? 0 : Int64(Swift.max(Swift.min(value, 9_223_371_487_098_961_920), -9_223_372_036_854_775_808))
    }
    var projected: Float { Float(self) }
}
