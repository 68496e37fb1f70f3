import Tensors

/// Strides, dilations and SAME/VALID padding of a channels-last window over `spatialRank` axes
/// (Conv3D, the convolution input gradients, the 3-D pools).
struct VolumeWindowAttributes: Sendable {
    let strides: [Int]
    let dilations: [Int]
    let same: Bool

    init(attrs: AttrReader, op: String, spatialRank: Int, format: String, stridesAttr: String = "strides",
         readsDilations: Bool = true) throws(ServingError) {
        let found = try attrs.string("data_format")
        guard found == format else {
            throw .unimplemented("\(attrs.location): \(op) data_format '\(found)' is not supported (\(format) is)")
        }
        let strides = try attrs.ints(stridesAttr)
        let dilations = readsDilations ? try attrs.ints("dilations") : [Int](repeating: 1, count: spatialRank + 2)
        let rank = spatialRank + 2
        guard strides.count == rank, dilations.count == rank, strides[0] == 1, strides[rank - 1] == 1,
              dilations[0] == 1, dilations[rank - 1] == 1,
              (strides + dilations).allSatisfy({ $0 > 0 && $0 <= WindowAttributes.maximumStep })
        else {
            throw .invalidArgument("\(attrs.location): \(op) \(stridesAttr) \(strides) / dilations \(dilations) must hold "
                + "\(rank) positive values with 1 for batch and channels")
        }
        self.strides = Array(strides[1..<(rank - 1)])
        self.dilations = Array(dilations[1..<(rank - 1)])
        switch try attrs.string("padding") {
        case "SAME": same = true
        case "VALID": same = false
        case let other: throw .unimplemented("\(attrs.location): \(op) padding '\(other)' is not supported (SAME and VALID are)")
        }
    }

    /// The placement of a `window` over a channels-last input of `batch` × `input` × `channels`.
    func volume(batch: Int, input: [Int], window: [Int], channels: Int) -> ConvolutionVolume {
        var output: [Int] = [], padBefore: [Int] = []
        for axis in input.indices {
            let geometry = windowGeometry(input: input[axis], window: window[axis], stride: strides[axis],
                                          dilation: dilations[axis], same: same)
            output.append(geometry.output)
            padBefore.append(geometry.padBefore)
        }
        return ConvolutionVolume(batch: batch, input: input, window: window, output: output, padBefore: padBefore,
                                 strides: strides, dilations: dilations, channels: channels)
    }
}

/// Where every output position of a channels-last window operation reads its input, over any number
/// of spatial axes: builds im2col patch rows and scatters patch gradients back.
struct ConvolutionVolume {
    let batch: Int
    let input: [Int]
    let window: [Int]
    let output: [Int]
    let padBefore: [Int]
    let strides: [Int]
    let dilations: [Int]
    let channels: Int
    /// Per window position, its offset along each axis (window index × dilation).
    private let windowOffsets: [Int]

    init(batch: Int, input: [Int], window: [Int], output: [Int], padBefore: [Int], strides: [Int], dilations: [Int], channels: Int) {
        self.batch = batch
        self.input = input
        self.window = window
        self.output = output
        self.padBefore = padBefore
        self.strides = strides
        self.dilations = dilations
        self.channels = channels
        var offsets: [Int] = []
        let positions = window.reduce(1, *)
        for position in 0..<positions {
            var rest = position
            var axisOffsets = [Int](repeating: 0, count: window.count)
            for axis in window.indices.reversed() {
                axisOffsets[axis] = (rest % window[axis]) * dilations[axis]
                rest /= window[axis]
            }
            offsets.append(contentsOf: axisOffsets)
        }
        windowOffsets = offsets
    }

    var windowPositions: Int { window.reduce(1, *) }
    var outputPositions: Int { output.reduce(1, *) }
    var inputPositions: Int { input.reduce(1, *) }
    /// Rows of the patch matrix: every output position of every batch entry.
    var rows: Int { batch * outputPositions }
    var patchWidth: Int { windowPositions * channels }

