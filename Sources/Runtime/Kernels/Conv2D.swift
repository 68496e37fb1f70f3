import COpenBLAS
import Tensors

/// Output size and leading padding of one spatial dimension (TensorFlow's SAME/VALID rules).
func windowGeometry(input: Int, window: Int, stride: Int, dilation: Int, same: Bool) -> (output: Int, padBefore: Int) {
    let effective = (window - 1) * dilation + 1
    if same {
        let output = (input + stride - 1) / stride
        let total = max((output - 1) * stride + effective - input, 0)
        return (output, total / 2)
    }
    return (input >= effective ? (input - effective) / stride + 1 : 0, 0)
}

/// Strides, dilations and padding (SAME, VALID or EXPLICIT) of an NHWC convolution window.
struct WindowAttributes: Sendable {
    enum Padding: Sendable {
        case same, valid
        /// Rows (before, after) then columns (before, after).
        case explicit(rows: (Int, Int), cols: (Int, Int))
    }

    let strides: (Int, Int)
    let dilations: (Int, Int)
    let padding: Padding
    /// Larger strides, dilations, window sizes or paddings are rejected so index arithmetic cannot overflow.
    static let maximumStep = 1 << 24

    init(attrs: AttrReader, op: String) throws(ServingError) {
        let format = try attrs.string("data_format")
        guard format == "NHWC" else {
            throw .unimplemented("\(attrs.location): \(op) data_format '\(format)' is not supported (NHWC is)")
        }
        let strides = try attrs.ints("strides"), dilations = try attrs.ints("dilations")
        guard strides.count == 4, dilations.count == 4, strides[0] == 1, strides[3] == 1, dilations[0] == 1, dilations[3] == 1,
              strides[1] > 0, strides[2] > 0, dilations[1] > 0, dilations[2] > 0,
              (strides + dilations).allSatisfy({ $0 <= Self.maximumStep })
        else { throw .invalidArgument("\(attrs.location): \(op) strides \(strides) / dilations \(dilations) are not supported") }
        self.strides = (strides[1], strides[2])
        self.dilations = (dilations[1], dilations[2])
        switch try attrs.string("padding") {
        case "SAME": padding = .same
        case "VALID": padding = .valid
        case "EXPLICIT":
            let pads = try attrs.ints("explicit_paddings")
            guard pads.count == 8, pads.allSatisfy({ $0 >= 0 && $0 <= Self.maximumStep }), pads[0] == 0, pads[1] == 0, pads[6] == 0, pads[7] == 0 else {
                throw .invalidArgument("\(attrs.location): \(op) explicit_paddings \(pads) must hold 8 non-negative values padding only H and W")
            }
            padding = .explicit(rows: (pads[2], pads[3]), cols: (pads[4], pads[5]))
        case let other:
            throw .unimplemented("\(attrs.location): \(op) padding '\(other)' is not supported")
        }
    }

    /// Output size and leading padding along spatial axis 0 (rows) or 1 (columns).
    func geometry(input: Int, window: Int, axis: Int) -> (output: Int, padBefore: Int) {
        let stride = axis == 0 ? strides.0 : strides.1
        let dilation = axis == 0 ? dilations.0 : dilations.1
        switch padding {
        case .same: return windowGeometry(input: input, window: window, stride: stride, dilation: dilation, same: true)
        case .valid: return windowGeometry(input: input, window: window, stride: stride, dilation: dilation, same: false)
        case .explicit(let rows, let cols):
            let (before, after) = axis == 0 ? rows : cols
            let padded = input + before + after
            let effective = (window - 1) * dilation + 1
            return (padded >= effective ? (padded - effective) / stride + 1 : 0, before)
        }
    }
}

/// Conv2D in NHWC with HWIO filters as a GEMM of image patches (im2col) by the filter matrix.
///
/// Patches are built for a tile of output rows at a time, small enough to stay in cache while the GEMM
/// reads them, and an optional epilogue (bias, activation) runs on each output tile right after its
/// GEMM. A 1×1, stride-1 unpadded convolution multiplies the input directly.
struct Conv2DKernel: Kernel {
    let window: WindowAttributes
    var strides: (Int, Int) { window.strides }
    var dilations: (Int, Int) { window.dilations }
    /// Bytes of patches built per tile.
    static let patchTileBytes = 128 << 10

