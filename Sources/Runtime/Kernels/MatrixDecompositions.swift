import Foundation
import Tensors

// Matrix decompositions over the innermost two axes, computed in double precision and rounded to the
// input's type. Each follows the convention of the Eigen solver TensorFlow's CPU kernel uses, so that
// outputs which are only defined up to a choice (signs of Householder reflections, pivot rows) agree.

/// A row-major square or rectangular matrix of doubles.
private struct DenseMatrix {
    let rows: Int, columns: Int
    var values: [Double]

    init(rows: Int, columns: Int, values: [Double]) {
        self.rows = rows
        self.columns = columns
        self.values = values
    }

    init(identity rows: Int, columns: Int) {
        self.init(rows: rows, columns: columns, values: [Double](repeating: 0, count: rows * columns))
        for i in 0..<min(rows, columns) { values[i * columns + i] = 1 }
    }

    subscript(row: Int, column: Int) -> Double {
        get { values[row * columns + column] }
        set { values[row * columns + column] = newValue }
    }

    /// Columns p and q replaced by `c·p − s·q` and `s·p + c·q`.
    mutating func rotateColumns(_ p: Int, _ q: Int, c: Double, s: Double) {
        for i in 0..<rows {
            let x = self[i, p], y = self[i, q]
            self[i, p] = c * x - s * y
            self[i, q] = s * x + c * y
        }
    }

    /// Rows p and q replaced by `c·p − s·q` and `s·p + c·q`.
    mutating func rotateRows(_ p: Int, _ q: Int, c: Double, s: Double) {
        for j in 0..<columns {
            let x = self[p, j], y = self[q, j]
            self[p, j] = c * x - s * y
            self[q, j] = s * x + c * y
        }
    }

    /// Applies the Householder reflection `I − tau·v·vᵀ` to rows `start...` of each of `columns`.
    mutating func reflect(rowsFrom start: Int, columns: Range<Int>, vector: [Double], tau: Double) {
        for j in columns {
            var dot = 0.0
            for i in 0..<vector.count { dot += vector[i] * self[start + i, j] }
            for i in 0..<vector.count { self[start + i, j] -= tau * vector[i] * dot }
        }
    }

    var transposed: DenseMatrix {
        var result = DenseMatrix(rows: columns, columns: rows, values: values)
        for i in 0..<rows { for j in 0..<columns { result[j, i] = self[i, j] } }
        return result
    }
}

/// Reads each matrix of a float tensor, calls `body` with it, and gathers what `body` returns per output.
private func eachMatrix(_ input: Tensor, _ op: String, outputs: Int,
                        _ body: (DenseMatrix) throws(ServingError) -> [[Double]]) throws(ServingError) -> (MatrixBatch, [[Double]]) {
    let batch = try MatrixBatch(input.shape, op: op)
    let values = try input.doubleValues(op)
    let size = batch.rows * batch.columns
    var gathered = [[Double]](repeating: [], count: outputs)
    for index in 0..<batch.count {
        let matrix = DenseMatrix(rows: batch.rows, columns: batch.columns, values: Array(values[(index * size)..<((index + 1) * size)]))
        let parts = try body(matrix)
        for output in 0..<outputs { gathered[output].append(contentsOf: parts[output]) }
    }
    return (batch, gathered)
}

private func leadingShape(_ shape: Shape, _ trailing: [Int]) -> Shape {
    Shape(Array(shape.dims.dropLast(2)) + trailing)
}