    /// Calls `body(position, inputOffset)` for each window position of output `row` that falls inside the
    /// input; `inputOffset` counts elements from the start of the input tensor.
    @inline(__always)
    func forEachTap(row: Int, origin: inout [Int], _ body: (Int, Int) -> Void) {
        let perImage = outputPositions
        let b = row / perImage
        var rest = row - b * perImage
        for axis in output.indices.reversed() {
            origin[axis] = (rest % output[axis]) * strides[axis] - padBefore[axis]
            rest /= output[axis]
        }
        let base = b * inputPositions
        let rank = input.count
        positions: for position in 0..<windowPositions {
            var linear = 0
            for axis in 0..<rank {
                let index = origin[axis] + windowOffsets[position * rank + axis]
                guard index >= 0, index < input[axis] else { continue positions }
                linear = linear * input[axis] + index
            }
            body(position, (base + linear) * channels)
        }
    }

    /// One patch row (window positions × channels, zeros outside the input) per row in `rows`.
    func gather<T: FloatScalar>(rows: Range<Int>, from source: UnsafePointer<T>, into patches: UnsafeMutablePointer<T>) {
        let width = patchWidth, c = channels
        var origin = [Int](repeating: 0, count: input.count)
        var target = patches
        for row in rows {
            target.update(repeating: 0, count: width)
            let rowTarget = target
            forEachTap(row: row, origin: &origin) { position, offset in
                (rowTarget + position * c).update(from: source + offset, count: c)
            }
            target += width
        }
    }

    /// Adds each patch row back onto the input positions it was gathered from (the im2col adjoint).
    func scatterAdd<T: FloatScalar>(rows: Range<Int>, from patches: UnsafePointer<T>, into target: UnsafeMutablePointer<T>) {
        let width = patchWidth, c = channels
        var origin = [Int](repeating: 0, count: input.count)
        var source = patches
        for row in rows {
            let rowSource = source
            forEachTap(row: row, origin: &origin) { position, offset in
                let from = rowSource + position * c, to = target + offset
                for ch in 0..<c { to[ch] += from[ch] }
            }
            source += width
        }
    }
}

/// Conv3D (NDHWC input, DHWIO filter) as im2col tiles multiplied by the filter matrix.
struct Conv3DKernel: Kernel {
    let location: String
    let window: VolumeWindowAttributes

    init(attrs: AttrReader) throws(ServingError) {
        location = attrs.location
        window = try VolumeWindowAttributes(attrs: attrs, op: "Conv3D", spatialRank: 3, format: "NDHWC")
    }

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 2, "\(location): Conv3D")
        let x = inputs[0], filter = inputs[1]
        guard x.shape.rank == 5, filter.shape.rank == 5 else {
            throw .invalidArgument("\(location): Conv3D expects rank-5 input and filter, got \(x.shape) and \(filter.shape)")
        }
        guard x.dtype == filter.dtype, x.dtype == .float32 || x.dtype == .float64 else {
            throw .unimplemented("\(location): Conv3D supports float32 and float64, got \(x.dtype) and \(filter.dtype)")
        }
        let dims = x.shape.dims, f = filter.shape.dims
        guard f[3] == dims[4], f[0] > 0, f[1] > 0, f[2] > 0 else {
            throw .invalidArgument("\(location): Conv3D filter \(filter.shape) does not fit the input channels of \(x.shape)")
        }
        let volume = window.volume(batch: dims[0], input: Array(dims[1...3]), window: Array(f[0...2]), channels: dims[4])
        let (result, _) = try Tensor.allocate(x.dtype, Shape([dims[0]] + volume.output + [f[4]]))
        try checkGEMMSize(volume, f[4], location: location, op: "Conv3D")
        if x.dtype == .float32 {
            convolve(x, filter, result, volume, outputs: f[4], Float.self)
        } else {
            convolve(x, filter, result, volume, outputs: f[4], Double.self)
        }
        return [result]
    }

    private func convolve<T: GEMMScalar>(_ x: Tensor, _ filter: Tensor, _ result: Tensor, _ volume: ConvolutionVolume,
                                         outputs: Int, _: T.Type) {
        let m = volume.rows, k = volume.patchWidth
        guard m > 0, k > 0, outputs > 0, let source = x.elements(T.self).baseAddress,
              let weights = filter.elements(T.self).baseAddress, let out = result.mutableElements(T.self).baseAddress else { return }
        let tileRows = min(m, max(16, Conv2DKernel.patchTileBytes / (k * MemoryLayout<T>.stride)))
        let patches = UnsafeMutablePointer<T>.allocate(capacity: tileRows * k)
        defer { patches.deallocate() }
        var first = 0
        while first < m {
            let count = min(tileRows, m - first)
            volume.gather(rows: first..<(first + count), from: source, into: patches)
            T.gemm(m: count, n: outputs, k: k, a: patches, b: weights, c: out + first * outputs)
            first += count
        }
    }
}