    init(attrs: AttrReader) throws(ServingError) {
        window = try WindowAttributes(attrs: attrs, op: "Conv2D")
    }

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 2, "Conv2D")
        return [try convolve(inputs[0], filter: inputs[1], epilogue: nil)]
    }

    /// `epilogue(conv(x, filter))`; with `packed`, also `+ residual` (a float32 tensor shaped like the output).
    func convolve(
        _ x: Tensor, filter: Tensor, epilogue: GEMMEpilogue?, packed: PackedWeights? = nil, residual: Tensor? = nil
    ) throws(ServingError) -> Tensor {
        try convolve(x, filterShape: filter.shape, filterType: filter.dtype, filter: filter, epilogue: epilogue,
                     packed: packed, residual: residual)
    }

    /// The same for a filter known by shape and type, with its values in `filter` or only in `packed`.
    /// Without `applyingActivation`, packed weights stop after the bias and residual.
    func convolve(
        _ x: Tensor, filterShape: Shape, filterType: DType, filter: Tensor?, epilogue: GEMMEpilogue?,
        packed: PackedWeights? = nil, residual: Tensor? = nil, applyingActivation: Bool = true
    ) throws(ServingError) -> Tensor {
        guard x.shape.rank == 4, filterShape.rank == 4 else {
            throw .invalidArgument("Conv2D expects rank-4 input and filter, got \(x.shape) and \(filterShape)")
        }
        guard x.dtype == filterType, x.dtype == .float32 || x.dtype == .float64 else {
            throw .unimplemented("Conv2D supports float32 and float64, got \(x.dtype) and \(filterType)")
        }
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (kh, kw, fc, o) = (filterShape[0], filterShape[1], filterShape[2], filterShape[3])
        guard fc == c, kh > 0, kw > 0 else {
            throw .invalidArgument("Conv2D filter \(filterShape) does not fit input channels of \(x.shape)")
        }
        try epilogue?.check(width: o)
        let rows = window.geometry(input: h, window: kh, axis: 0)
        let cols = window.geometry(input: w, window: kw, axis: 1)
        let outputShape: Shape = [n, rows.output, cols.output, o]
        let m = n * rows.output * cols.output, k = kh * kw * c
        guard m > 0, o > 0, k > 0 else { return try Tensor.allocate(x.dtype, outputShape).0 }
        guard Int32(exactly: m) != nil, Int32(exactly: o) != nil, Int32(exactly: k) != nil else {
            throw .invalidArgument("Conv2D \(x.shape) × \(filterShape) is too large")
        }
        let (result, _) = try Tensor.allocateUninitialized(x.dtype, outputShape)
        let geometry = PatchGeometry(
            height: h, width: w, channels: c, kernelHeight: kh, kernelWidth: kw,
            outputHeight: rows.output, outputWidth: cols.output, padTop: rows.padBefore, padLeft: cols.padBefore,
            strides: strides, dilations: dilations)
        if let packed, x.dtype == .float32, packed.k == k, packed.n == o,
           let image = x.elements(Float.self).baseAddress, let out = result.mutableElements(Float.self).baseAddress {
            if let residual {
                guard residual.dtype == .float32, residual.shape == outputShape, let added = residual.elements(Float.self).baseAddress else {
                    throw .internal("Conv2D residual \(residual.dtype)\(residual.shape) does not match the output \(outputShape)")
                }
                try packed.convolve(image, geometry, rows: m, residual: added, applyingActivation: applyingActivation, into: out)
            } else {
                try packed.convolve(image, geometry, rows: m, applyingActivation: applyingActivation, into: out)
            }
        } else if residual != nil {
            throw .internal("Conv2D adds a residual only through packed float32 weights")
        } else if let filter, x.dtype == .float32 {
            multiply(x, filter, result, geometry, m: m, o: o, k: k, epilogue: epilogue, Float.self)
        } else if let filter {
            multiply(x, filter, result, geometry, m: m, o: o, k: k, epilogue: epilogue, Double.self)
        } else {
            throw .internal("Conv2D filter \(filterShape) is kept only in packed form, which does not fit \(x.dtype)\(x.shape)")
        }
        return result
    }

    private func multiply<T: GEMMScalar>(
        _ x: Tensor, _ filter: Tensor, _ result: Tensor, _ geometry: PatchGeometry,
        m: Int, o: Int, k: Int, epilogue: GEMMEpilogue?, _: T.Type
    ) {
        guard let input = x.elements(T.self).baseAddress, let weights = filter.elements(T.self).baseAddress,
              let out = result.mutableElements(T.self).baseAddress else { return }
        let direct = geometry.kernelHeight == 1 && geometry.kernelWidth == 1 && strides == (1, 1)
            && geometry.padTop == 0 && geometry.padLeft == 0
            && geometry.outputHeight == geometry.height && geometry.outputWidth == geometry.width
        let tileRows = max(16, Self.patchTileBytes / (k * MemoryLayout<T>.stride))
        let patches = direct ? nil : UnsafeMutablePointer<T>.allocate(capacity: min(tileRows, m) * k)
        defer { patches?.deallocate() }
        var first = 0
        while first < m {
            let count = min(tileRows, m - first)
            let a: UnsafePointer<T>
            if let patches {
                geometry.gather(rows: first..<(first + count), from: input, into: patches)
                a = UnsafePointer(patches)
            } else {
                a = input + first * k
            }
            T.gemm(m: count, n: o, k: k, a: a, b: weights, c: out + first * o)
            if let epilogue, !epilogue.isIdentity { T.apply(epilogue, to: out + first * o, rows: count, width: o) }
            first += count
        }
    }
}

