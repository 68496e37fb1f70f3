import Tensors

/// How many tensors one output argument of an op produces.
enum OutputArgCount: Sendable {
    case single
    /// A list whose length is an int attribute (`N`, `num_split`).
    case numberAttr(String)
    /// A list whose length is the length of a type-list attribute (`T`, `dtypes`, `Tout`).
    case typeListAttr(String)
}

/// What the runtime knows about one op type: its output arguments, attribute defaults and kernel.
struct OpDefinition: Sendable {
    typealias KernelFactory = @Sendable (AttrReader) throws(ServingError) -> any Kernel

    let name: String
    let outputs: [(name: String, count: OutputArgCount)]
    let defaults: [String: NodeAttr]
    /// nil for ops the compiler handles itself (constants, placeholders, variables, restore).
    let makeKernel: KernelFactory?

    init(_ name: String, outputs: [(String, OutputArgCount)], defaults: [String: NodeAttr] = [:],
         kernel: KernelFactory? = nil) {
        self.name = name
        self.outputs = outputs.map { (name: $0.0, count: $0.1) }
        self.defaults = defaults
        self.makeKernel = kernel
    }

    static let maximumListLength = 1 << 16

    /// Number of tensors each output argument yields for a node with these attributes.
    func outputCounts(_ attrs: AttrReader) -> [Int]? {
        var counts: [Int] = []
        for output in outputs {
            switch output.count {
            case .single: counts.append(1)
            case .numberAttr(let attr):
                guard let value = try? attrs.int(attr), value >= 0, value <= Self.maximumListLength else { return nil }
                counts.append(value)
            case .typeListAttr(let attr):
                guard let value = attrs.listCount(attr) else { return nil }
                counts.append(value)
            }
        }
        return counts
    }
}

/// The runtime's own OpDef table: files strip attributes equal to their default, so defaults live here.
enum OpDefTable {
    static let callOps: Set<String> = ["StatefulPartitionedCall", "PartitionedCall"]

    static func definition(_ op: String) -> OpDefinition? { table[op] }

    static var supportedOps: [String] { table.keys.sorted() + callOps.sorted() }