/// Conv2DBackpropInput / Conv3DBackpropInputV2, the layers Conv1DTranspose, Conv2DTranspose and
/// Conv3DTranspose lower to: the output gradient times the transposed filter gives patch gradients,
/// which are scattered back onto the input positions their windows read.
struct ConvolutionBackpropInputKernel: Kernel {
    let op: String
    let location: String
    let spatialRank: Int
    let window: VolumeWindowAttributes

    init(op: String, spatialRank: Int, attrs: AttrReader) throws(ServingError) {
        self.op = op
        self.spatialRank = spatialRank
        location = attrs.location
        window = try VolumeWindowAttributes(attrs: attrs, op: op, spatialRank: spatialRank,
                                            format: spatialRank == 2 ? "NHWC" : "NDHWC")
    }

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 3, "\(location): \(op)")
        let sizes = try inputs[0].integerValues(), filter = inputs[1], gradient = inputs[2]
        let rank = spatialRank + 2
        guard sizes.count == rank, sizes.allSatisfy({ $0 >= 0 }), filter.shape.rank == rank, gradient.shape.rank == rank else {
            throw .invalidArgument("\(location): \(op) expects \(rank) input sizes and rank-\(rank) filter and gradient, got "
                + "\(sizes), \(filter.shape) and \(gradient.shape)")
        }
        guard filter.dtype == gradient.dtype, filter.dtype == .float32 || filter.dtype == .float64 else {
            throw .unimplemented("\(location): \(op) supports float32 and float64, got \(filter.dtype) and \(gradient.dtype)")
        }
        let f = filter.shape.dims, g = gradient.shape.dims
        let windowDims = Array(f[0..<spatialRank])
        guard f[spatialRank] == sizes[rank - 1], f[spatialRank + 1] == g[rank - 1], g[0] == sizes[0],
              windowDims.allSatisfy({ $0 > 0 }) else {
            throw .invalidArgument("\(location): \(op) filter \(filter.shape) does not fit input sizes \(sizes) and gradient \(gradient.shape)")
        }
        let volume = window.volume(batch: sizes[0], input: Array(sizes[1..<(rank - 1)]), window: windowDims, channels: sizes[rank - 1])
        guard volume.output == Array(g[1..<(rank - 1)]) else {
            throw .invalidArgument("\(location): \(op) gradient \(gradient.shape) does not match the forward output "
                + "\(volume.output) of input sizes \(sizes)")
        }
        let (result, _) = try Tensor.allocate(filter.dtype, Shape(sizes))
        try checkGEMMSize(volume, g[rank - 1], location: location, op: op)
        if filter.dtype == .float32 {
            backpropagate(gradient, filter, result, volume, outputs: g[rank - 1], Float.self)
        } else {
            backpropagate(gradient, filter, result, volume, outputs: g[rank - 1], Double.self)
        }
        return [result]
    }

    private func backpropagate<T: GEMMScalar>(_ gradient: Tensor, _ filter: Tensor, _ result: Tensor, _ volume: ConvolutionVolume,
                                              outputs: Int, _: T.Type) {
        let m = volume.rows, k = volume.patchWidth
        guard m > 0, k > 0, outputs > 0, let dy = gradient.elements(T.self).baseAddress,
              let weights = filter.elements(T.self).baseAddress, let out = result.mutableElements(T.self).baseAddress else { return }
        let transposed = UnsafeMutablePointer<T>.allocate(capacity: k * outputs)
        defer { transposed.deallocate() }
        for row in 0..<k {
            for column in 0..<outputs { transposed[column * k + row] = weights[row * outputs + column] }
        }
        let tileRows = min(m, max(16, Conv2DKernel.patchTileBytes / (k * MemoryLayout<T>.stride)))
        let patches = UnsafeMutablePointer<T>.allocate(capacity: tileRows * k)
        defer { patches.deallocate() }
        var first = 0
        while first < m {
            let count = min(tileRows, m - first)
            T.gemm(m: count, n: k, k: outputs, a: dy + first * outputs, b: transposed, c: patches)
            volume.scatterAdd(rows: first..<(first + count), from: patches, into: out)
            first += count
        }
    }
}