/// Where each output position of a convolution reads its input window: builds im2col patch rows.
struct PatchGeometry {
    let height, width, channels: Int
    let kernelHeight, kernelWidth: Int
    let outputHeight, outputWidth: Int
    let padTop, padLeft: Int
    let strides: (Int, Int)
    let dilations: (Int, Int)

    /// Writes one patch row (kernelHeight × kernelWidth × channels values, zeros where the window
    /// leaves the image) for each output position in `rows` (flattened batch, row, column).
    func gather<T>(rows: Range<Int>, from input: UnsafePointer<T>, into patches: UnsafeMutablePointer<T>) where T: FloatScalar {
        let c = channels, kw = kernelWidth
        let span = kw * c
        let perImage = outputHeight * outputWidth
        var target = patches
        for row in rows {
            let b = row / perImage, position = row - b * perImage
            let oy = position / outputWidth, ox = position - oy * outputWidth
            let image = input + b * height * width * c
            let x0 = ox * strides.1 - padLeft
            for ky in 0..<kernelHeight {
                let iy = oy * strides.0 + ky * dilations.0 - padTop
                guard iy >= 0, iy < height else {
                    target.update(repeating: 0, count: span)
                    target += span
                    continue
                }
                let line = image + iy * width * c
                if dilations.1 == 1 {
                    let firstValid = min(max(0, -x0), kw), lastValid = max(min(kw, width - x0), firstValid)
                    if firstValid > 0 { target.update(repeating: 0, count: firstValid * c) }
                    if lastValid > firstValid {
                        (target + firstValid * c).update(from: line + (x0 + firstValid) * c, count: (lastValid - firstValid) * c)
                    }
                    if lastValid < kw { (target + lastValid * c).update(repeating: 0, count: (kw - lastValid) * c) }
                } else {
                    for kx in 0..<kw {
                        let ix = x0 + kx * dilations.1
                        if ix >= 0 && ix < width {
                            (target + kx * c).update(from: line + ix * c, count: c)
                        } else {
                            (target + kx * c).update(repeating: 0, count: c)
                        }
                    }
                }
                target += span
            }
        }
    }
}

