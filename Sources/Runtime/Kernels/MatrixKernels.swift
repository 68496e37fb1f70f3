import Foundation
import Tensors

/// The innermost two axes of a tensor as a batch of matrices.
struct MatrixBatch {
    let count: Int, rows: Int, columns: Int

    init(_ shape: Shape, op: String) throws(ServingError) {
        guard shape.rank >= 2 else { throw .invalidArgument("\(op) needs a tensor of rank >= 2, got \(shape)") }
        rows = shape[shape.rank - 2]
        columns = shape[shape.rank - 1]
        count = shape.dims.dropLast(2).reduce(1, *)
    }
}

/// MatrixBandPart: entries more than `num_lower` below or `num_upper` above the diagonal set to 0 (negative: keep all).
struct MatrixBandPartKernel: Kernel {
    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 3, "MatrixBandPart")
        let x = inputs[0]
        let batch = try MatrixBatch(x.shape, op: "MatrixBandPart")
        guard let lower = try inputs[1].integerValues().first, let upper = try inputs[2].integerValues().first else {
            throw .invalidArgument("MatrixBandPart num_lower and num_upper must be scalars")
        }
        var offsets: [Int] = []
        offsets.reserveCapacity(x.elementCount)
        let zero = x.elementCount
        for b in 0..<batch.count {
            for i in 0..<batch.rows {
                for j in 0..<batch.columns {
                    let inBand = (lower < 0 || i - j <= lower) && (upper < 0 || j - i <= upper)
                    offsets.append(inBand ? (b * batch.rows + i) * batch.columns + j : zero)
                }
            }
        }
        let source = try Tensor.joinedElements(x.reshaped([x.elementCount]), try Tensor.allocate(x.dtype, [1]).0)
        return [try source.gatheredElements(offsets, shape: x.shape)]
    }
}

/// Reads the diagonal offset `k` of the V3 diagonal ops; only one diagonal (a scalar, or a pair of equal values) is supported.
private func diagonalOffset(_ k: Tensor, op: String) throws(ServingError) -> Int {
    let values = try k.integerValues()
    guard let first = values.first, values.count <= 2, values.allSatisfy({ $0 == first }) else {
        throw .unimplemented("\(op) with a band of diagonals k=\(values) is not supported (only a single diagonal)")
    }
    return first
}

/// The (row, column) positions of diagonal `k` of a rows x columns matrix.
private func diagonalPositions(rows: Int, columns: Int, k: Int) -> [(Int, Int)] {
    let start = k >= 0 ? (0, k) : (-k, 0)
    let length = max(0, min(rows - start.0, columns - start.1))
    return (0..<length).map { (start.0 + $0, start.1 + $0) }
}

/// MatrixDiagPartV3: diagonal `k` of each matrix.
struct MatrixDiagPartKernel: Kernel {
    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 3, "MatrixDiagPartV3")
        let x = inputs[0]
        let batch = try MatrixBatch(x.shape, op: "MatrixDiagPartV3")
        let k = try diagonalOffset(inputs[1], op: "MatrixDiagPartV3")
        let positions = diagonalPositions(rows: batch.rows, columns: batch.columns, k: k)
        var offsets: [Int] = []
        for b in 0..<batch.count {
            for (i, j) in positions { offsets.append((b * batch.rows + i) * batch.columns + j) }
        }
        return [try x.gatheredElements(offsets, shape: Shape(x.shape.dims.dropLast(2) + [positions.count]))]
    }
}

/// MatrixDiagV3: matrices holding `diagonal` on diagonal `k` and `padding_value` elsewhere.
struct MatrixDiagKernel: Kernel {
    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 5, "MatrixDiagV3")
        let diagonal = inputs[0]
        guard diagonal.shape.rank >= 1 else { throw .invalidArgument("MatrixDiagV3 diagonal must have rank >= 1") }
        let k = try diagonalOffset(inputs[1], op: "MatrixDiagV3")
        let length = diagonal.shape[diagonal.shape.rank - 1]
        var rows = try inputs[2].integerValues().first ?? -1, columns = try inputs[3].integerValues().first ?? -1
        if rows < 0 { rows = length + max(0, -k) }
        if columns < 0 { columns = length + max(0, k) }
        let positions = diagonalPositions(rows: rows, columns: columns, k: k)
        guard positions.count == length else {
            throw .invalidArgument("MatrixDiagV3: a diagonal of \(length) does not fit diagonal \(k) of a \(rows)x\(columns) matrix")
        }
        let count = diagonal.elementCount / max(length, 1)
        let shape = Shape(diagonal.shape.dims.dropLast() + [rows, columns])
        _ = try shape.checkedElementCount()
        let padding = diagonal.elementCount
        var offsets = [Int](repeating: padding, count: shape.elementCount)
        for b in 0..<count {
            for (index, (i, j)) in positions.enumerated() { offsets[(b * rows + i) * columns + j] = b * length + index }
        }
        let source = try Tensor.joinedElements(diagonal.reshaped([diagonal.elementCount]), inputs[4].reshaped([1]))
        return [try source.gatheredElements(offsets, shape: shape)]
    }
}

