import Synchronization
import Tensors

/// The contents of a static hash table: keys are int64 values or byte strings.
struct LookupTableContents: Sendable {
    enum Keys: Sendable {
        case integers([Int64: Int])
        case strings([[UInt8]: Int])
    }

    let keyType: DType
    let values: Tensor
    let keys: Keys
    /// Elements per value (tables mapping a key to a vector).
    let valueWidth: Int

    init(keys: Tensor, values: Tensor) throws(ServingError) {
        let count = keys.elementCount
        guard count > 0 || values.elementCount == 0 else {
            throw .invalidArgument("LookupTableImportV2: no keys but \(values.elementCount) values")
        }
        guard count == 0 || values.elementCount % count == 0, values.shape.rank >= 1, values.shape[0] == count || keys.shape.rank == 0 else {
            throw .invalidArgument("LookupTableImportV2: keys \(keys.shape) and values \(values.shape) do not match")
        }
        keyType = keys.dtype
        self.values = values
        valueWidth = count == 0 ? 1 : values.elementCount / count
        switch keys.dtype {
        case .string:
            guard let strings = keys.strings else { throw .invalidArgument("LookupTableImportV2: bad string keys") }
            var map: [[UInt8]: Int] = [:]
            map.reserveCapacity(count)
            for (index, key) in strings.enumerated() { map[key] = index }
            self.keys = .strings(map)
        case .int64, .int32:
            var map: [Int64: Int] = [:]
            map.reserveCapacity(count)
            for (index, key) in try keys.integerValues().enumerated() { map[Int64(key)] = index }
            self.keys = .integers(map)
        default:
            throw .unimplemented("LookupTableImportV2: keys of type \(keys.dtype) are not supported")
        }
    }
}

/// A hash table resource: created by `HashTableV2` (or a mutable table op), filled once while the
/// model loads (init op or checkpoint restore), read by lookups.
final class LookupTableResource: Sendable {
    let name: String
    let keyType: DType
    let valueType: DType
    /// Keys that mark free buckets in a dense table's stored arrays (its empty and deleted keys).
    let freeBucketKeys: Set<Int64>
    /// The shape of one value of a dense table (its buckets store values as rows).
    let bucketValueShape: [Int]
    private let contents = Mutex<LookupTableContents?>(nil)

    init(name: String, keyType: DType, valueType: DType, freeBucketKeys: Set<Int64> = [], bucketValueShape: [Int] = []) {
        self.name = name
        self.keyType = keyType
        self.valueType = valueType
        self.freeBucketKeys = freeBucketKeys
        self.bucketValueShape = bucketValueShape
    }

    var tensor: Tensor { Tensor(dtype: .resource, shape: .scalar, storage: .opaque([self])) }

    func load(keys: Tensor, values: Tensor) throws(ServingError) {
        guard keys.dtype == keyType || (keyType == .int64 && keys.dtype == .int32) else {
            throw .invalidArgument("table '\(name)' has \(keyType) keys, the import gives \(keys.dtype)")
        }
        guard values.dtype == valueType else {
            throw .invalidArgument("table '\(name)' has \(valueType) values, the import gives \(values.dtype)")
        }
        let loaded: LookupTableContents
        if freeBucketKeys.isEmpty {
            loaded = try LookupTableContents(keys: keys, values: values)
        } else {
            let (usedKeys, usedValues) = try usedBuckets(keys: keys, values: values)
            loaded = try LookupTableContents(keys: usedKeys, values: usedValues)
        }
        contents.withLock { $0 = loaded }
    }

    /// A dense table's stored buckets without the free ones.
    private func usedBuckets(keys: Tensor, values: Tensor) throws(ServingError) -> (Tensor, Tensor) {
        let all = try keys.integerValues()
        guard !all.isEmpty, values.elementCount % all.count == 0 else {
            throw .invalidArgument("table '\(name)': \(all.count) stored keys for values \(values.shape)")
        }
        let width = values.elementCount / all.count
        let used = all.indices.filter { !freeBucketKeys.contains(Int64(all[$0])) }
        let keyOffsets = used, valueOffsets = used.flatMap { bucket in (0..<width).map { bucket * width + $0 } }
        guard bucketValueShape.reduce(1, *) == width else {
            throw .invalidArgument("table '\(name)': stored values \(values.shape) do not hold values of shape \(bucketValueShape)")
        }
        let valueShape = Shape([used.count] + bucketValueShape)
        return (try keys.gatheredElements(keyOffsets, shape: Shape([used.count])),
                try values.gatheredElements(valueOffsets, shape: valueShape))
    }

