import Tensors

extension VariableStore {
    /// The table a `HashTableV2` (or mutable table) node names, created empty the first time.
    mutating func table(for node: FlatNode, _ attrs: AttrReader, freeBucketKeys: Set<Int64> = [],
                        bucketValueShape: [Int] = []) throws(ServingError) -> LookupTableResource {
        let shared = try attrs.string("shared_name")
        let key = shared.isEmpty ? node.name : shared
        let keyType = try attrs.dtype("key_dtype"), valueType = try attrs.dtype("value_dtype")
        if let existing = tables[key] {
            guard existing.keyType == keyType, existing.valueType == valueType else {
                throw .invalidArgument("\(node.location): table '\(key)' already exists with \(existing.keyType) keys and \(existing.valueType) values")
            }
            return existing
        }
        let table = LookupTableResource(name: key, keyType: keyType, valueType: valueType, freeBucketKeys: freeBucketKeys,
                                        bucketValueShape: bucketValueShape)
        tables[key] = table
        return table
    }
}