/// Svd: singular values in descending order and, when `compute_uv`, the left and right singular vectors
/// (thin unless `full_matrices`), by one-sided Jacobi rotations.
struct SingularValueKernel: Kernel {
    let computeVectors: Bool
    let fullMatrices: Bool

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 1, "Svd")
        let a = inputs[0]
        let (batch, parts) = try eachMatrix(a, "Svd", outputs: 3) { matrix throws(ServingError) in
            let (s, u, v) = decompose(matrix)
            return [s, u.values, v.values]
        }
        let m = batch.rows, n = batch.columns, p = min(m, n)
        let s = Tensor.floating(parts[0], dtype: a.dtype, shape: leadingShape(a.shape, [p]))
        guard computeVectors else {
            return [s, Tensor.floating([], dtype: a.dtype, shape: [0]), Tensor.floating([], dtype: a.dtype, shape: [0])]
        }
        let uColumns = fullMatrices ? m : p, vColumns = fullMatrices ? n : p
        return [s, Tensor.floating(parts[1], dtype: a.dtype, shape: leadingShape(a.shape, [m, uColumns])),
                Tensor.floating(parts[2], dtype: a.dtype, shape: leadingShape(a.shape, [n, vColumns]))]
    }

    private func decompose(_ a: DenseMatrix) -> (s: [Double], u: DenseMatrix, v: DenseMatrix) {
        guard a.rows >= a.columns else {
            let (s, u, v) = decompose(a.transposed)
            return (s, v, u)
        }
        let m = a.rows, n = a.columns
        var w = a, v = DenseMatrix(identity: n, columns: n)
        for _ in 0..<64 {
            var rotated = false
            for p in 0..<n {
                for q in (p + 1)..<max(n, p + 1) {
                    var alpha = 0.0, beta = 0.0, gamma = 0.0
                    for i in 0..<m {
                        alpha += w[i, p] * w[i, p]
                        beta += w[i, q] * w[i, q]
                        gamma += w[i, p] * w[i, q]
                    }
                    guard abs(gamma) > 1e-15 * (alpha * beta).squareRoot(), gamma != 0 else { continue }
                    rotated = true
                    let (c, s) = jacobiRotation((beta - alpha) / (2 * gamma))
                    w.rotateColumns(p, q, c: c, s: s)
                    v.rotateColumns(p, q, c: c, s: s)
                }
            }
            if !rotated { break }
        }
        var norms = (0..<n).map { j in (0..<m).reduce(0.0) { $0 + w[$1, j] * w[$1, j] }.squareRoot() }
        let order = (0..<n).sorted { norms[$0] > norms[$1] || (norms[$0] == norms[$1] && $0 < $1) }
        let largest = norms.max() ?? 0
        var u = DenseMatrix(rows: m, columns: fullMatrices ? m : n, values: [Double](repeating: 0, count: m * (fullMatrices ? m : n)))
        var sortedV = DenseMatrix(rows: n, columns: n, values: v.values)
        var kept: [Int] = []
        for (target, source) in order.enumerated() {
            for i in 0..<n { sortedV[i, target] = v[i, source] }
            let norm = norms[source]
            guard norm > largest * 1e-14, norm > 0 else { continue }
            for i in 0..<m { u[i, target] = w[i, source] / norm }
            kept.append(target)
        }
        norms = order.map { norms[$0] }
        completeOrthonormalColumns(&u, kept: kept)
        return (norms, u, sortedV)
    }
}

/// The cosine and sine of the Jacobi rotation that zeroes an off-diagonal pair, from
/// `zeta = (a_qq − a_pp) / (2 a_pq)` (the smaller of the two angles that do).
private func jacobiRotation(_ zeta: Double) -> (c: Double, s: Double) {
    let t = (zeta >= 0 ? 1.0 : -1.0) / (abs(zeta) + (1 + zeta * zeta).squareRoot())
    let c = 1 / (1 + t * t).squareRoot()
    return (c, c * t)
}

