import Tensors

extension OpDefTable {
    /// Strings, hash tables, counting, ragged-to-dense and tf.Example parsing.
    static let textDefinitions: [OpDefinition] = [
        OpDefinition("HashTableV2", outputs: [("table_handle", .single)],
                     defaults: ["container": .string([]), "shared_name": .string([]),
                                "use_node_name_sharing": .bool(false)]),
        OpDefinition("MutableHashTableV2", outputs: [("table_handle", .single)],
                     defaults: ["container": .string([]), "shared_name": .string([]),
                                "use_node_name_sharing": .bool(false)]),
        OpDefinition("MutableDenseHashTableV2", outputs: [("table_handle", .single)],
                     defaults: ["container": .string([]), "shared_name": .string([]),
                                "use_node_name_sharing": .bool(false)]),
        OpDefinition("LookupTableImportV2", outputs: []),
        OpDefinition("InitializeTableV2", outputs: []),
        OpDefinition("InitializeTableFromTextFileV2", outputs: [],
                     defaults: ["vocab_size": .int(-1), "delimiter": .string(Array("\t".utf8)), "offset": .int(0)]),
        OpDefinition("LookupTableFindV2", outputs: [("values", .single)]) { _ in LookupTableFindKernel() },
        OpDefinition("LookupTableSizeV2", outputs: [("size", .single)]) { _ in LookupTableSizeKernel() },

        OpDefinition("StringFormat", outputs: [("output", .single)],
                     defaults: ["template": .string(Array("%s".utf8)), "placeholder": .string(Array("%s".utf8)),
                                "summarize": .int(3)]) { attrs throws(ServingError) in
            StringFormatKernel(template: try attrs.string("template"), placeholder: try attrs.string("placeholder"),
                               summarize: try attrs.int("summarize"))
        },
        OpDefinition("SparseCross", outputs: [("output_indices", .single), ("output_values", .single), ("output_shape", .single)]) {
            attrs throws(ServingError) in
            let key = try attrs.int("hash_key")
            return SparseCrossKernel(sparseCount: try attrs.int("N"), denseCount: try attrs.dtypes("dense_types").count,
                                     hashed: try attrs.bool("hashed_output"), buckets: Int64(try attrs.int("num_buckets")),
                                     hashKey: UInt64(bitPattern: Int64(key)))
        },
        OpDefinition("StringStrip", outputs: [("output", .single)]) { _ in StringStripKernel() },
        OpDefinition("Substr", outputs: [("output", .single)], defaults: ["unit": .string(Array("BYTE".utf8))]) { attrs throws(ServingError) in
            switch try attrs.string("unit") {
            case "BYTE": return SubstrKernel(characters: false)
            case "UTF8_CHAR": return SubstrKernel(characters: true)
            case let other: throw .invalidArgument("\(attrs.location): Substr unit must be BYTE or UTF8_CHAR, got '\(other)'")
            }
        },
        OpDefinition("StringToNumber", outputs: [("output", .single)], defaults: ["out_type": .type(1)]) { attrs throws(ServingError) in
            StringToNumberKernel(outType: try attrs.dtype("out_type"))
        },
        OpDefinition("UnsortedSegmentJoin", outputs: [("output", .single)], defaults: ["separator": .string([])]) { attrs throws(ServingError) in
            guard case .string(let separator) = attrs.value("separator") else {
                throw .invalidArgument("\(attrs.location): UnsortedSegmentJoin separator must be a string")
            }
            return UnsortedSegmentJoinKernel(separator: separator)
        },
        OpDefinition("StringToHashBucketFast", outputs: [("output", .single)]) { attrs throws(ServingError) in
            try StringToHashBucketFastKernel(buckets: try attrs.int("num_buckets"), location: attrs.location)
        },
        OpDefinition("StringToHashBucketStrong", outputs: [("output", .single)]) { attrs throws(ServingError) in
            try StringToHashBucketStrongKernel(buckets: try attrs.int("num_buckets"), key: try attrs.ints("key"),
                                               location: attrs.location)
        },
        OpDefinition("AsString", outputs: [("output", .single)],
                     defaults: ["precision": .int(-1), "scientific": .bool(false), "shortest": .bool(false),
                                "width": .int(-1), "fill": .string([])]) { attrs throws(ServingError) in
            try AsStringKernel(attrs: attrs)
        },
        OpDefinition("StringLower", outputs: [("output", .single)], defaults: ["encoding": .string([])]) { attrs throws(ServingError) in
            try StringCaseKernel(upper: false, encoding: try attrs.string("encoding"), location: attrs.location)
        },
        OpDefinition("StringUpper", outputs: [("output", .single)], defaults: ["encoding": .string([])]) { attrs throws(ServingError) in
            try StringCaseKernel(upper: true, encoding: try attrs.string("encoding"), location: attrs.location)
        },
        OpDefinition("StringLength", outputs: [("output", .single)],
                     defaults: ["unit": .string(Array("BYTE".utf8))]) { attrs throws(ServingError) in
            let unit = try attrs.string("unit")
            guard unit == "BYTE" || unit == "UTF8_CHAR" else {
                throw .invalidArgument("\(attrs.location): StringLength unit '\(unit)' must be BYTE or UTF8_CHAR")
            }
            return StringLengthKernel(countsCharacters: unit == "UTF8_CHAR")
        },
        OpDefinition("StringJoin", outputs: [("output", .single)], defaults: ["separator": .string([])]) { attrs throws(ServingError) in
            guard case .string(let separator) = attrs.value("separator") else {
                throw .invalidArgument("\(attrs.location): StringJoin separator must be a string")
            }
            return StringJoinKernel(separator: separator)
        },
        OpDefinition("StringSplitV2", outputs: [("indices", .single), ("values", .single), ("shape", .single)],
                     defaults: ["maxsplit": .int(-1)]) { attrs throws(ServingError) in
            StringSplitKernel(maxSplit: try attrs.int("maxsplit"))
        },
        OpDefinition("StaticRegexReplace", outputs: [("output", .single)],
                     defaults: ["replace_global": .bool(true)]) { attrs throws(ServingError) in
            try StaticRegexReplaceKernel(attrs: attrs)
        },
        OpDefinition("StaticRegexFullMatch", outputs: [("output", .single)]) { attrs throws(ServingError) in
            try StaticRegexFullMatchKernel(attrs: attrs)
        },
        OpDefinition("Size", outputs: [("output", .single)], defaults: ["out_type": .type(DType.int32.rawValue)]) {
            attrs throws(ServingError) in
            SizeKernel(outputType: try attrs.dtype("out_type"))
        },
        OpDefinition("DenseBincount", outputs: [("output", .single)], defaults: ["binary_output": .bool(false)]) {
            attrs throws(ServingError) in
            DenseBincountKernel(binary: try attrs.bool("binary_output"), outputType: try attrs.dtype("T"))
        },
        OpDefinition("RaggedBincount", outputs: [("output", .single)], defaults: ["binary_output": .bool(false)]) {
            attrs throws(ServingError) in
            RaggedBincountKernel(binary: try attrs.bool("binary_output"), outputType: try attrs.dtype("T"))
        },
        OpDefinition("RaggedTensorToTensor", outputs: [("result", .single)]) { attrs throws(ServingError) in
            guard case .list(let items) = attrs.value("row_partition_types") else {
                throw .invalidArgument("\(attrs.location): attribute 'row_partition_types' is missing")
            }
            var types: [String] = []
            for item in items {
                guard case .string(let bytes) = item else {
                    throw .invalidArgument("\(attrs.location): row_partition_types must hold strings")
                }
                types.append(String(decoding: bytes, as: UTF8.self))
            }
            return try RaggedTensorToTensorKernel(types: types, location: attrs.location)
        },
        OpDefinition("ParseExampleV2",
                     outputs: [("sparse_indices", .numberAttr("num_sparse")), ("sparse_values", .typeListAttr("sparse_types")),
                               ("sparse_shapes", .numberAttr("num_sparse")), ("dense_values", .typeListAttr("Tdense")),
                               ("ragged_values", .typeListAttr("ragged_value_types")),
                               ("ragged_row_splits", .typeListAttr("ragged_split_types"))],
                     defaults: ["ragged_value_types": .list([]), "ragged_split_types": .list([]),
                                "sparse_types": .list([]), "Tdense": .list([]), "dense_shapes": .list([])]) {
            attrs throws(ServingError) in
            try ParseExampleKernel(attrs: attrs)
        },
    ]

}