    private static let table: [String: OpDefinition] = {
        var entries: [OpDefinition] = [
            OpDefinition("Const", outputs: [("output", .single)]),
            OpDefinition("Placeholder", outputs: [("output", .single)]),
            OpDefinition("PlaceholderWithDefault", outputs: [("output", .single)]),
            OpDefinition("NoOp", outputs: []),
            OpDefinition("VarHandleOp", outputs: [("resource", .single)],
                         defaults: ["shared_name": .string([]), "container": .string([])]),
            OpDefinition("VariableV2", outputs: [("ref", .single)],
                         defaults: ["shared_name": .string([]), "container": .string([])]),
            OpDefinition("Variable", outputs: [("ref", .single)],
                         defaults: ["shared_name": .string([]), "container": .string([])]),
            OpDefinition("ReadVariableOp", outputs: [("value", .single)]),
            OpDefinition("AssignVariableOp", outputs: [], defaults: ["validate_shape": .bool(false)]),
            OpDefinition("AssignAddVariableOp", outputs: []),
            OpDefinition("AssignSubVariableOp", outputs: []),
            OpDefinition("Assign", outputs: [("output_ref", .single)],
                         defaults: ["validate_shape": .bool(true), "use_locking": .bool(true)]),
            OpDefinition("RestoreV2", outputs: [("tensors", .typeListAttr("dtypes"))]),
            OpDefinition("VarIsInitializedOp", outputs: [("is_initialized", .single)]),
            OpDefinition("IsVariableInitialized", outputs: [("is_initialized", .single)]),
            OpDefinition("DisableCopyOnRead", outputs: []),

            OpDefinition("Identity", outputs: [("output", .single)]) { _ in IdentityKernel() },
            OpDefinition("StopGradient", outputs: [("output", .single)]) { _ in IdentityKernel() },
            OpDefinition("Snapshot", outputs: [("output", .single)]) { _ in IdentityKernel() },
            OpDefinition("IdentityN", outputs: [("output", .typeListAttr("T"))]) { _ in IdentityKernel() },

            OpDefinition("MatMul", outputs: [("product", .single)],
                         defaults: ["transpose_a": .bool(false), "transpose_b": .bool(false)]) { attrs throws(ServingError) in
                MatMulKernel(transposeA: try attrs.bool("transpose_a"), transposeB: try attrs.bool("transpose_b"))
            },
            OpDefinition("BiasAdd", outputs: [("output", .single)],
                         defaults: ["data_format": .string(Array("NHWC".utf8))]) { attrs throws(ServingError) in
                let format = try attrs.string("data_format")
                guard format == "NHWC" || format == "NCHW" else {
                    throw .unimplemented("\(attrs.location): BiasAdd data_format '\(format)' is not supported")
                }
                return BiasAddKernel(channelsFirst: format == "NCHW")
            },
            OpDefinition("Softmax", outputs: [("softmax", .single)]) { _ in SoftmaxKernel(logarithmic: false) },
            OpDefinition("LogSoftmax", outputs: [("logsoftmax", .single)]) { _ in SoftmaxKernel(logarithmic: true) },
            OpDefinition("SparseSoftmaxCrossEntropyWithLogits", outputs: [("loss", .single), ("backprop", .single)]) { _ in
                SparseSoftmaxCrossEntropyKernel()
            },
            OpDefinition("Reshape", outputs: [("output", .single)]) { _ in ReshapeKernel() },
            OpDefinition("Shape", outputs: [("output", .single)],
                         defaults: ["out_type": .type(DType.int32.rawValue)]) { attrs throws(ServingError) in
                ShapeKernel(outputType: try attrs.dtype("out_type"))
            },
            OpDefinition("Squeeze", outputs: [("output", .single)],
                         defaults: ["squeeze_dims": .list([])]) { attrs throws(ServingError) in
                SqueezeKernel(axes: try attrs.ints("squeeze_dims"))
            },
            OpDefinition("ExpandDims", outputs: [("output", .single)]) { _ in ExpandDimsKernel() },
            OpDefinition("Cast", outputs: [("y", .single)], defaults: ["Truncate": .bool(false)]) { attrs throws(ServingError) in
                CastKernel(destination: try attrs.dtype("DstT"))
            },
            OpDefinition("LeakyRelu", outputs: [("activations", .single)],
                         defaults: ["alpha": .float(0.2)]) { attrs throws(ServingError) in
                UnaryKernel<LeakyReluFunction>(op: "LeakyRelu", parameter: Double(try attrs.float("alpha")))
            },
            OpDefinition("ConcatV2", outputs: [("output", .single)]) { _ in ConcatKernel() },
            OpDefinition("Pack", outputs: [("output", .single)], defaults: ["axis": .int(0)]) { attrs throws(ServingError) in
                PackKernel(axis: try attrs.int("axis"))
            },
            OpDefinition("StridedSlice", outputs: [("output", .single)],
                         defaults: ["begin_mask": .int(0), "end_mask": .int(0), "ellipsis_mask": .int(0),
                                    "new_axis_mask": .int(0), "shrink_axis_mask": .int(0)]) { attrs throws(ServingError) in
                StridedSliceKernel(beginMask: try attrs.int("begin_mask"), endMask: try attrs.int("end_mask"),
                                   ellipsisMask: try attrs.int("ellipsis_mask"), newAxisMask: try attrs.int("new_axis_mask"),
                                   shrinkAxisMask: try attrs.int("shrink_axis_mask"))
            },
            OpDefinition("Conv2D", outputs: [("output", .single)],
                         defaults: ["data_format": .string(Array("NHWC".utf8)), "dilations": .list([.int(1), .int(1), .int(1), .int(1)]),
                                    "use_cudnn_on_gpu": .bool(true), "explicit_paddings": .list([])]) { attrs throws(ServingError) in
                try Conv2DKernel(attrs: attrs)
            },
            OpDefinition("MaxPool", outputs: [("output", .single)],
                         defaults: ["data_format": .string(Array("NHWC".utf8))]) { attrs throws(ServingError) in
                try PoolKernel(maximum: true, attrs: attrs)
            },
            OpDefinition("AvgPool", outputs: [("output", .single)],
                         defaults: ["data_format": .string(Array("NHWC".utf8))]) { attrs throws(ServingError) in
                try PoolKernel(maximum: false, attrs: attrs)
            },
            OpDefinition("Transpose", outputs: [("y", .single)]) { _ in TransposeKernel() },
            OpDefinition("ArgMax", outputs: [("output", .single)],
                         defaults: ["output_type": .type(DType.int64.rawValue)]) { attrs throws(ServingError) in
                ArgExtremumKernel(maximum: true, outputType: try attrs.dtype("output_type"))
            },
            OpDefinition("ArgMin", outputs: [("output", .single)],
                         defaults: ["output_type": .type(DType.int64.rawValue)]) { attrs throws(ServingError) in
                ArgExtremumKernel(maximum: false, outputType: try attrs.dtype("output_type"))
            },
        ]
        let reductions: [(String, ReductionKind)] = [
            ("Sum", .sum), ("Mean", .mean), ("Max", .max), ("Min", .min), ("Prod", .product),
        ]
        for (name, kind) in reductions {
            entries.append(OpDefinition(name, outputs: [("output", .single)], defaults: ["keep_dims": .bool(false)]) {
                attrs throws(ServingError) in
                ReductionKernel(kind: kind, keepDims: try attrs.bool("keep_dims"), op: name)
            })
        }
        let binary: [(String, OpDefinition.KernelFactory)] = [
            ("AddV2", { _ in BinaryKernel<AddFunction>(op: "AddV2") }),
            ("Add", { _ in BinaryKernel<AddFunction>(op: "Add") }),
            ("Sub", { _ in BinaryKernel<SubtractFunction>(op: "Sub") }),
            ("Mul", { _ in BinaryKernel<MultiplyFunction>(op: "Mul") }),
            ("RealDiv", { _ in BinaryKernel<DivideFunction>(op: "RealDiv") }),
            ("Maximum", { _ in BinaryKernel<MaximumFunction>(op: "Maximum") }),
            ("Minimum", { _ in BinaryKernel<MinimumFunction>(op: "Minimum") }),
            ("SquaredDifference", { _ in BinaryKernel<SquaredDifferenceFunction>(op: "SquaredDifference") }),
        ]
        for (name, factory) in binary {
            entries.append(OpDefinition(name, outputs: [("z", .single)], kernel: factory))
        }
        let unary: [(String, String, OpDefinition.KernelFactory)] = [
            ("Relu", "activations", { _ in UnaryKernel<ReluFunction>(op: "Relu") }),
            ("Relu6", "activations", { _ in UnaryKernel<Relu6Function>(op: "Relu6") }),
            ("Elu", "activations", { _ in UnaryKernel<EluFunction>(op: "Elu") }),
            ("Selu", "activations", { _ in UnaryKernel<SeluFunction>(op: "Selu") }),
            ("Softplus", "activations", { _ in UnaryKernel<SoftplusFunction>(op: "Softplus") }),
            ("Softsign", "activations", { _ in UnaryKernel<SoftsignFunction>(op: "Softsign") }),
            ("Sigmoid", "y", { _ in UnaryKernel<SigmoidFunction>(op: "Sigmoid") }),
            ("Tanh", "y", { _ in UnaryKernel<TanhFunction>(op: "Tanh") }),
            ("Exp", "y", { _ in UnaryKernel<ExpFunction>(op: "Exp") }),
            ("Log", "y", { _ in UnaryKernel<LogFunction>(op: "Log") }),
            ("Neg", "y", { _ in UnaryKernel<NegFunction>(op: "Neg") }),
            ("Abs", "y", { _ in UnaryKernel<AbsFunction>(op: "Abs") }),
            ("Square", "y", { _ in UnaryKernel<SquareFunction>(op: "Square") }),
            ("Sqrt", "y", { _ in UnaryKernel<SqrtFunction>(op: "Sqrt") }),
            ("Rsqrt", "y", { _ in UnaryKernel<RsqrtFunction>(op: "Rsqrt") }),
            ("Erf", "y", { _ in UnaryKernel<ErfFunction>(op: "Erf") }),
        ]
        for (name, output, factory) in unary {
            entries.append(OpDefinition(name, outputs: [(output, .single)], kernel: factory))
        }
        for family in familyDefinitions { entries.append(contentsOf: family) }
        var table: [String: OpDefinition] = [:]
        for entry in entries { table[entry.name] = entry }
        return table
    }()
}