/// MatrixSetDiagV3: each matrix with diagonal `k` replaced by `diagonal`.
struct MatrixSetDiagKernel: Kernel {
    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 3, "MatrixSetDiagV3")
        let x = inputs[0], diagonal = inputs[1]
        let batch = try MatrixBatch(x.shape, op: "MatrixSetDiagV3")
        let k = try diagonalOffset(inputs[2], op: "MatrixSetDiagV3")
        let positions = diagonalPositions(rows: batch.rows, columns: batch.columns, k: k)
        guard diagonal.elementCount == batch.count * positions.count else {
            throw .invalidArgument("MatrixSetDiagV3 diagonal \(diagonal.shape) does not match diagonal \(k) of \(x.shape)")
        }
        var offsets = Array(0..<x.elementCount)
        for b in 0..<batch.count {
            for (index, (i, j)) in positions.enumerated() {
                offsets[(b * batch.rows + i) * batch.columns + j] = x.elementCount + b * positions.count + index
            }
        }
        let source = try Tensor.joinedElements(x.reshaped([x.elementCount]), diagonal.reshaped([diagonal.elementCount]))
        return [try source.gatheredElements(offsets, shape: x.shape)]
    }
}

/// MatrixDeterminant, LogMatrixDeterminant, MatrixInverse and MatrixSolve on float32/float64 square
/// matrices, by LU decomposition with partial pivoting in double precision.
struct LinearAlgebraKernel: Kernel {
    enum Operation: Sendable { case determinant, logDeterminant, inverse, solve }
    let operation: Operation
    let adjoint: Bool
    let op: String

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, operation == .solve ? 2 : 1, op)
        let a = inputs[0]
        let batch = try MatrixBatch(a.shape, op: op)
        guard batch.rows == batch.columns else { throw .invalidArgument("\(op) needs square matrices, got \(a.shape)") }
        let n = batch.rows
        let matrices = try a.doubleValues(op)
        var right: [Double] = [], rightColumns = n
        if operation == .solve {
            let b = inputs[1]
            let rhs = try MatrixBatch(b.shape, op: op)
            guard rhs.count == batch.count, rhs.rows == n else { throw .invalidArgument("\(op) right-hand side \(b.shape) does not match \(a.shape)") }
            right = try b.doubleValues(op)
            rightColumns = rhs.columns
        }
        var output: [Double] = [], signs: [Double] = []
        for index in 0..<batch.count {
            var m = Array(matrices[(index * n * n)..<((index + 1) * n * n)])
            if adjoint { m = (0..<(n * n)).map { m[($0 % n) * n + $0 / n] } }
            var pivots = Array(0..<n), sign = 1.0, singular = false
            for column in 0..<n {
                var best = column
                for row in column..<n where abs(m[row * n + column]) > abs(m[best * n + column]) { best = row }
                if m[best * n + column] == 0 { singular = true; continue }
                if best != column {
                    for j in 0..<n { m.swapAt(column * n + j, best * n + j) }
                    pivots.swapAt(column, best)
                    sign = -sign
                }
                for row in (column + 1)..<n {
                    let factor = m[row * n + column] / m[column * n + column]
                    m[row * n + column] = factor
                    for j in (column + 1)..<n { m[row * n + j] -= factor * m[column * n + j] }
                }
            }
            switch operation {
            case .determinant:
                output.append(singular ? 0 : (0..<n).reduce(sign) { $0 * m[$1 * n + $1] })
            case .logDeterminant:
                var logAbs = 0.0, logSign = sign
                for i in 0..<n {
                    let pivot = m[i * n + i]
                    if pivot < 0 { logSign = -logSign }
                    logAbs += Foundation.log(abs(pivot))
                }
                signs.append(singular ? 0 : logSign)
                output.append(singular ? -.infinity : logAbs)
            case .inverse, .solve:
                guard !singular else { throw .invalidArgument("\(op): the matrix is not invertible") }
                let columns = operation == .inverse ? n : rightColumns
                var solution = [Double](repeating: 0, count: n * columns)
                for c in 0..<columns {
                    var y = (0..<n).map { row -> Double in
                        let source = pivots[row]
                        return operation == .inverse ? (source == c ? 1 : 0) : right[(index * n + source) * columns + c]
                    }
                    for row in 0..<n { for j in 0..<row { y[row] -= m[row * n + j] * y[j] } }
                    for row in stride(from: n - 1, through: 0, by: -1) {
                        for j in (row + 1)..<n { y[row] -= m[row * n + j] * y[j] }
                        y[row] /= m[row * n + row]
                    }
                    for row in 0..<n { solution[row * columns + c] = y[row] }
                }
                output += solution
            }
        }
        let shape: Shape = switch operation {
        case .determinant, .logDeterminant: Shape(Array(a.shape.dims.dropLast(2)))
        case .inverse: a.shape
        case .solve: inputs[1].shape
        }
        let result = Tensor.floating(output, dtype: a.dtype, shape: shape)
        guard operation == .logDeterminant else { return [result] }
        return [Tensor.floating(signs, dtype: a.dtype, shape: shape), result]
    }
}

