import Tensors

/// Activation applied in a GEMM epilogue.
enum EpilogueActivation: Sendable {
    case none, relu, relu6, sigmoid, tanh

    var opName: String {
        switch self {
        case .none: ""
        case .relu: "Relu"
        case .relu6: "Relu6"
        case .sigmoid: "Sigmoid"
        case .tanh: "Tanh"
        }
    }

    /// The standalone op applying this activation; nil for none.
    var kernel: (any Kernel)? {
        switch self {
        case .none: nil
        case .relu: UnaryKernel<ReluFunction>(op: "Relu")
        case .relu6: UnaryKernel<Relu6Function>(op: "Relu6")
        case .sigmoid: UnaryKernel<SigmoidFunction>(op: "Sigmoid")
        case .tanh: UnaryKernel<TanhFunction>(op: "Tanh")
        }
    }
}

/// `activation(row + bias)` applied to rows of a GEMM result (MatMul or convolution) right after they
/// are computed, while they are still in cache. The same arithmetic as the separate BiasAdd and
/// activation ops.
///
/// The loops are built in `init`, where the activation type is concrete, so each is compiled for
/// its function and element type.
struct GEMMEpilogue: Sendable {
    typealias Loop<T> = @Sendable (UnsafeMutablePointer<T>, _ rows: Int, _ width: Int) -> Void

    /// Per-column bias (one value = the same bias for every column); empty when there is none.
    let bias: [Double]
    let activation: EpilogueActivation
    private let float32Loop: Loop<Float>
    private let float64Loop: Loop<Double>

    init(bias: Tensor?, activation: EpilogueActivation) {
        var values: [Double] = []
        if let bias {
            switch bias.dtype {
            case .float32: values = bias.elements(Float.self).map { Double($0) }
            case .float64: values = Array(bias.elements(Double.self))
            default: break
            }
        }
        self.init(biasValues: values, activation: activation)
    }

    init(biasValues: [Double], activation: EpilogueActivation) {
        bias = biasValues
        self.activation = activation
        switch activation {
        case .none: (float32Loop, float64Loop) = Self.loops(IdentityActivation.self, biasValues)
        case .relu: (float32Loop, float64Loop) = Self.loops(ReluFunction.self, biasValues)
        case .relu6: (float32Loop, float64Loop) = Self.loops(Relu6Function.self, biasValues)
        case .sigmoid: (float32Loop, float64Loop) = Self.loops(SigmoidFunction.self, biasValues)
        case .tanh: (float32Loop, float64Loop) = Self.loops(TanhFunction.self, biasValues)
        }
    }

    /// Whether the epilogue changes anything.
    var isIdentity: Bool { bias.isEmpty && activation == .none }

    /// Checks the bias fits rows of `width` columns.
    func check(width: Int) throws(ServingError) {
        guard bias.isEmpty || bias.count == width || bias.count == 1 else {
            throw .invalidArgument("bias length \(bias.count) does not match \(width) output columns")
        }
    }

    @inline(__always)
    func apply(_ rows: UnsafeMutablePointer<Float>, rows count: Int, width: Int) {
        float32Loop(rows, count, width)
    }

    @inline(__always)
    func apply(_ rows: UnsafeMutablePointer<Double>, rows count: Int, width: Int) {
        float64Loop(rows, count, width)
    }

    private static func loops<F: UnaryFunction>(_ function: F.Type, _ bias: [Double]) -> (Loop<Float>, Loop<Double>) {
        (vectorLoop(function, bias.map { Float($0) }), loop(function, bias))
    }

    /// The float32 loop, eight lanes at a time.
    private static func vectorLoop<F: UnaryFunction>(_: F.Type, _ bias: [Float]) -> Loop<Float> {
        guard bias.count > 1 else {
            let uniform = bias.first ?? 0
            return { out, rows, width in
                apply(F.self, out, count: rows * width, bias: nil, uniform: uniform)
            }
        }
        return { out, rows, width in
            bias.withUnsafeBufferPointer { b in
                guard let perColumn = b.baseAddress else { return }
                for row in 0..<rows { apply(F.self, out + row * width, count: width, bias: perColumn, uniform: 0) }
            }
        }
    }

    /// `F(values[i] + (bias?[i] ?? uniform))` over `count` values.
    @inline(__always)
    private static func apply<F: UnaryFunction>(
        _: F.Type, _ values: UnsafeMutablePointer<Float>, count: Int, bias: UnsafePointer<Float>?, uniform: Float
    ) {
        let broadcast = SIMD8<Float>(repeating: uniform)
        var j = 0
        while j + 8 <= count {
            let address = UnsafeMutableRawPointer(values + j)
            let offset = bias.map { UnsafeRawPointer($0 + j).loadUnaligned(as: SIMD8<Float>.self) } ?? broadcast
            address.storeBytes(of: F.apply(address.loadUnaligned(as: SIMD8<Float>.self) + offset, 0), as: SIMD8<Float>.self)
            j += 8
        }
        while j < count {
            values[j] = F.apply(values[j] + (bias?[j] ?? uniform), 0)
            j += 1
        }
    }

    private static func loop<T: FloatScalar, F: UnaryFunction>(_: F.Type, _ bias: [T]) -> Loop<T> {
        if bias.isEmpty {
            return { out, rows, width in
                for i in 0..<(rows * width) { out[i] = F.apply(out[i], 0) }
            }
        }
        if bias.count == 1 {
            let scalar = bias[0]
            return { out, rows, width in
                for i in 0..<(rows * width) { out[i] = F.apply(out[i] + scalar, 0) }
            }
        }
        return { out, rows, width in
            bias.withUnsafeBufferPointer { b in
                var row = out
                for _ in 0..<rows {
                    for j in 0..<width { row[j] = F.apply(row[j] + b[j], 0) }
                    row += width
                }
            }
        }
    }
}

enum IdentityActivation: UnaryFunction {
    @inline(__always) static func apply<T: FloatScalar>(_ x: T, _: T) -> T { x }
    @inline(__always) static func apply(_ x: SIMD8<Float>, _: Float) -> SIMD8<Float> { x }
}
