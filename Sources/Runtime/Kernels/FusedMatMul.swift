import Tensors

/// MatMul followed by per-column scale, bias and activation in one step and one pass over the product:
/// `activation(a × b · scale + bias)`.
///
/// A folded scale (a constant multiplier after the product, as in an inference batch normalisation)
/// is already applied to `weights`, a constant right-hand side; the step then reads `a` only.
/// Without `weights` the step reads both operands, like MatMul. Constant float32 weights are packed
/// for the AVX2/FMA kernel when the CPU has one, and then only the packed copy is kept.
struct FusedMatMulKernel: Kernel {
    let matMul: MatMulKernel
    /// The constant right-hand side's shape and type; nil when the step reads it from its second input.
    let weightsShape: Shape?
    let weightsType: DType?
    /// The constant right-hand side when it is not packed.
    private let plainWeights: Tensor?
    let epilogue: GEMMEpilogue
    let packed: PackedWeights?

    /// `packed`, when given, must hold `weights` packed with this epilogue (shared between steps).
    init(matMul: MatMulKernel, weights: Tensor? = nil, epilogue: GEMMEpilogue, packed prebuilt: PackedWeights? = nil) {
        self.matMul = matMul
        self.epilogue = epilogue
        weightsShape = weights?.shape
        weightsType = weights?.dtype
        if let weights, !matMul.transposeA {
            packed = prebuilt ?? PackedWeights(matrix: weights, transposed: matMul.transposeB, epilogue: epilogue)
        } else {
            packed = nil
        }
        plainWeights = packed == nil ? weights : nil
    }

    /// A constant right-hand side of `shape` kept only as `packed` (packed with this epilogue).
    init(matMul: MatMulKernel, packed: PackedWeights, shape: Shape, epilogue: GEMMEpilogue) {
        self.matMul = matMul
        self.epilogue = epilogue
        weightsShape = shape
        weightsType = .float32
        self.packed = packed
        plainWeights = nil
    }

    /// The constant right-hand side as MatMul reads it, rebuilt from the packed panels when only those are
    /// kept (for load-time pattern matching; a run never needs it).
    var weights: Tensor? { plainWeights ?? packed?.matrix(transposed: matMul.transposeB) }

    init(matMul: MatMulKernel, bias: Tensor?, activation: EpilogueActivation) {
        self.init(matMul: matMul, epilogue: GEMMEpilogue(bias: bias, activation: activation))
    }

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        let product: Tensor
        if let weightsShape, let weightsType {
            try expectInputs(inputs, 1, "MatMul")
            let a = inputs[0]
            if let packed {
                guard a.dtype == .float32, a.shape.rank == 2, a.shape[1] == packed.k else {
                    _ = try matMul.checkOperands(a.dtype, a.shape, weightsType, weightsShape)
                    throw .internal("packed MatMul cannot take \(a.dtype)\(a.shape)")
                }
                return [try multiplyPacked(a, packed)]
            }
            guard let plainWeights else { throw .internal("MatMul lost its constant weights") }
            product = try matMul.run([a, plainWeights])[0]
        } else {
            product = try matMul.run(inputs)[0]
        }
        let rows = product.shape[0], width = product.shape[1]
        try epilogue.check(width: width)
        guard rows > 0, width > 0 else { return [product] }
        switch product.dtype {
        case .float32:
            if let out = product.mutableElements(Float.self).baseAddress { epilogue.apply(out, rows: rows, width: width) }
        case .float64:
            if let out = product.mutableElements(Double.self).baseAddress { epilogue.apply(out, rows: rows, width: width) }
        default:
            throw .unimplemented("fused MatMul epilogue does not support \(product.dtype)")
        }
        return [product]
    }

    private func multiplyPacked(_ a: Tensor, _ packed: PackedWeights) throws(ServingError) -> Tensor {
        let m = a.shape[0]
        guard m > 0 else { return try Tensor.allocate(.float32, [0, packed.n]).0 }
        let (result, _) = try Tensor.allocateUninitialized(.float32, [m, packed.n])
        guard let rows = a.elements(Float.self).baseAddress, let out = result.mutableElements(Float.self).baseAddress else {
            return result
        }
        try packed.multiply(rows, rows: m, lda: packed.k, into: out)
        return result
    }
}