/// Conv2D whose filter is a load-time constant (possibly scaled by a folded per-channel multiplier),
/// with a fused bias/activation epilogue; the step reads the image only. A float32 filter is packed
/// for the AVX2/FMA kernel when the CPU has one; a 3×3 filter with strides and dilations 1 and channel
/// counts that are multiples of 8 is transformed for Winograd's F(2×2, 3×3) instead.
///
/// With `addsResidual` the step reads a second tensor and computes `activation(conv + bias + residual)`,
/// the end of a residual block, in the same pass.
struct FusedConv2DKernel: Kernel {
    let conv: Conv2DKernel
    let filterShape: Shape
    let filterType: DType
    /// The filter when it is not packed (only the packed copy is kept otherwise).
    private let plainFilter: Tensor?
    let epilogue: GEMMEpilogue
    let addsResidual: Bool
    let packed: PackedWeights?

    /// `winograd: false` keeps eligible filters on the direct route; `packed`, when given, must hold
    /// `filter` packed for this convolution and epilogue (shared between steps).
    init(conv: Conv2DKernel, filter: Tensor, epilogue: GEMMEpilogue, addsResidual: Bool = false, winograd: Bool = true,
         packed prebuilt: PackedWeights? = nil) {
        self.conv = conv
        self.epilogue = epilogue
        self.addsResidual = addsResidual
        filterShape = filter.shape
        filterType = filter.dtype
        packed = prebuilt ?? PackedWeights(filter: filter, epilogue: epilogue, winograd: winograd && Self.allowsWinograd(conv))
        plainFilter = packed == nil ? filter : nil
    }

    /// A filter of `shape` kept only as `packed` (packed for this convolution and epilogue).
    init(conv: Conv2DKernel, packed: PackedWeights, filterShape: Shape, epilogue: GEMMEpilogue, addsResidual: Bool) {
        self.conv = conv
        self.epilogue = epilogue
        self.addsResidual = addsResidual
        self.filterShape = filterShape
        filterType = .float32
        self.packed = packed
        plainFilter = nil
    }

    /// Whether the convolution's steps allow the Winograd route (the filter decides the rest).
    static func allowsWinograd(_ conv: Conv2DKernel) -> Bool {
        conv.strides == (1, 1) && conv.dilations == (1, 1)
    }

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        guard addsResidual else {
            try expectInputs(inputs, 1, "Conv2D")
            return [try convolve(inputs[0])]
        }
        try expectInputs(inputs, 2, "Conv2D + AddV2")
        let residual = inputs[1]
        if let packed, inputs[0].dtype == .float32, residual.dtype == .float32,
           let rows = conv.outputShape(inputs[0], filterShape: filterShape), residual.shape == rows {
            return [try convolve(inputs[0], packed: packed, residual: residual)]
        }
        let product: Tensor
        if packed != nil {
            product = try convolve(inputs[0], applyingActivation: false)
        } else {
            let biased = GEMMEpilogue(biasValues: epilogue.bias, activation: .none)
            product = try conv.convolve(inputs[0], filterShape: filterShape, filterType: filterType, filter: plainFilter,
                                        epilogue: biased)
        }
        let sum = try BinaryKernel<AddFunction>(op: "AddV2").run([product, residual])
        guard let activation = epilogue.activation.kernel else { return sum }
        return try activation.run(sum)
    }

    private func convolve(_ x: Tensor, packed: PackedWeights? = nil, residual: Tensor? = nil,
                          applyingActivation: Bool = true) throws(ServingError) -> Tensor {
        try conv.convolve(x, filterShape: filterShape, filterType: filterType, filter: plainFilter, epilogue: epilogue,
                          packed: packed ?? self.packed, residual: residual, applyingActivation: applyingActivation)
    }
}

extension Conv2DKernel {
    /// The output shape for a rank-4 `x`, or nil when the shapes do not fit (`convolve` then says why).
    func outputShape(_ x: Tensor, filterShape: Shape) -> Shape? {
        guard x.shape.rank == 4, filterShape.rank == 4, filterShape[0] > 0, filterShape[1] > 0 else { return nil }
        let rows = window.geometry(input: x.shape[1], window: filterShape[0], axis: 0)
        let cols = window.geometry(input: x.shape[2], window: filterShape[1], axis: 1)
        return [x.shape[0], rows.output, cols.output, filterShape[3]]
    }
}

