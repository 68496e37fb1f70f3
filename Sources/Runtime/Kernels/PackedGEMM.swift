import CKernels
import Tensors

/// Constant float32 weights packed once, at load time, for the AVX2/FMA GEMM in `CKernels`, with the
/// bias and activation that run as the GEMM stores its results.
///
/// Only built when the CPU supports the kernels; otherwise kernels keep their OpenBLAS path.
final class PackedWeights: @unchecked Sendable {
    static let isSupported = pg_supported() != 0

    /// Rows (inner dimension) and columns (outputs) of the packed matrix.
    let k: Int
    let n: Int
    private let storage: UnsafeMutablePointer<Float>
    /// The packed panels, for C steps that run the product themselves (their bias and activation are theirs).
    var panels: UnsafePointer<Float> { UnsafePointer(storage) }
    /// Whether `storage` holds Winograd-transformed 3×3 filter matrices (convolutions only).
    let isWinograd: Bool
    /// n values, or empty.
    private let bias: [Float]
    private let activation: Int32
    /// An activation the packed kernel does not apply itself (sigmoid, tanh), run over the result after.
    private let remainder: GEMMEpilogue?

    /// Packs a MatMul right-hand side: `weights` is k×n, or n×k when `transposed`.
    convenience init?(matrix weights: Tensor, transposed: Bool, epilogue: GEMMEpilogue) {
        guard Self.isSupported, weights.dtype == .float32, weights.shape.rank == 2 else { return nil }
        let k = transposed ? weights.shape[1] : weights.shape[0]
        let n = transposed ? weights.shape[0] : weights.shape[1]
        self.init(weights.elements(Float.self), k: k, n: n, rowStride: weights.shape[1], transposed: transposed, epilogue: epilogue)
    }

    /// Packs an HWIO convolution filter as a (kh·kw·in)×out matrix, or, with `winograd` (the convolution
    /// has strides and dilations 1) and a 3×3 filter whose channel counts are multiples of 8, as the 16
    /// transformed matrices of `pg_winograd_conv`.
    convenience init?(filter: Tensor, epilogue: GEMMEpilogue, winograd: Bool = false) {
        guard Self.isSupported, filter.dtype == .float32, filter.shape.rank == 4 else { return nil }
        let (kh, kw, cin, n) = (filter.shape[0], filter.shape[1], filter.shape[2], filter.shape[3])
        let values = filter.elements(Float.self)
        guard let base = values.baseAddress, values.count >= kh * kw * cin * n else { return nil }
        if winograd, kh == 3, kw == 3, cin % 8 == 0, n % 8 == 0, cin > 0, n > 0,
           let cin32 = Int32(exactly: cin), let n32 = Int32(exactly: n) {
            let size = pg_winograd_size(cin32, n32)
            guard size > 0, size < Int32.max else { return nil }
            self.init(k: kh * kw * cin, n: n, size: size, winograd: true, epilogue: epilogue) { pg_winograd_pack(base, cin32, n32, $0) == 0 }
        } else {
            self.init(values, k: kh * kw * cin, n: n, rowStride: n, transposed: false, epilogue: epilogue)
        }
    }

    private convenience init?(_ values: UnsafeBufferPointer<Float>, k: Int, n: Int, rowStride: Int, transposed: Bool, epilogue: GEMMEpilogue) {
        guard k > 0, n > 0, let k32 = Int32(exactly: k), let n32 = Int32(exactly: n), let stride32 = Int32(exactly: rowStride),
              let base = values.baseAddress, values.count >= k * n else { return nil }
        let size = pg_packed_size(k32, n32)
        guard size > 0, size < Int32.max else { return nil }
        self.init(k: k, n: n, size: size, winograd: false, epilogue: epilogue) {
            pg_pack_weights(base, k32, n32, stride32, transposed ? 1 : 0, $0)
            return true
        }
    }

    /// `pack` fills the storage; false when it could not.
    private init?(k: Int, n: Int, size: Int, winograd: Bool, epilogue: GEMMEpilogue, pack: (UnsafeMutablePointer<Float>) -> Bool) {
        guard epilogue.bias.isEmpty || epilogue.bias.count == n || epilogue.bias.count == 1 else { return nil }
        let storage = UnsafeMutablePointer<Float>.allocate(capacity: size)
        guard pack(storage) else {
            storage.deallocate()
            return nil
        }
        self.k = k
        self.n = n
        self.isWinograd = winograd
        self.storage = storage
        switch epilogue.bias.count {
        case 0: bias = []
        case 1: bias = [Float](repeating: Float(epilogue.bias[0]), count: n)
        default: bias = epilogue.bias.map { Float($0) }
        }
        switch epilogue.activation {
        case .none: (activation, remainder) = (Int32(PG_NONE.rawValue), nil)
        case .relu: (activation, remainder) = (Int32(PG_RELU.rawValue), nil)
        case .relu6: (activation, remainder) = (Int32(PG_RELU6.rawValue), nil)
        case .sigmoid, .tanh: (activation, remainder) = (Int32(PG_NONE.rawValue), GEMMEpilogue(biasValues: [], activation: epilogue.activation))
        }
    }

