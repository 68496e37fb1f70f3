import Tensors

extension OpDefTable {
    /// Elementwise math beyond the activations, padding, slicing and broadcasting, gathers, scatters and
    /// segment reductions, sorting and searching, image resizing.
    static let mathDefinitions: [OpDefinition] = {
        func unary<F: UnaryFunction>(_ name: String, _: F.Type) -> OpDefinition {
            OpDefinition(name, outputs: [("y", .single)]) { _ in UnaryKernel<F>(op: name) }
        }
        func floatClass(_ name: String, _ test: FloatClassKernel.Test) -> OpDefinition {
            OpDefinition(name, outputs: [("y", .single)]) { _ in FloatClassKernel(test: test, op: name) }
        }
        func pad(_ name: String, _ mode: PadKernel.Mode?) -> OpDefinition {
            OpDefinition(name, outputs: [("output", .single)]) { attrs throws(ServingError) in
                guard let mode else {
                    switch try attrs.string("mode") {
                    case "REFLECT": return PadKernel(mode: .reflect, op: name)
                    case "SYMMETRIC": return PadKernel(mode: .symmetric, op: name)
                    case let other: throw .invalidArgument("\(attrs.location): MirrorPad mode must be REFLECT or SYMMETRIC, got '\(other)'")
                    }
                }
                return PadKernel(mode: mode, op: name)
            }
        }
        func segment(_ name: String, _ reduction: SegmentReductionKernel.Reduction, sorted: Bool) -> OpDefinition {
            OpDefinition(name, outputs: [("output", .single)]) { _ in SegmentReductionKernel(reduction: reduction, sorted: sorted, op: name) }
        }
        func resize(_ name: String, _ method: ImageResizeKernel.Method) -> OpDefinition {
            OpDefinition(name, outputs: [("resized_images", .single)],
                         defaults: ["align_corners": .bool(false), "half_pixel_centers": .bool(false)]) { attrs throws(ServingError) in
                ImageResizeKernel(method: method, alignCorners: try attrs.bool("align_corners"),
                                  halfPixelCenters: try attrs.bool("half_pixel_centers"), op: name)
            }
        }
        return [
            resize("ResizeBilinear", .bilinear), resize("ResizeNearestNeighbor", .nearest), resize("ResizeBicubic", .bicubic),
            OpDefinition("ResizeArea", outputs: [("resized_images", .single)], defaults: ["align_corners": .bool(false)]) {
                attrs throws(ServingError) in ResizeAreaKernel(alignCorners: try attrs.bool("align_corners"))
            },
            OpDefinition("ScaleAndTranslate", outputs: [("resized_images", .single)],
                         defaults: ["kernel_type": .string(Array("lanczos3".utf8)), "antialias": .bool(true)]) { attrs throws(ServingError) in
                let name = try attrs.string("kernel_type")
                guard let kernel = SamplingKernel(name: name) else {
                    throw .invalidArgument("\(attrs.location): unknown ScaleAndTranslate kernel_type '\(name)'")
                }
                return ScaleAndTranslateKernel(kernel: kernel, antialias: try attrs.bool("antialias"))
            },
            unary("Floor", FloorFunction.self), unary("Ceil", CeilFunction.self), unary("Round", RoundFunction.self),
            unary("Rint", RoundFunction.self), unary("Sign", SignFunction.self),
            unary("Reciprocal", ReciprocalFunction.self), unary("Inv", ReciprocalFunction.self),
            unary("Expm1", Expm1Function.self), unary("Log1p", Log1pFunction.self),
            unary("Sin", SinFunction.self), unary("Cos", CosFunction.self), unary("Tan", TanFunction.self),
            unary("Asin", AsinFunction.self), unary("Acos", AcosFunction.self), unary("Atan", AtanFunction.self),
            unary("Sinh", SinhFunction.self), unary("Cosh", CoshFunction.self), unary("Asinh", AsinhFunction.self),
            unary("Acosh", AcoshFunction.self), unary("Atanh", AtanhFunction.self), unary("Lgamma", LgammaFunction.self),
            unary("Erfinv", ErfinvFunction.self),
            unary("BesselI0", BesselI0Function.self), unary("BesselI0e", BesselI0eFunction.self),
            unary("BesselI1", BesselI1Function.self), unary("BesselI1e", BesselI1eFunction.self),
            floatClass("IsNan", .nan), floatClass("IsInf", .infinite), floatClass("IsFinite", .finite),
            OpDefinition("DivNoNan", outputs: [("z", .single)]) { _ in BinaryKernel<DivNoNanFunction>(op: "DivNoNan") },
            OpDefinition("Cumprod", outputs: [("out", .single)],
                         defaults: ["exclusive": .bool(false), "reverse": .bool(false)]) { attrs throws(ServingError) in
                CumsumKernel(exclusive: try attrs.bool("exclusive"), reverse: try attrs.bool("reverse"), product: true)
            },
            pad("Pad", .constant), pad("PadV2", .constant), pad("MirrorPad", nil),
            OpDefinition("Slice", outputs: [("output", .single)]) { _ in SliceKernel() },
            OpDefinition("XlaDynamicUpdateSlice", outputs: [("output", .single)]) { _ in DynamicUpdateSliceKernel() },
            OpDefinition("BroadcastTo", outputs: [("output", .single)]) { _ in BroadcastToKernel() },
            OpDefinition("BroadcastArgs", outputs: [("r0", .single)]) { _ in BroadcastArgsKernel() },
            OpDefinition("EnsureShape", outputs: [("output", .single)]) { attrs throws(ServingError) in
                guard case .shape(let dims) = attrs.value("shape") else {
                    throw .invalidArgument("\(attrs.location): EnsureShape needs a shape attribute")
                }
                return EnsureShapeKernel(expected: dims, location: attrs.location)
            },
            OpDefinition("ResourceGather", outputs: [("output", .single)], defaults: ["batch_dims": .int(0)]) { attrs throws(ServingError) in
                ResourceGatherKernel(gather: GatherKernel(batchDims: try attrs.int("batch_dims")))
            },
            OpDefinition("ResourceGatherNd", outputs: [("output", .single)]) { _ in ResourceGatherNdKernel() },
            OpDefinition("GatherNd", outputs: [("output", .single)]) { _ in GatherNdKernel() },
            OpDefinition("TensorScatterUpdate", outputs: [("output", .single)]) { _ in TensorScatterKernel(mode: .update, op: "TensorScatterUpdate") },
            OpDefinition("TensorScatterAdd", outputs: [("output", .single)]) { _ in TensorScatterKernel(mode: .add, op: "TensorScatterAdd") },
            OpDefinition("ScatterNd", outputs: [("output", .single)]) { _ in TensorScatterKernel(mode: .scatterNd, op: "ScatterNd") },
            segment("SegmentSum", .sum, sorted: true), segment("SegmentMean", .mean, sorted: true),
            segment("SegmentMax", .max, sorted: true), segment("SegmentMin", .min, sorted: true),
            segment("SegmentProd", .prod, sorted: true),
            segment("UnsortedSegmentSum", .sum, sorted: false), segment("UnsortedSegmentMax", .max, sorted: false),
            segment("UnsortedSegmentMin", .min, sorted: false), segment("UnsortedSegmentProd", .prod, sorted: false),
            OpDefinition("SparseToDense", outputs: [("dense", .single)], defaults: ["validate_indices": .bool(true)]) { _ in
                SparseToDenseKernel()
            },
            OpDefinition("SparseReduceSum", outputs: [("output", .single)], defaults: ["keep_dims": .bool(false)]) { attrs throws(ServingError) in
                SparseReduceSumKernel(keepDims: try attrs.bool("keep_dims"))
            },
            OpDefinition("Unique", outputs: [("y", .single), ("idx", .single)], defaults: ["out_idx": .type(3)]) { attrs throws(ServingError) in
                UniqueKernel(indexType: try attrs.dtype("out_idx"))
            },
            OpDefinition("Atan2", outputs: [("z", .single)]) { _ in FloatPairKernel.atan2 },
            OpDefinition("NextAfter", outputs: [("output", .single)]) { _ in FloatPairKernel.nextAfter },
            OpDefinition("MatrixBandPart", outputs: [("band", .single)]) { _ in MatrixBandPartKernel() },
            OpDefinition("MatrixDiagPartV3", outputs: [("diagonal", .single)], defaults: ["align": .string(Array("RIGHT_LEFT".utf8))]) { _ in
                MatrixDiagPartKernel()
            },
            OpDefinition("MatrixDiagV3", outputs: [("output", .single)], defaults: ["align": .string(Array("RIGHT_LEFT".utf8))]) { _ in
                MatrixDiagKernel()
            },
            OpDefinition("MatrixSetDiagV3", outputs: [("output", .single)], defaults: ["align": .string(Array("RIGHT_LEFT".utf8))]) { _ in
                MatrixSetDiagKernel()
            },
            OpDefinition("MatrixDeterminant", outputs: [("output", .single)]) { _ in
                LinearAlgebraKernel(operation: .determinant, adjoint: false, op: "MatrixDeterminant")
            },
            OpDefinition("MatrixInverse", outputs: [("output", .single)], defaults: ["adjoint": .bool(false)]) { attrs throws(ServingError) in
                LinearAlgebraKernel(operation: .inverse, adjoint: try attrs.bool("adjoint"), op: "MatrixInverse")
            },
            OpDefinition("MatrixSolve", outputs: [("output", .single)], defaults: ["adjoint": .bool(false)]) { attrs throws(ServingError) in
                LinearAlgebraKernel(operation: .solve, adjoint: try attrs.bool("adjoint"), op: "MatrixSolve")
            },
            OpDefinition("LogMatrixDeterminant", outputs: [("sign", .single), ("log_abs_determinant", .single)]) { _ in
                LinearAlgebraKernel(operation: .logDeterminant, adjoint: false, op: "LogMatrixDeterminant")
            },
            OpDefinition("Cholesky", outputs: [("output", .single)]) { _ in CholeskyKernel() },
            OpDefinition("Svd", outputs: [("s", .single), ("u", .single), ("v", .single)],
                         defaults: ["compute_uv": .bool(true), "full_matrices": .bool(false)]) { attrs throws(ServingError) in
                SingularValueKernel(computeVectors: try attrs.bool("compute_uv"), fullMatrices: try attrs.bool("full_matrices"))
            },
            OpDefinition("SelfAdjointEigV2", outputs: [("e", .single), ("v", .single)],
                         defaults: ["compute_v": .bool(true)]) { attrs throws(ServingError) in
                SymmetricEigenKernel(computeVectors: try attrs.bool("compute_v"))
            },
            OpDefinition("Qr", outputs: [("q", .single), ("r", .single)], defaults: ["full_matrices": .bool(false)]) {
                attrs throws(ServingError) in QRKernel(fullMatrices: try attrs.bool("full_matrices"))
            },
            OpDefinition("Lu", outputs: [("lu", .single), ("p", .single)], defaults: ["output_idx_type": .type(3)]) {
                attrs throws(ServingError) in LUKernel(indexType: try attrs.dtype("output_idx_type"))
            },
            OpDefinition("MatrixTriangularSolve", outputs: [("output", .single)],
                         defaults: ["lower": .bool(true), "adjoint": .bool(false)]) { attrs throws(ServingError) in
                TriangularSolveKernel(lower: try attrs.bool("lower"), adjoint: try attrs.bool("adjoint"))
            },
            OpDefinition("Roll", outputs: [("output", .single)]) { _ in RollKernel() },
            OpDefinition("ExtractImagePatches", outputs: [("patches", .single)]) { attrs throws(ServingError) in
                try ImagePatchesKernel(sizes: try attrs.ints("ksizes"), strides: try attrs.ints("strides"), rates: try attrs.ints("rates"),
                                       padding: try attrs.string("padding"), location: attrs.location)
            },
            OpDefinition("DepthToSpace", outputs: [("output", .single)], defaults: ["data_format": .string(Array("NHWC".utf8))]) {
                attrs throws(ServingError) in
                guard try attrs.string("data_format") == "NHWC" else { throw .unimplemented("\(attrs.location): DepthToSpace supports NHWC only") }
                return DepthSpaceKernel(toSpace: true, blockSize: try attrs.int("block_size"), op: "DepthToSpace")
            },
            OpDefinition("SpaceToDepth", outputs: [("output", .single)], defaults: ["data_format": .string(Array("NHWC".utf8))]) {
                attrs throws(ServingError) in
                guard try attrs.string("data_format") == "NHWC" else { throw .unimplemented("\(attrs.location): SpaceToDepth supports NHWC only") }
                return DepthSpaceKernel(toSpace: false, blockSize: try attrs.int("block_size"), op: "SpaceToDepth")
            },
            OpDefinition("LowerBound", outputs: [("output", .single)], defaults: ["out_type": .type(3)]) { attrs throws(ServingError) in
                SearchSortedKernel(upper: false, outType: try attrs.dtype("out_type"))
            },
            OpDefinition("UpperBound", outputs: [("output", .single)], defaults: ["out_type": .type(3)]) { attrs throws(ServingError) in
                SearchSortedKernel(upper: true, outType: try attrs.dtype("out_type"))
            },
            OpDefinition("InTopKV2", outputs: [("precision", .single)]) { _ in InTopKKernel() },
            OpDefinition("Cross", outputs: [("product", .single)]) { _ in CrossKernel() },
            OpDefinition("TopKV2", outputs: [("values", .single), ("indices", .single)]) { _ in TopKKernel() },
            OpDefinition("Where", outputs: [("index", .single)]) { _ in WhereKernel() },
            OpDefinition("Bucketize", outputs: [("output", .single)]) { attrs throws(ServingError) in
                guard case .list(let items) = attrs.value("boundaries") else {
                    throw .invalidArgument("\(attrs.location): Bucketize needs a boundaries attribute")
                }
                var boundaries: [Float] = []
                for item in items {
                    guard case .float(let value) = item else { throw .invalidArgument("\(attrs.location): Bucketize boundaries must be floats") }
                    boundaries.append(value)
                }
                return BucketizeKernel(boundaries: boundaries)
            },
            OpDefinition("RFFT", outputs: [("output", .single)]) { _ in RFFTKernel() },
            OpDefinition("IRFFT", outputs: [("output", .single)]) { _ in InverseRFFTKernel() },
            OpDefinition("FFT", outputs: [("output", .single)]) { _ in ComplexFourierKernel(axes: 1, inverse: false, op: "FFT") },
            OpDefinition("IFFT", outputs: [("output", .single)]) { _ in ComplexFourierKernel(axes: 1, inverse: true, op: "IFFT") },
            OpDefinition("FFT2D", outputs: [("output", .single)]) { _ in ComplexFourierKernel(axes: 2, inverse: false, op: "FFT2D") },
            OpDefinition("IFFT2D", outputs: [("output", .single)]) { _ in ComplexFourierKernel(axes: 2, inverse: true, op: "IFFT2D") },
            OpDefinition("Complex", outputs: [("out", .single)]) { _ in ComplexKernel() },
            OpDefinition("CTCGreedyDecoder", outputs: [("decoded_indices", .single), ("decoded_values", .single),
                                                       ("decoded_shape", .single), ("log_probability", .single)],
                         defaults: ["merge_repeated": .bool(false), "blank_index": .int(-1)]) { attrs throws(ServingError) in
                CTCGreedyDecoderKernel(mergeRepeated: try attrs.bool("merge_repeated"), blankIndex: try attrs.int("blank_index"))
            },
            OpDefinition("Real", outputs: [("output", .single)]) { _ in ComplexPartKernel(part: 0, op: "Real") },
            OpDefinition("Imag", outputs: [("output", .single)]) { _ in ComplexPartKernel(part: 1, op: "Imag") },
        ]
    }()
}
