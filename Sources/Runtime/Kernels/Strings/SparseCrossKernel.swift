import Tensors

/// SparseCross: per batch row, the cartesian product of the features of every column (sparse
/// columns first, then dense ones; the last column varies fastest), as strings joined by `_X_` or as
/// FingerprintCat64 hashes seeded with `hash_key` (string features by Fingerprint64, integers as
/// they are), modulo `num_buckets` when it is positive. Outputs a 2-D sparse tensor.
struct SparseCrossKernel: Kernel {
    let sparseCount: Int
    let denseCount: Int
    let hashed: Bool
    let buckets: Int64
    let hashKey: UInt64

    private enum Feature { case text([UInt8]), integer(Int64) }

    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 3 * sparseCount + denseCount, "SparseCross")
        var columns: [[[Feature]]] = []
        var batch = 0
        for column in 0..<sparseCount {
            let shape = try inputs[2 * sparseCount + column].integerValues()
            guard shape.count == 2 else { throw .invalidArgument("SparseCross sparse input \(column) must be 2-D, its shape is \(shape)") }
            batch = shape[0]
        }
        if sparseCount == 0, let first = inputs.dropFirst(3 * sparseCount).first {
            guard first.shape.rank == 2 else { throw .invalidArgument("SparseCross dense inputs must be 2-D, got \(first.shape)") }
            batch = first.shape[0]
        }
        guard batch <= RequestMemory.maxTensorElements else { throw RequestMemory.tooManyElements(batch, what: "SparseCross rows") }
        for column in 0..<sparseCount {
            let indices = try inputs[column].integerValues(), values = try features(inputs[sparseCount + column])
            guard indices.count == 2 * values.count else {
                throw .invalidArgument("SparseCross sparse input \(column) has \(indices.count / 2) indices for \(values.count) values")
            }
            var rows = [[Feature]](repeating: [], count: batch)
            for (i, value) in values.enumerated() {
                let row = indices[2 * i]
                guard row >= 0, row < batch else { throw .invalidArgument("SparseCross sparse input \(column) has row \(row) outside [0, \(batch))") }
                rows[row].append(value)
            }
            columns.append(rows)
        }
        for column in 0..<denseCount {
            let dense = inputs[3 * sparseCount + column]
            guard dense.shape.rank == 2, dense.shape[0] == batch else {
                throw .invalidArgument("SparseCross dense input \(column) must be [\(batch), n], got \(dense.shape)")
            }
            let values = try features(dense), width = dense.shape[1]
            columns.append((0..<batch).map { Array(values[($0 * width)..<($0 * width + width)]) })
        }
        var outIndices: [Int64] = [], hashes: [Int64] = [], strings: [[UInt8]] = [], widest = 0
        for row in 0..<batch {
            let counts = columns.map { $0[row].count }
            guard !columns.isEmpty, !counts.contains(0) else { continue }
            var position = [Int](repeating: 0, count: columns.count), cross = 0
            while true {
                let picked = (0..<columns.count).map { columns[$0][row][position[$0]] }
                outIndices += [Int64(row), Int64(cross)]
                if hashed { hashes.append(hash(picked)) } else { strings.append(join(picked)) }
                cross += 1
                var axis = columns.count - 1
                while axis >= 0 {
                    position[axis] += 1
                    if position[axis] < counts[axis] { break }
                    position[axis] = 0
                    axis -= 1
                }
                if axis < 0 { break }
                guard outIndices.count <= 2 * RequestMemory.maxTensorElements else {
                    throw RequestMemory.tooManyElements(outIndices.count / 2, what: "SparseCross crosses")
                }
            }
            widest = max(widest, cross)
        }
        let count = outIndices.count / 2
        let values = hashed ? Tensor(hashes, shape: [count]) : Tensor(strings: strings, shape: [count])
        return [Tensor(outIndices, shape: [count, 2]), values, Tensor([Int64(batch), Int64(widest)], shape: [2])]
    }

    private func features(_ tensor: Tensor) throws(ServingError) -> [Feature] {
        if let strings = tensor.strings { return strings.map { .text($0) } }
        return try tensor.integerValues().map { .integer(Int64($0)) }
    }

    private func hash(_ picked: [Feature]) -> Int64 {
        var result = hashKey
        for feature in picked {
            let value: UInt64 = switch feature {
            case .text(let bytes): FarmHash.fingerprint64(bytes)
            case .integer(let integer): UInt64(bitPattern: integer)
            }
            result = Self.fingerprintCat64(result, value)
        }
        return Int64(bitPattern: buckets > 0 ? result % UInt64(buckets) : result % UInt64(Int64.max))
    }

    private func join(_ picked: [Feature]) -> [UInt8] {
        var joined: [UInt8] = []
        for (index, feature) in picked.enumerated() {
            if index > 0 { joined += Array("_X_".utf8) }
            switch feature {
            case .text(let bytes): joined += bytes
            case .integer(let integer): joined += Array(String(integer).utf8)
            }
        }
        return joined
    }

    static func fingerprintCat64(_ first: UInt64, _ second: UInt64) -> UInt64 {
        let multiplier: UInt64 = 0xc6a4_a793_5bd1_e995
        func shiftMix(_ value: UInt64) -> UInt64 { value ^ (value >> 47) }
        var result = first ^ multiplier
        result ^= shiftMix(second &* multiplier) &* multiplier
        result = result &* multiplier
        result = shiftMix(result) &* multiplier
        return shiftMix(result)
    }
}