/// Fills the columns of `matrix` not in `kept` with unit vectors orthogonal to every other column, from the
/// standard basis by Gram–Schmidt.
private func completeOrthonormalColumns(_ matrix: inout DenseMatrix, kept: [Int]) {
    var basis = kept
    var candidate = 0
    for column in 0..<matrix.columns where !kept.contains(column) {
        while candidate < matrix.rows {
            var vector = [Double](repeating: 0, count: matrix.rows)
            vector[candidate] = 1
            candidate += 1
            for _ in 0..<2 {
                for other in basis {
                    let dot = (0..<matrix.rows).reduce(0.0) { $0 + vector[$1] * matrix[$1, other] }
                    for i in 0..<matrix.rows { vector[i] -= dot * matrix[i, other] }
                }
            }
            let norm = vector.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
            guard norm > 0.5 else { continue }
            for i in 0..<matrix.rows { matrix[i, column] = vector[i] / norm }
            basis.append(column)
            break
        }
    }
}

/// SelfAdjointEigV2: eigenvalues in ascending order and, when `compute_v`, the eigenvectors as columns, of
/// the symmetric matrix read from each input's lower triangle, by cyclic Jacobi rotations.
struct SymmetricEigenKernel: Kernel {
    let computeVectors: Bool

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 1, "SelfAdjointEigV2")
        let a = inputs[0]
        let (batch, parts) = try eachMatrix(a, "SelfAdjointEigV2", outputs: 2) { matrix throws(ServingError) in
            guard matrix.rows == matrix.columns else {
                throw .invalidArgument("SelfAdjointEigV2 needs square matrices, got \(a.shape)")
            }
            let (values, vectors) = decompose(matrix)
            return [values, vectors.values]
        }
        let n = batch.rows
        let e = Tensor.floating(parts[0], dtype: a.dtype, shape: leadingShape(a.shape, [n]))
        guard computeVectors else { return [e, Tensor.floating([], dtype: a.dtype, shape: [0])] }
        return [e, Tensor.floating(parts[1], dtype: a.dtype, shape: a.shape)]
    }

    private func decompose(_ input: DenseMatrix) -> ([Double], DenseMatrix) {
        let n = input.rows
        var a = input
        for i in 0..<n { for j in (i + 1)..<max(n, i + 1) { a[i, j] = a[j, i] } }
        var v = DenseMatrix(identity: n, columns: n)
        let scale = a.values.reduce(0.0) { $0 + $1 * $1 }
        for _ in 0..<64 {
            var off = 0.0
            for i in 0..<n { for j in 0..<n where i != j { off += a[i, j] * a[i, j] } }
            if off <= 1e-30 * scale || off == 0 { break }
            for p in 0..<n {
                for q in (p + 1)..<max(n, p + 1) where a[p, q] != 0 {
                    let (c, s) = jacobiRotation((a[q, q] - a[p, p]) / (2 * a[p, q]))
                    a.rotateColumns(p, q, c: c, s: s)
                    a.rotateRows(p, q, c: c, s: s)
                    v.rotateColumns(p, q, c: c, s: s)
                }
            }
        }
        let order = (0..<n).sorted { a[$0, $0] < a[$1, $1] || (a[$0, $0] == a[$1, $1] && $0 < $1) }
        var sorted = v
        for (target, source) in order.enumerated() { for k in 0..<n { sorted[k, target] = v[k, source] } }
        return (order.map { a[$0, $0] }, sorted)
    }
}