/// Rejects products whose GEMM dimensions do not fit BLAS's 32-bit sizes.
private func checkGEMMSize(_ volume: ConvolutionVolume, _ outputs: Int, location: String, op: String) throws(ServingError) {
    guard Int32(exactly: volume.rows) != nil, Int32(exactly: volume.patchWidth) != nil, Int32(exactly: outputs) != nil else {
        throw .invalidArgument("\(location): \(op) is too large (\(volume.rows) × \(volume.patchWidth) × \(outputs))")
    }
}

/// MaxPool3D / AvgPool3D in NDHWC; padded positions are ignored (AvgPool3D divides by the valid count).
struct Pool3DKernel: Kernel {
    let op: String
    let location: String
    let maximum: Bool
    let window: VolumeWindowAttributes
    let size: [Int]

    init(maximum: Bool, attrs: AttrReader) throws(ServingError) {
        op = maximum ? "MaxPool3D" : "AvgPool3D"
        location = attrs.location
        self.maximum = maximum
        window = try VolumeWindowAttributes(attrs: attrs, op: op, spatialRank: 3, format: "NDHWC", readsDilations: false)
        let ksize = try attrs.ints("ksize")
        guard ksize.count == 5, ksize[0] == 1, ksize[4] == 1, ksize.allSatisfy({ $0 > 0 && $0 <= WindowAttributes.maximumStep }) else {
            throw .invalidArgument("\(attrs.location): \(op) ksize \(ksize) must hold 5 positive values with 1 for batch and channels")
        }
        size = Array(ksize[1...3])
    }

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 1, "\(location): \(op)")
        let x = inputs[0]
        guard x.shape.rank == 5 else { throw .invalidArgument("\(location): \(op) expects a rank-5 input, got \(x.shape)") }
        switch x.dtype {
        case .float32: return [try pool(x, Float.self)]
        case .float64: return [try pool(x, Double.self)]
        default: throw .unimplemented("\(location): \(op) does not support \(x.dtype)")
        }
    }

    private func pool<T: FloatScalar>(_ x: Tensor, _: T.Type) throws(ServingError) -> Tensor {
        let dims = x.shape.dims, c = dims[4]
        let volume = window.volume(batch: dims[0], input: Array(dims[1...3]), window: size, channels: c)
        let (result, _) = try Tensor.allocate(x.dtype, Shape([dims[0]] + volume.output + [c]))
        guard result.elementCount > 0, let source = x.elements(T.self).baseAddress,
              let out = result.mutableElements(T.self).baseAddress else { return result }
        var origin = [Int](repeating: 0, count: 3)
        let maximum = maximum
        for row in 0..<volume.rows {
            let target = out + row * c
            if maximum { for ch in 0..<c { target[ch] = -.infinity } }
            var count = 0
            volume.forEachTap(row: row, origin: &origin) { _, offset in
                let pixel = source + offset
                count += 1
                if maximum {
                    for ch in 0..<c {
                        let v = pixel[ch]
                        target[ch] = v > target[ch] || v.isNaN ? v : target[ch]
                    }
                } else {
                    for ch in 0..<c { target[ch] += pixel[ch] }
                }
            }
            if !maximum && count > 0 {
                let divisor = T(count)
                for ch in 0..<c { target[ch] /= divisor }
            }
        }
        return result
    }
}
