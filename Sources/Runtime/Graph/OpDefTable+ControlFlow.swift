import Tensors

extension OpDefTable {
    /// Loops, conditionals, TensorLists and the array/comparison ops recurrent layers are built from.
    static let controlFlowDefinitions: [OpDefinition] = {
        var entries: [OpDefinition] = [
            OpDefinition("While", outputs: [("output", .typeListAttr("T"))],
                         defaults: ["parallel_iterations": .int(10), "output_shapes": .list([])]),
            OpDefinition("StatelessWhile", outputs: [("output", .typeListAttr("T"))],
                         defaults: ["parallel_iterations": .int(10), "output_shapes": .list([])]),
            OpDefinition("If", outputs: [("output", .typeListAttr("Tout"))], defaults: ["output_shapes": .list([])]),
            OpDefinition("StatelessIf", outputs: [("output", .typeListAttr("Tout"))], defaults: ["output_shapes": .list([])]),
            OpDefinition("Assert", outputs: [], defaults: ["summarize": .int(3)]) { attrs throws(ServingError) in
                AssertKernel(summarize: max(0, try attrs.int("summarize")))
            },
            OpDefinition("CheckNumerics", outputs: [("output", .single)]) { attrs throws(ServingError) in
                CheckNumericsKernel(message: try attrs.string("message"))
            },
            OpDefinition("CheckNumericsV2", outputs: [("output", .single)]) { attrs throws(ServingError) in
                CheckNumericsKernel(message: try attrs.string("message"))
            },

            OpDefinition("TensorListReserve", outputs: [("handle", .single)]) { attrs throws(ServingError) in
                TensorListReserveKernel(elementDType: try attrs.dtype("element_dtype"))
            },
            OpDefinition("TensorListFromTensor", outputs: [("output_handle", .single)]) { _ in TensorListFromTensorKernel() },
            OpDefinition("TensorListGetItem", outputs: [("item", .single)]) { attrs throws(ServingError) in
                TensorListGetItemKernel(elementDType: try attrs.dtype("element_dtype"))
            },
            OpDefinition("TensorListSetItem", outputs: [("output_handle", .single)],
                         defaults: ["resize_if_index_out_of_bounds": .bool(false)]) { attrs throws(ServingError) in
                TensorListSetItemKernel(resizeIfOutOfBounds: try attrs.bool("resize_if_index_out_of_bounds"))
            },
            OpDefinition("TensorListStack", outputs: [("tensor", .single)],
                         defaults: ["num_elements": .int(-1)]) { attrs throws(ServingError) in
                TensorListStackKernel(elementDType: try attrs.dtype("element_dtype"), expectedCount: try attrs.int("num_elements"))
            },
            OpDefinition("TensorListLength", outputs: [("length", .single)]) { _ in TensorListLengthKernel() },
            OpDefinition("TensorListElementShape", outputs: [("element_shape", .single)]) { attrs throws(ServingError) in
                TensorListElementShapeKernel(shapeType: try attrs.dtype("shape_type"))
            },

            OpDefinition("Range", outputs: [("output", .single)], defaults: ["Tidx": .type(DType.int32.rawValue)]) { _ in
                RangeSequenceKernel()
            },
            OpDefinition("Fill", outputs: [("output", .single)], defaults: ["index_type": .type(DType.int32.rawValue)]) { _ in
                FillValueKernel()
            },
            OpDefinition("Empty", outputs: [("output", .single)], defaults: ["init": .bool(false)]) { attrs throws(ServingError) in
                EmptyKernel(dtype: try attrs.dtype("dtype"))
            },
            OpDefinition("Split", outputs: [("output", .numberAttr("num_split"))]) { attrs throws(ServingError) in
                SplitAxisKernel(op: "Split", count: try attrs.int("num_split"), sized: false)
            },
            OpDefinition("SplitV", outputs: [("output", .numberAttr("num_split"))]) { attrs throws(ServingError) in
                SplitAxisKernel(op: "SplitV", count: try attrs.int("num_split"), sized: true)
            },
            OpDefinition("Unpack", outputs: [("output", .numberAttr("num"))], defaults: ["axis": .int(0)]) { attrs throws(ServingError) in
                UnstackKernel(count: try attrs.int("num"), axis: try attrs.int("axis"))
            },
            OpDefinition("ZerosLike", outputs: [("y", .single)]) { _ in ConstantLikeKernel(op: "ZerosLike", one: false) },
            OpDefinition("OnesLike", outputs: [("y", .single)]) { _ in ConstantLikeKernel(op: "OnesLike", one: true) },
            OpDefinition("Tile", outputs: [("output", .single)]) { _ in TileRepeatKernel() },
            OpDefinition("ReverseV2", outputs: [("output", .single)]) { _ in ReverseAxesKernel() },
            OpDefinition("Select", outputs: [("output", .single)]) { _ in BroadcastSelectKernel(op: "Select", broadcasts: false) },
            OpDefinition("SelectV2", outputs: [("output", .single)]) { _ in BroadcastSelectKernel(op: "SelectV2", broadcasts: true) },
            OpDefinition("LogicalAnd", outputs: [("z", .single)]) { _ in LogicalBinaryKernel(op: "LogicalAnd", isAnd: true) },
            OpDefinition("LogicalOr", outputs: [("z", .single)]) { _ in LogicalBinaryKernel(op: "LogicalOr", isAnd: false) },
            OpDefinition("LogicalNot", outputs: [("y", .single)]) { _ in LogicalNotKernel() },
            OpDefinition("Equal", outputs: [("z", .single)], defaults: ["incompatible_shape_error": .bool(true)]) { _ in
                EqualityKernel(op: "Equal", negated: false)
            },
            OpDefinition("NotEqual", outputs: [("z", .single)], defaults: ["incompatible_shape_error": .bool(true)]) { _ in
                EqualityKernel(op: "NotEqual", negated: true)
            },
        ]
        let orderings: [(String, OpDefinition.KernelFactory)] = [
            ("Less", { _ in OrderingKernel<LessComparison>(op: "Less") }),
            ("LessEqual", { _ in OrderingKernel<LessEqualComparison>(op: "LessEqual") }),
            ("Greater", { _ in OrderingKernel<GreaterComparison>(op: "Greater") }),
            ("GreaterEqual", { _ in OrderingKernel<GreaterEqualComparison>(op: "GreaterEqual") }),
        ]
        for (name, factory) in orderings {
            entries.append(OpDefinition(name, outputs: [("z", .single)], kernel: factory))
        }
        return entries
    }()
}