/// Qr: Q with orthonormal columns and upper-triangular R with A = QR, by Householder reflections whose
/// diagonal entries take the sign opposite to the column's leading entry (Eigen's HouseholderQR, LAPACK's geqrf).
struct QRKernel: Kernel {
    let fullMatrices: Bool

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 1, "Qr")
        let a = inputs[0]
        let (batch, parts) = try eachMatrix(a, "Qr", outputs: 2) { matrix throws(ServingError) in
            let (q, r) = decompose(matrix)
            return [q.values, r.values]
        }
        let m = batch.rows, n = batch.columns, p = min(m, n)
        let qColumns = fullMatrices ? m : p, rRows = fullMatrices ? m : p
        return [Tensor.floating(parts[0], dtype: a.dtype, shape: leadingShape(a.shape, [m, qColumns])),
                Tensor.floating(parts[1], dtype: a.dtype, shape: leadingShape(a.shape, [rRows, n]))]
    }

    private func decompose(_ input: DenseMatrix) -> (DenseMatrix, DenseMatrix) {
        let m = input.rows, n = input.columns, p = min(m, n)
        var a = input
        var reflectors: [(vector: [Double], tau: Double)] = []
        for k in 0..<p {
            let c0 = a[k, k]
            var tail = 0.0
            for i in (k + 1)..<max(m, k + 1) { tail += a[i, k] * a[i, k] }
            var vector = [Double](repeating: 0, count: m - k)
            vector[0] = 1
            guard tail > Double.leastNormalMagnitude else {
                reflectors.append((vector, 0))
                continue
            }
            var beta = (c0 * c0 + tail).squareRoot()
            if c0 >= 0 { beta = -beta }
            for i in 1..<(m - k) { vector[i] = a[k + i, k] / (c0 - beta) }
            let tau = (beta - c0) / beta
            a.reflect(rowsFrom: k, columns: (k + 1)..<max(n, k + 1), vector: vector, tau: tau)
            a[k, k] = beta
            for i in (k + 1)..<m { a[i, k] = 0 }
            reflectors.append((vector, tau))
        }
        let qColumns = fullMatrices ? m : p, rRows = fullMatrices ? m : p
        var q = DenseMatrix(identity: m, columns: qColumns)
        for k in stride(from: p - 1, through: 0, by: -1) {
            let (vector, tau) = reflectors[k]
            guard tau != 0 else { continue }
            q.reflect(rowsFrom: k, columns: 0..<qColumns, vector: vector, tau: tau)
        }
        var r = DenseMatrix(rows: rRows, columns: n, values: [Double](repeating: 0, count: rRows * n))
        for i in 0..<min(rRows, m) { for j in i..<max(n, i) where j < n { r[i, j] = a[i, j] } }
        return (q, r)
    }
}

/// Lu: the LU factors of each square matrix in one matrix (unit lower L below the diagonal, U on and above it)
/// and the row permutation, by partial pivoting on the first largest magnitude in each column.
struct LUKernel: Kernel {
    let indexType: DType

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 1, "Lu")
        let a = inputs[0]
        guard indexType == .int32 || indexType == .int64 else {
            throw .invalidArgument("Lu output_idx_type must be int32 or int64, got \(indexType)")
        }
        let (batch, parts) = try eachMatrix(a, "Lu", outputs: 2) { matrix throws(ServingError) in
            guard matrix.rows == matrix.columns else { throw .invalidArgument("Lu needs square matrices, got \(a.shape)") }
            let (lu, permutation) = decompose(matrix)
            return [lu.values, permutation.map(Double.init)]
        }
        let permutationShape = leadingShape(a.shape, [batch.rows])
        let permutation = indexType == .int32
            ? Tensor(parts[1].map { Int32($0) }, shape: permutationShape)
            : Tensor(parts[1].map { Int64($0) }, shape: permutationShape)
        return [Tensor.floating(parts[0], dtype: a.dtype, shape: a.shape), permutation]
    }

    private func decompose(_ input: DenseMatrix) -> (DenseMatrix, [Int]) {
        let n = input.rows
        var m = input, permutation = Array(0..<n)
        for column in 0..<n {
            var best = column
            for row in column..<n where abs(m[row, column]) > abs(m[best, column]) { best = row }
            if best != column {
                for j in 0..<n { m.values.swapAt(column * n + j, best * n + j) }
                permutation.swapAt(column, best)
            }
            let pivot = m[column, column]
            guard pivot != 0 else { continue }
            for row in (column + 1)..<max(n, column + 1) {
                let factor = m[row, column] / pivot
                m[row, column] = factor
                for j in (column + 1)..<n { m[row, j] -= factor * m[column, j] }
            }
        }
        return (m, permutation)
    }
}
