import Tensors

/// Merges a MatMul or Conv2D with the per-channel arithmetic and activation that follow it into one
/// step, when the intermediate results are read by nothing else:
/// `product → Mul(constant) / BiasAdd(constant) / AddV2(constant) … → Relu/Relu6/Sigmoid/Tanh`,
/// and for a convolution also `→ AddV2(other tensor) → activation` (the end of a residual block).
///
/// Constant multipliers (an inference batch normalisation after a convolution) are folded into
/// constant weights at load time, so the fused step runs one GEMM and one pass over its output.
enum EpilogueFusion {
    /// `packing` shares packed weights with the other steps and signatures of the model being compiled.
    /// Constant weights are read from `constants` only when no packed copy of them exists yet.
    static func fuse(
        _ steps: [PlanStep], constants: PlanConstants, protected: Set<Int>, packing: WeightPacking = WeightPacking()
    ) -> [PlanStep] {
        var readers: [Int: [Int]] = [:]
        for (index, step) in steps.enumerated() {
            for slot in step.inputs { readers[slot, default: []].append(index) }
        }
        func soleReader(_ slot: Int) -> Int? {
            guard !protected.contains(slot), let list = readers[slot], list.count == 1 else { return nil }
            return list[0]
        }
        var removed = Set<Int>()
        /// Steps already merged into a fused step (including where a fused step was placed).
        var taken = Set<Int>()
        var result = steps
        for (index, step) in steps.enumerated() {
            guard step.outputs.count == 1, !taken.contains(index), let producer = Producer(step, constants: constants) else { continue }
            var affine = ChannelAffine(channels: producer.channels)
            var activation = EpilogueActivation.none
            var output = step.outputs[0]
            var absorbed: [Int] = []
            var description = [step.location]
            while let reader = soleReader(output), !taken.contains(reader) {
                let next = steps[reader]
                guard next.outputs.count == 1 else { break }
                if let kind = activationKind(next), next.inputs == [output] {
                    activation = kind
                } else if let operand = affineOperand(next, product: output, producer: producer, constants: constants) {
                    guard affine.absorb(operand.operation, operand.vector, canScale: producer.weights != nil) else { break }
                } else {
                    break
                }
                absorbed.append(reader)
                description.append(next.location)
                output = next.outputs[0]
                if activation != .none { break }
            }
            var residual: (slot: Int, addition: Int)?
            if activation == .none, case .conv = producer.kind, let reader = soleReader(output), !taken.contains(reader),
               steps[reader].kernel is BinaryKernel<AddFunction>, steps[reader].outputs.count == 1,
               let position = steps[reader].inputs.firstIndex(of: output), steps[reader].inputs.count == 2,
               steps[reader].inputs[1 - position] != output {
                residual = (steps[reader].inputs[1 - position], reader)
                absorbed.append(reader)
                description.append(steps[reader].location)
                output = steps[reader].outputs[0]
                if let next = soleReader(output), !taken.contains(next), let kind = activationKind(steps[next]),
                   steps[next].inputs == [output] {
                    activation = kind
                    absorbed.append(next)
                    description.append(steps[next].location)
                    output = steps[next].outputs[0]
                }
            }
            guard !absorbed.isEmpty || producer.packable,
                  let fused = producer.fusedKernel(affine: affine, activation: activation, addsResidual: residual != nil,
                                                       constants: constants, packing: packing)
            else { continue }
            var inputs = fused.readsWeights ? step.inputs : [step.inputs[0]]
            var placement = index
            if let residual {
                // The residual may be computed after the convolution; the fused step runs where the addition did.
                inputs.append(residual.slot)
                placement = residual.addition
                removed.insert(index)
            }
            result[placement] = PlanStep(kernel: fused.kernel, inputs: inputs, outputs: [output], releases: [],
                                         location: description.joined(separator: " + "))
            removed.formUnion(absorbed.filter { $0 != placement })
            taken.formUnion(absorbed)
        }
        return fuseResidualRelu(result.enumerated().filter { !removed.contains($0.offset) }.map(\.element), protected: protected)
    }

    /// `AddV2 → Relu` (the end of a residual block) as one elementwise pass.
    private static func fuseResidualRelu(_ steps: [PlanStep], protected: Set<Int>) -> [PlanStep] {
        var readers: [Int: [Int]] = [:]
        for (index, step) in steps.enumerated() {
            for slot in step.inputs { readers[slot, default: []].append(index) }
        }
        var result = steps
        var removed = Set<Int>()
        for (index, step) in steps.enumerated() where step.kernel is BinaryKernel<AddFunction> && step.outputs.count == 1 {
            let sum = step.outputs[0]
            guard !protected.contains(sum), let list = readers[sum], list.count == 1 else { continue }
            let relu = steps[list[0]]
            guard relu.kernel is UnaryKernel<ReluFunction>, relu.inputs == [sum], relu.outputs.count == 1 else { continue }
            result[index] = PlanStep(kernel: BinaryKernel<AddReluFunction>(op: "AddV2+Relu"), inputs: step.inputs,
                                     outputs: relu.outputs, releases: [], location: step.location + " + " + relu.location)
            removed.insert(list[0])
        }
        return result.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
    }