    var loaded: LookupTableContents? { contents.withLock { $0 } }
}

extension Tensor {
    /// The hash table a resource tensor refers to, if any.
    var lookupTable: LookupTableResource? {
        guard dtype == .resource, case .opaque(let objects) = storage, objects.count == 1 else { return nil }
        return objects[0] as? LookupTableResource
    }
}

/// Resolves input 0 of a table op.
func tableInput(_ tensor: Tensor, _ op: String) throws(ServingError) -> (LookupTableResource, LookupTableContents) {
    guard let table = tensor.lookupTable else { throw .invalidArgument("\(op) input 0 is not a hash table") }
    guard let contents = table.loaded else {
        throw .failedPrecondition("\(op): table '\(table.name)' was not initialized by the model's init op")
    }
    return (table, contents)
}

/// LookupTableFindV2: the value of each key, or the default for keys the table lacks.
struct LookupTableFindKernel: Kernel {
    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 3, "LookupTableFindV2")
        let (table, contents) = try tableInput(inputs[0], "LookupTableFindV2")
        let keys = inputs[1], fallback = inputs[2]
        guard fallback.dtype == table.valueType else {
            throw .invalidArgument("LookupTableFindV2: default is \(fallback.dtype), table '\(table.name)' holds \(table.valueType)")
        }
        let width = contents.valueWidth
        guard fallback.elementCount == width || fallback.elementCount == 1 else {
            throw .invalidArgument("LookupTableFindV2: default value has \(fallback.elementCount) elements, values have \(width)")
        }
        var indices: [Int] = []
        indices.reserveCapacity(keys.elementCount)
        switch contents.keys {
        case .strings(let map):
            let strings = try stringElements(keys, "LookupTableFindV2")
            for key in strings { indices.append(map[key] ?? -1) }
        case .integers(let map):
            guard keys.dtype == .int64 || keys.dtype == .int32 else {
                throw .invalidArgument("LookupTableFindV2: keys are \(keys.dtype), table '\(table.name)' has integer keys")
            }
            for key in try keys.integerValues() { indices.append(map[Int64(key)] ?? -1) }
        }
        var dims = keys.shape.dims
        if contents.values.shape.rank > 1 { dims += contents.values.shape.dims.dropFirst() }
        return [try gatherRows(contents.values, indices: indices, width: width, fallback: fallback, shape: Shape(dims))]
    }

    private func gatherRows(_ values: Tensor, indices: [Int], width: Int, fallback: Tensor, shape: Shape) throws(ServingError) -> Tensor {
        if values.dtype == .string {
            let source = values.strings ?? [], defaults = fallback.strings ?? []
            var out: [[UInt8]] = []
            out.reserveCapacity(indices.count * width)
            for index in indices {
                for element in 0..<width {
                    out.append(index >= 0 ? source[index * width + element] : defaults[defaults.count == 1 ? 0 : element])
                }
            }
            return Tensor(strings: out, shape: shape)
        }
        guard let source = values.buffer, let defaults = fallback.buffer else {
            throw .unimplemented("LookupTableFindV2 does not support \(values.dtype) values")
        }
        let size = values.dtype.byteSize
        let (result, buffer) = try Tensor.allocate(values.dtype, shape)
        let rowBytes = width * size
        let out = buffer.baseAddress, from = source.baseAddress, fallbackBytes = defaults.baseAddress
        let fallbackIsRow = defaults.byteCount >= rowBytes
        for (row, index) in indices.enumerated() {
            let target = out + row * rowBytes
            if index >= 0 {
                target.copyMemory(from: from + index * rowBytes, byteCount: rowBytes)
            } else if fallbackIsRow {
                target.copyMemory(from: fallbackBytes, byteCount: rowBytes)
            } else {
                for element in 0..<width { (target + element * size).copyMemory(from: fallbackBytes, byteCount: size) }
            }
        }
        return result
    }
}

/// LookupTableSizeV2: number of entries, as int64.
struct LookupTableSizeKernel: Kernel {
    func run(_ inputs: [Tensor]) throws(ServingError) -> [Tensor] {
        try expectInputs(inputs, 1, "LookupTableSizeV2")
        let (_, contents) = try tableInput(inputs[0], "LookupTableSizeV2")
        switch contents.keys {
        case .strings(let map): return [Tensor(scalar: Int64(map.count))]
        case .integers(let map): return [Tensor(scalar: Int64(map.count))]
        }
    }
}
