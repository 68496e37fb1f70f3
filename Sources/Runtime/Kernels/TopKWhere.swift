import Tensors

/// TopKV2: the k largest entries of each innermost row, largest first (equal values by index), and
/// their int32 indices.
struct TopKKernel: Kernel {
    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 2, "TopKV2")
        let x = inputs[0]
        guard x.shape.rank >= 1 else { throw .invalidArgument("TopKV2 input must have rank >= 1, got \(x.shape)") }
        guard inputs[1].elementCount == 1, let k = try inputs[1].integerValues().first else {
            throw .invalidArgument("TopKV2 k must be a scalar")
        }
        let n = x.shape[x.shape.rank - 1]
        guard k >= 0, k <= n else { throw .invalidArgument("TopKV2 k must be in [0, \(n)] for input \(x.shape), got \(k)") }
        switch x.dtype {
        case .float32: return try top(x, k, n, Float.self)
        case .float64: return try top(x, k, n, Double.self)
        case .int32: return try top(x, k, n, Int32.self)
        case .int64: return try top(x, k, n, Int64.self)
        default: throw .unimplemented("TopKV2 does not support \(x.dtype)")
        }
    }

    private func top<T: TensorScalar & Comparable>(_ x: Tensor, _ k: Int, _ n: Int, _: T.Type) throws(ServingError) -> [Tensor] {
        let rows = n == 0 ? 0 : x.elementCount / n
        let shape = Shape(Array(x.shape.dims.dropLast()) + [k])
        let (values, _) = try Tensor.allocateUninitialized(x.dtype, shape)
        let (indices, _) = try Tensor.allocateUninitialized(.int32, shape)
        let input = x.elements(T.self), outValues = values.mutableElements(T.self), outIndices = indices.mutableElements(Int32.self)
        var order = [Int](repeating: 0, count: n)
        for row in 0..<rows {
            let base = row * n
            for i in 0..<n { order[i] = i }
            order.sort { a, b in
                let va = input[base + a], vb = input[base + b]
                return va > vb || (va == vb && a < b) || (Self.isNaN(va) && !Self.isNaN(vb))
            }
            for j in 0..<k {
                outValues[row * k + j] = input[base + order[j]]
                outIndices[row * k + j] = Int32(truncatingIfNeeded: order[j])
            }
        }
        return [values, indices]
    }

    @inline(__always) private static func isNaN<T: Comparable>(_ value: T) -> Bool { value != value }
}

/// Where with one input: the int64 coordinates [count, rank] of its true (non-zero) elements, in
/// row-major order.
struct WhereKernel: Kernel {
    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 1, "Where")
        let x = inputs[0]
        let truth: [Bool]
        switch x.dtype {
        case .bool: truth = Array(x.elements(Bool.self))
        case .float32: truth = x.elements(Float.self).map { $0 != 0 }
        case .float64: truth = x.elements(Double.self).map { $0 != 0 }
        case .int32: truth = x.elements(Int32.self).map { $0 != 0 }
        case .int64: truth = x.elements(Int64.self).map { $0 != 0 }
        case .uint8: truth = x.elements(UInt8.self).map { $0 != 0 }
        case .int8: truth = x.elements(Int8.self).map { $0 != 0 }
        default: throw .unimplemented("Where does not support \(x.dtype)")
        }
        let rank = x.shape.rank, strides = x.shape.strides
        var coordinates: [Int64] = []
        for (offset, isTrue) in truth.enumerated() where isTrue {
            var rest = offset
            for axis in 0..<rank {
                coordinates.append(Int64(rest / strides[axis]))
                rest %= strides[axis]
            }
        }
        let count = truth.reduce(0) { $0 + ($1 ? 1 : 0) }
        return [Tensor(coordinates, shape: [count, rank])]
    }
}

/// Bucketize: for each element, the number of `boundaries` (sorted) that are <= it, as int32.
struct BucketizeKernel: Kernel {
    let boundaries: [Float]

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 1, "Bucketize")
        let x = inputs[0]
        let values = try x.doubleValues("Bucketize", integers: true)
        let (result, _) = try Tensor.allocateUninitialized(.int32, x.shape)
        let out = result.mutableElements(Int32.self)
        for (i, value) in values.enumerated() {
            var low = 0, high = boundaries.count
            while low < high {
                let middle = (low + high) / 2
                if Double(boundaries[middle]) <= value { low = middle + 1 } else { high = middle }
            }
            out[i] = Int32(low)
        }
        return [result]
    }
}

/// DivNoNan: a / b, and 0 wherever b is 0.
enum DivNoNanFunction: BinaryFunction {
    @inline(__always) static func apply<T: ArithmeticScalar>(_ a: T, _ b: T) -> T { b == T.zero ? T.zero : T.divide(a, b) }
}
