import COpenBLAS
import Tensors

/// MatMul of two rank-2 tensors; float32/float64 through OpenBLAS GEMM, integers by a plain loop.
struct MatMulKernel: Kernel {
    let transposeA: Bool
    let transposeB: Bool

    /// The product's dimensions, or the error MatMul gives for operands of these types and shapes.
    func checkOperands(_ aType: DType, _ aShape: Shape, _ bType: DType, _ bShape: Shape) throws(ServingError) -> (m: Int, k: Int, n: Int) {
        guard aType == bType else {
            throw .invalidArgument("MatMul operands differ in type: \(aType) and \(bType)")
        }
        guard aShape.rank == 2, bShape.rank == 2 else {
            throw .invalidArgument("MatMul expects rank-2 operands, got \(aShape) and \(bShape)")
        }
        let m = transposeA ? aShape[1] : aShape[0]
        let k = transposeA ? aShape[0] : aShape[1]
        let kb = transposeB ? bShape[1] : bShape[0]
        let n = transposeB ? bShape[0] : bShape[1]
        guard k == kb else {
            throw .invalidArgument(
                "MatMul inner dimensions differ: \(aShape)\(transposeA ? "ᵀ" : "") × \(bShape)\(transposeB ? "ᵀ" : "")")
        }
        return (m, k, n)
    }

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 2, "MatMul")
        let a = inputs[0], b = inputs[1]
        let (m, k, n) = try checkOperands(a.dtype, a.shape, b.dtype, b.shape)
        if m == 0 || n == 0 || k == 0 { return [try Tensor.allocate(a.dtype, [m, n]).0] }
        let (result, _) = try Tensor.allocateUninitialized(a.dtype, [m, n])
        guard let m32 = Int32(exactly: m), let n32 = Int32(exactly: n), let k32 = Int32(exactly: k) else {
            throw .invalidArgument("MatMul dimensions \(a.shape) × \(b.shape) are too large")
        }
        let lda = Int32(a.shape[1]), ldb = Int32(b.shape[1])
        let ta = transposeA ? CblasTrans : CblasNoTrans
        let tb = transposeB ? CblasTrans : CblasNoTrans
        switch a.dtype {
        case .float32 where m == 1:
            // One row: a matrix-vector product, which OpenBLAS does faster than a 1-row sgemm.
            let rows = transposeB ? n32 : k32, columns = transposeB ? k32 : n32
            cblas_sgemv(CblasRowMajor, transposeB ? CblasNoTrans : CblasTrans, rows, columns, 1,
                        b.elements(Float.self).baseAddress, ldb,
                        a.elements(Float.self).baseAddress, 1, 0,
                        result.mutableElements(Float.self).baseAddress, 1)
        case .float32:
            cblas_sgemm(CblasRowMajor, ta, tb, m32, n32, k32, 1,
                        a.elements(Float.self).baseAddress, lda,
                        b.elements(Float.self).baseAddress, ldb, 0,
                        result.mutableElements(Float.self).baseAddress, n32)
        case .float64:
            cblas_dgemm(CblasRowMajor, ta, tb, m32, n32, k32, 1,
                        a.elements(Double.self).baseAddress, lda,
                        b.elements(Double.self).baseAddress, ldb, 0,
                        result.mutableElements(Double.self).baseAddress, n32)
        case .int32:
            naive(a, b, result, m: m, n: n, k: k, Int32.self)
        case .int64:
            naive(a, b, result, m: m, n: n, k: k, Int64.self)
        default:
            throw .unimplemented("MatMul does not support \(a.dtype)")
        }
        return [result]
    }

    private func naive<T: ArithmeticScalar>(_ a: Tensor, _ b: Tensor, _ c: Tensor, m: Int, n: Int, k: Int, _: T.Type) {
        let x = a.elements(T.self), y = b.elements(T.self), out = c.mutableElements(T.self)
        let lda = a.shape[1], ldb = b.shape[1]
        for i in 0..<m {
            for j in 0..<n {
                var sum = T.zero
                for p in 0..<k {
                    let av = transposeA ? x[p * lda + i] : x[i * lda + p]
                    let bv = transposeB ? y[j * ldb + p] : y[p * ldb + j]
                    sum = T.add(sum, T.multiply(av, bv))
                }
                out[i * n + j] = sum
            }
        }
    }
}