/// Cholesky: the lower-triangular L with L Lᵀ equal to each (symmetric positive definite) matrix.
struct CholeskyKernel: Kernel {
    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 1, "Cholesky")
        let a = inputs[0]
        let batch = try MatrixBatch(a.shape, op: "Cholesky")
        guard batch.rows == batch.columns else { throw .invalidArgument("Cholesky needs square matrices, got \(a.shape)") }
        let n = batch.rows
        let values = try a.doubleValues("Cholesky")
        var l = [Double](repeating: 0, count: values.count)
        for b in 0..<batch.count {
            let base = b * n * n
            for i in 0..<n {
                for j in 0...i {
                    var sum = values[base + i * n + j]
                    for k in 0..<j { sum -= l[base + i * n + k] * l[base + j * n + k] }
                    if i == j {
                        guard sum > 0 else { throw .invalidArgument("Cholesky decomposition was not successful. The input might not be valid.") }
                        l[base + i * n + i] = sum.squareRoot()
                    } else {
                        l[base + i * n + j] = sum / l[base + j * n + j]
                    }
                }
            }
        }
        return [Tensor.floating(l, dtype: a.dtype, shape: a.shape)]
    }
}

/// MatrixTriangularSolve: X with A X = B for lower (or upper) triangular A, optionally its adjoint.
struct TriangularSolveKernel: Kernel {
    let lower: Bool
    let adjoint: Bool

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 2, "MatrixTriangularSolve")
        let a = inputs[0], b = inputs[1]
        let matrices = try MatrixBatch(a.shape, op: "MatrixTriangularSolve"), rhs = try MatrixBatch(b.shape, op: "MatrixTriangularSolve")
        guard matrices.rows == matrices.columns, rhs.rows == matrices.rows, rhs.count == matrices.count, a.dtype == b.dtype else {
            throw .invalidArgument("MatrixTriangularSolve needs square matrices and matching right-hand sides, got \(a.shape) and \(b.shape)")
        }
        let n = matrices.rows, columns = rhs.columns
        let av = try a.doubleValues("MatrixTriangularSolve"), bv = try b.doubleValues("MatrixTriangularSolve")
        var x = bv
        let effectiveLower = adjoint ? !lower : lower
        for batch in 0..<matrices.count {
            let base = batch * n * n, rbase = batch * n * columns
            func entry(_ i: Int, _ j: Int) -> Double { adjoint ? av[base + j * n + i] : av[base + i * n + j] }
            for c in 0..<columns {
                let rows: [Int] = effectiveLower ? Array(0..<n) : Array((0..<n).reversed())
                for i in rows {
                    var sum = bv[rbase + i * columns + c]
                    let others: [Int] = effectiveLower ? Array(0..<i) : Array((i + 1)..<n)
                    for j in others { sum -= entry(i, j) * x[rbase + j * columns + c] }
                    x[rbase + i * columns + c] = sum / entry(i, i)
                }
            }
        }
        return [Tensor.floating(x, dtype: a.dtype, shape: b.shape)]
    }
}

/// A float32/float64 function of two broadcast tensors, elementwise: Atan2(y, x) and NextAfter(x1, x2).
struct FloatPairKernel: Kernel {
    let op: String
    let float: @Sendable (Float, Float) -> Float
    let double: @Sendable (Double, Double) -> Double

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 2, op)
        let a = inputs[0], b = inputs[1]
        guard a.dtype == b.dtype, a.dtype == .float32 || a.dtype == .float64 else {
            throw .unimplemented("\(op) needs two float32 or float64 tensors, got \(a.dtype) and \(b.dtype)")
        }
        let shape = try broadcastShape(a.shape, b.shape)
        let left = try a.broadcast(to: shape), right = try b.broadcast(to: shape)
        if a.dtype == .float32 {
            let x = left.elements(Float.self), y = right.elements(Float.self)
            return [Tensor((0..<x.count).map { float(x[$0], y[$0]) }, shape: shape)]
        }
        let x = left.elements(Double.self), y = right.elements(Double.self)
        return [Tensor((0..<x.count).map { double(x[$0], y[$0]) }, shape: shape)]
    }

    static let atan2 = FloatPairKernel(op: "Atan2", float: { Float(Foundation.atan2(Double($0), Double($1))) },
                                       double: { Foundation.atan2($0, $1) })
    static let nextAfter = FloatPairKernel(op: "NextAfter", float: next(after:toward:), double: next(after:toward:))

    /// The representable value after `x` in the direction of `y` (`y` itself when they are equal).
    private static func next<T: BinaryFloatingPoint>(after x: T, toward y: T) -> T {
        if x.isNaN || y.isNaN { return T.nan }
        if x == y { return y }
        return x < y ? x.nextUp : x.nextDown
    }
}