    /// A step whose output rows can take an epilogue, with what is known about its weights.
    private struct Producer {
        enum Kind { case matMul(MatMulKernel), conv(Conv2DKernel) }
        let kind: Kind
        /// The constant right-hand side (MatMul) or filter (Conv2D); nil when it is computed per run.
        let weights: LoadConstant?
        /// Output channels when the weights are known.
        let channels: Int?
        let dtype: DType?

        /// Whether the constant weights can use the packed AVX2/FMA kernel, worth a step even with no epilogue.
        var packable: Bool {
            guard PackedWeights.isSupported, let weights, weights.dtype == .float32 else { return false }
            if case .matMul(let matMul) = kind { return !matMul.transposeA }
            return true
        }

        var outputRank: Int {
            switch kind {
            case .matMul: 2
            case .conv: 4
            }
        }

        init?(_ step: PlanStep, constants: PlanConstants) {
            let weights = step.inputs.count == 2 ? constants[step.inputs[1]] : nil
            if let matMul = step.kernel as? MatMulKernel {
                kind = .matMul(matMul)
                if let weights, weights.shape.rank == 2, weights.dtype == .float32 || weights.dtype == .float64 {
                    self.weights = weights
                    channels = matMul.transposeB ? weights.shape[0] : weights.shape[1]
                    dtype = weights.dtype
                } else {
                    self.weights = nil
                    channels = nil
                    dtype = nil
                }
            } else if let conv = step.kernel as? Conv2DKernel, let weights, weights.shape.rank == 4,
                      weights.dtype == .float32 || weights.dtype == .float64 {
                kind = .conv(conv)
                self.weights = weights
                channels = weights.shape[3]
                dtype = weights.dtype
            } else {
                return nil
            }
        }

        /// The fused kernel and whether it still reads the weights from its second input.
        /// Constant weights as a fused step keeps them.
        enum Prepared {
            case packed(PackedWeights)
            case plain(Tensor)
        }

        func fusedKernel(
            affine: ChannelAffine, activation: EpilogueActivation, addsResidual: Bool, constants: PlanConstants,
            packing: WeightPacking
        ) -> (kernel: any Kernel, readsWeights: Bool)? {
            let epilogue = GEMMEpilogue(biasValues: affine.shift ?? [], activation: activation)
            /// The packed form of the scaled constant, shared through `packing` (read and built by `pack` on
            /// first use); where it cannot be packed, the scaled constant itself. nil when the scale does not
            /// fit or the constant cannot be read.
            func prepared(
                _ weights: LoadConstant, form: WeightPacking.Form, alongFirstAxis: Bool, pack: (Tensor) -> PackedWeights?
            ) -> Prepared? {
                func scaledWeights() -> Tensor? {
                    guard let values = constants.read(weights) else { return nil }
                    guard let scale = affine.scale else { return values }
                    return Self.scaled(values, by: scale, alongFirstAxis: alongFirstAxis)
                }
                var scaled: Tensor?
                let packed = packing.packed(weights, form: form, scale: affine.scale, epilogue: epilogue) {
                    scaled = scaledWeights()
                    return scaled.flatMap(pack)
                }
                if let packed { return .packed(packed) }
                return (scaled ?? scaledWeights()).map { .plain($0) }
            }
            switch kind {
            case .matMul(let matMul):
                guard let weights, affine.scale != nil || packable else {
                    return (FusedMatMulKernel(matMul: matMul, epilogue: epilogue), true)
                }
                switch prepared(
                    weights, form: .matrix(transposed: matMul.transposeB), alongFirstAxis: matMul.transposeB,
                    pack: { matMul.transposeA ? nil : PackedWeights(matrix: $0, transposed: matMul.transposeB, epilogue: epilogue) }) {
                case .packed(let packed)?:
                    return (FusedMatMulKernel(matMul: matMul, packed: packed, shape: weights.shape, epilogue: epilogue), false)
                case .plain(let constant)?:
                    return (FusedMatMulKernel(matMul: matMul, weights: constant, epilogue: epilogue), false)
                case nil:
                    return nil
                }
            case .conv(let conv):
                let winograd = FusedConv2DKernel.allowsWinograd(conv)
                guard let weights else { return nil }
                switch prepared(weights, form: .filter(winograd: winograd), alongFirstAxis: false,
                                pack: { PackedWeights(filter: $0, epilogue: epilogue, winograd: winograd) }) {
                case .packed(let packed)?:
                    return (FusedConv2DKernel(conv: conv, packed: packed, filterShape: weights.shape, epilogue: epilogue,
                                              addsResidual: addsResidual), false)
                case .plain(let filter)?:
                    return (FusedConv2DKernel(conv: conv, filter: filter, epilogue: epilogue, addsResidual: addsResidual), false)
                case nil:
                    return nil
                }
            }
        }