    deinit { storage.deallocate() }

    /// The k×n matrix (n×k when `transposed`) these panels were packed from; nil for Winograd filters.
    func matrix(transposed: Bool) -> Tensor? {
        guard !isWinograd else { return nil }
        let width = Int(PG_PANEL_WIDTH)
        var values = [Float](repeating: 0, count: k * n)
        for column in 0..<n {
            let panel = storage + (column / width) * width * k + column % width
            for row in 0..<k {
                values[transposed ? column * k + row : row * n + column] = panel[row * width]
            }
        }
        return Tensor(values, shape: transposed ? [n, k] : [k, n])
    }

    /// `c = activation(a × weights + bias + residual)` for `m` rows of `a` (row stride `lda`); c, and
    /// residual when given, have row stride n.
    func multiply(
        _ a: UnsafePointer<Float>, rows m: Int, lda: Int, residual: UnsafePointer<Float>? = nil, into c: UnsafeMutablePointer<Float>
    ) throws(ServingError) {
        guard !isWinograd else { throw .internal("Winograd-transformed weights used as a matrix") }
        guard let m32 = Int32(exactly: m), let lda32 = Int32(exactly: lda) else {
            throw .invalidArgument("a \(m)×\(k) operand is too large")
        }
        let status = bias.withUnsafeBufferPointer { b in
            pg_gemm_dense(m32, Int32(n), Int32(k), a, lda32, storage, b.isEmpty ? nil : b.baseAddress, residual, activation, c)
        }
        try finish(status, c, rows: m)
    }

    /// The same for a convolution whose patch rows are read straight from the image.
    /// Without `applyingActivation` the result is `patches × B + bias + residual`.
    func convolve(
        _ image: UnsafePointer<Float>, _ geometry: PatchGeometry, rows m: Int, residual: UnsafePointer<Float>? = nil,
        applyingActivation: Bool = true, into c: UnsafeMutablePointer<Float>
    ) throws(ServingError) {
        let narrow = [geometry.height, geometry.width, geometry.channels, geometry.kernelHeight, geometry.kernelWidth,
                      geometry.outputHeight, geometry.outputWidth, geometry.padTop, geometry.padLeft,
                      geometry.strides.0, geometry.strides.1, geometry.dilations.0, geometry.dilations.1, m].map { Int32(exactly: $0) }
        guard narrow.allSatisfy({ $0 != nil }) else { throw .invalidArgument("convolution with \(m) output positions is too large") }
        let description = pg_conv_geometry(
            image: image, height: Int32(geometry.height), width: Int32(geometry.width), channels: Int32(geometry.channels),
            kernel_h: Int32(geometry.kernelHeight), kernel_w: Int32(geometry.kernelWidth),
            out_h: Int32(geometry.outputHeight), out_w: Int32(geometry.outputWidth),
            pad_top: Int32(geometry.padTop), pad_left: Int32(geometry.padLeft),
            stride_h: Int32(geometry.strides.0), stride_w: Int32(geometry.strides.1),
            dilation_h: Int32(geometry.dilations.0), dilation_w: Int32(geometry.dilations.1))
        let perImage = geometry.outputHeight * geometry.outputWidth
        let activation = applyingActivation ? self.activation : Int32(PG_NONE.rawValue)
        let status = withUnsafePointer(to: description) { g in
            bias.withUnsafeBufferPointer { b in
                isWinograd
                    ? pg_winograd_conv(Int32(perImage > 0 ? m / perImage : 0), g, Int32(n), storage, b.isEmpty ? nil : b.baseAddress,
                                       residual, activation, c)
                    : pg_gemm_conv(Int32(m), Int32(n), Int32(k), g, storage, b.isEmpty ? nil : b.baseAddress, residual, activation, c)
            }
        }
        try finish(status, c, rows: m, applyingActivation: applyingActivation)
    }

    private func finish(_ status: Int32, _ c: UnsafeMutablePointer<Float>, rows: Int, applyingActivation: Bool = true) throws(ServingError) {
        guard status == 0 else { throw .resourceExhausted("could not allocate GEMM working memory") }
        if applyingActivation { remainder?.apply(c, rows: rows, width: n) }
    }
}