/// MaxPool and AvgPool in NHWC; padded positions are ignored (AvgPool divides by the valid count).
struct PoolKernel: Kernel {
    let maximum: Bool
    let window: (Int, Int)
    let strides: (Int, Int)
    let same: Bool

    init(maximum: Bool, attrs: AttrReader) throws(ServingError) {
        let op = maximum ? "MaxPool" : "AvgPool"
        guard try attrs.string("data_format") == "NHWC" else {
            throw .unimplemented("\(attrs.location): \(op) supports data_format NHWC only")
        }
        let padding = try attrs.string("padding")
        guard padding == "SAME" || padding == "VALID" else {
            throw .unimplemented("\(attrs.location): \(op) padding '\(padding)' is not supported")
        }
        let ksize = try attrs.ints("ksize"), strides = try attrs.ints("strides")
        guard ksize.count == 4, strides.count == 4, ksize[0] == 1, ksize[3] == 1, strides[0] == 1, strides[3] == 1,
              ksize[1] > 0, ksize[2] > 0, strides[1] > 0, strides[2] > 0,
              (ksize + strides).allSatisfy({ $0 <= WindowAttributes.maximumStep })
        else { throw .unimplemented("\(attrs.location): \(op) ksize \(ksize) / strides \(strides) are not supported") }
        self.maximum = maximum
        self.window = (ksize[1], ksize[2])
        self.strides = (strides[1], strides[2])
        self.same = padding == "SAME"
    }

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        let op = maximum ? "MaxPool" : "AvgPool"
        try expectInputs(inputs, 1, op)
        let x = inputs[0]
        guard x.shape.rank == 4 else { throw .invalidArgument("\(op) expects a rank-4 input, got \(x.shape)") }
        switch x.dtype {
        case .float32: return [try pool(x, Float.self)]
        case .float64: return [try pool(x, Double.self)]
        default: throw .unimplemented("\(op) does not support \(x.dtype)")
        }
    }

    private func pool<T: FloatScalar>(_ x: Tensor, _: T.Type) throws(ServingError) -> Tensor {
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let rows = windowGeometry(input: h, window: window.0, stride: strides.0, dilation: 1, same: same)
        let cols = windowGeometry(input: w, window: window.1, stride: strides.1, dilation: 1, same: same)
        let (result, _) = try Tensor.allocateUninitialized(x.dtype, [n, rows.output, cols.output, c])
        guard result.elementCount > 0, let input = x.elements(T.self).baseAddress,
              let out = result.mutableElements(T.self).baseAddress else { return result }
        var offset = 0
        for b in 0..<n {
            for oy in 0..<rows.output {
                let y0 = max(oy * strides.0 - rows.padBefore, 0), y1 = min(oy * strides.0 - rows.padBefore + window.0, h)
                for ox in 0..<cols.output {
                    let x0 = max(ox * strides.1 - cols.padBefore, 0), x1 = min(ox * strides.1 - cols.padBefore + window.1, w)
                    let target = out + offset
                    let initial: T = maximum ? -.infinity : 0
                    for ch in 0..<c { target[ch] = initial }
                    for iy in y0..<max(y0, y1) {
                        for ix in x0..<max(x0, x1) {
                            let pixel = input + ((b * h + iy) * w + ix) * c
                            if maximum {
                                for ch in 0..<c {
                                    let v = pixel[ch]
                                    target[ch] = v > target[ch] || v.isNaN ? v : target[ch]
                                }
                            } else {
                                for ch in 0..<c { target[ch] += pixel[ch] }
                            }
                        }
                    }
                    if !maximum {
                        let count = max(y1 - y0, 0) * max(x1 - x0, 0)
                        if count > 0 {
                            let divisor = T(count)
                            for ch in 0..<c { target[ch] /= divisor }
                        } else {
                            for ch in 0..<c { target[ch] = 0 }
                        }
                    }
                    offset += c
                }
            }
        }
        return result
    }
}