        /// `weights` with each output channel multiplied by its scale: the last axis, or the first for a
        /// transposed MatMul right-hand side.
        private static func scaled(_ weights: Tensor, by scale: [Double], alongFirstAxis: Bool) -> Tensor? {
            let channels = alongFirstAxis ? weights.shape[0] : weights.shape[weights.shape.rank - 1]
            guard scale.count == channels, channels > 0 else { return nil }
            let inner = weights.elementCount / channels
            func index(_ i: Int) -> Int { alongFirstAxis ? i / inner : i % channels }
            switch weights.dtype {
            case .float32:
                let values = weights.elements(Float.self)
                return Tensor((0..<values.count).map { values[$0] * Float(scale[index($0)]) }, shape: weights.shape)
            case .float64:
                let values = weights.elements(Double.self)
                return Tensor((0..<values.count).map { values[$0] * scale[index($0)] }, shape: weights.shape)
            default:
                return nil
            }
        }
    }

    /// Per-channel `x · scale + shift` accumulated from the steps after a product.
    struct ChannelAffine {
        enum Operation { case multiply, add }
        let channels: Int?
        var scale: [Double]?
        var shift: [Double]?

        init(channels: Int?) { self.channels = channels }

        /// Applies one more operation; false when it cannot be folded.
        mutating func absorb(_ operation: Operation, _ vector: [Double], canScale: Bool) -> Bool {
            guard let channels else {
                // Unknown weights: a single bias vector, checked against the product when it runs.
                guard operation == .add, shift == nil, scale == nil else { return false }
                shift = vector
                return true
            }
            let values = vector.count == 1 ? [Double](repeating: vector[0], count: channels) : vector
            guard values.count == channels else { return false }
            switch operation {
            case .multiply:
                guard canScale else { return false }
                scale = zip(scale ?? [Double](repeating: 1, count: channels), values).map { $0 * $1 }
                shift = shift.map { zip($0, values).map { $0 * $1 } }
            case .add:
                shift = zip(shift ?? [Double](repeating: 0, count: channels), values).map { $0 + $1 }
            }
            return true
        }
    }

    /// The operation and constant per-channel vector of a Mul, BiasAdd or AddV2 applied to `product`.
    private static func affineOperand(
        _ step: PlanStep, product: Int, producer: Producer, constants: PlanConstants
    ) -> (operation: ChannelAffine.Operation, vector: [Double])? {
        guard step.inputs.count == 2, let position = step.inputs.firstIndex(of: product), step.inputs[1 - position] != product
        else { return nil }
        let operation: ChannelAffine.Operation
        if let biasAdd = step.kernel as? BiasAddKernel {
            guard !biasAdd.channelsFirst, position == 0 else { return nil }
            operation = .add
        } else if step.kernel is BinaryKernel<AddFunction> {
            operation = .add
        } else if step.kernel is BinaryKernel<MultiplyFunction> {
            operation = .multiply
        } else {
            return nil
        }
        guard let operand = constants[step.inputs[1 - position]], producer.dtype == nil || operand.dtype == producer.dtype,
              operand.shape.elementCount >= 1, operand.shape.dims.dropLast().allSatisfy({ $0 == 1 }),
              operand.shape.rank <= producer.outputRank else { return nil }
        if producer.channels == nil, operand.shape.rank != 1 { return nil }
        guard operand.dtype == .float32 || operand.dtype == .float64, let vector = constants.read(operand) else { return nil }
        switch vector.dtype {
        case .float32: return (operation, vector.elements(Float.self).map { Double($0) })
        case .float64: return (operation, Array(vector.elements(Double.self)))
        default: return nil
        }
    }

    private static func activationKind(_ step: PlanStep) -> EpilogueActivation? {
        switch step.kernel {
        case is UnaryKernel<ReluFunction>: .relu
        case is UnaryKernel<Relu6Function>: .relu6
        case is UnaryKernel<SigmoidFunction>: .sigmoid
        case is UnaryKernel<TanhFunction>: .tanh
        default: nil
        }
    }
}
