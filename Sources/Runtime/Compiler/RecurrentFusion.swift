import Tensors

/// Replaces While steps that are a Keras recurrent layer's time loop by one `RecurrentLoopKernel` step
/// with the same inputs and outputs.
///
/// Recognised: a body computing a Keras LSTM cell, or a GRU cell with `reset_after=True`, from constant
/// float32 weights — `x = TensorListGetItem(inputs, time)`, the cell, `TensorListSetItem(outputs, time or a
/// constant index, h')`, counters increased by one — and a cond that is `counter < bound` or the
/// conjunction of two such comparisons. The match is structural and exact: every step of the body and
/// of the cond must belong to the pattern and every other loop variable must pass through unchanged,
/// so a masked layer (Select/Tile steps), other activations or extra loop outputs keep the While loop.
///
/// When the loop's input sequence is an embedding lookup of a constant table (`TensorListFromTensor(
/// Transpose(GatherV2(table, tokens, axis 0), [1, 0, 2]))`), the table is multiplied by the input kernel
/// once (`ProjectedEmbedding`) and the fused step also reads the tokens.
enum RecurrentFusion {
    /// `packing` shares projected embedding tables with the other signatures of the model being compiled.
    static func fuse(_ steps: [PlanStep], constants: PlanConstants = PlanConstants([:]),
                     packing: WeightPacking = WeightPacking()) -> [PlanStep] {
        var producers: [Int: Int] = [:]
        for (index, step) in steps.enumerated() {
            for slot in step.outputs { producers[slot] = index }
        }
        return steps.map { step in
            guard let loop = step.kernel as? WhileKernel, step.inputs.count == step.outputs.count,
                  var kernel = recognise(loop, variableCount: step.inputs.count)
            else { return step }
            var inputs = step.inputs
            var location = "\(step.location) as a fused \(kernel.cell) loop"
            if let (table, tokens) = embeddingLookup(step.inputs[kernel.layout.inputSequence], steps, producers, constants),
               let embedding = packing.projectedEmbedding(table, weights: kernel.weights, make: {
                   constants.read(table).flatMap { ProjectedEmbedding(embedding: $0, weights: kernel.weights) }
               }) {
                kernel.embedding = embedding
                inputs.append(tokens)
                location += " over a projected embedding"
            }
            return PlanStep(kernel: kernel, inputs: inputs, outputs: step.outputs, releases: step.releases,
                            location: location)
        }
    }

    /// The constant table and the token slot of `TensorListFromTensor(Transpose(GatherV2(table, tokens,
    /// axis 0), [1, 0, 2]))` writing `list`, as Keras builds the input of a recurrent layer after an Embedding.
    private static func embeddingLookup(
        _ list: Int, _ steps: [PlanStep], _ producers: [Int: Int], _ constants: PlanConstants
    ) -> (table: LoadConstant, tokens: Int)? {
        func producer<K: Kernel>(_ slot: Int, _ type: K.Type) -> (PlanStep, K)? {
            guard let index = producers[slot], let kernel = steps[index].kernel as? K else { return nil }
            return (steps[index], kernel)
        }
        func integers(_ slot: Int) -> [Int]? { constants.tensor(slot).flatMap { try? $0.integerValues() } }
        guard let (fromTensor, _) = producer(list, TensorListFromTensorKernel.self), fromTensor.inputs.count == 2,
              let (transpose, _) = producer(fromTensor.inputs[0], TransposeKernel.self), transpose.inputs.count == 2,
              integers(transpose.inputs[1]) == [1, 0, 2],
              let (gather, kernel) = producer(transpose.inputs[0], GatherKernel.self), kernel.batchDims == 0,
              gather.inputs.count == 3, integers(gather.inputs[2]) == [0], let table = constants[gather.inputs[0]],
              table.shape.rank == 2, constants[gather.inputs[1]] == nil
        else { return nil }
        return (table, gather.inputs[1])
    }

    static func recognise(_ loop: WhileKernel, variableCount: Int) -> RecurrentLoopKernel? {
        let body = loop.body
        guard body.argumentSlots.count == variableCount, body.results.count == variableCount,
              loop.cond.argumentSlots.count == variableCount, loop.cond.results.count == 1
        else { return nil }
        var pattern = FunctionPattern(body)
        let writes = (0..<variableCount).filter { pattern.producer(of: body.results[$0]) is TensorListSetItemKernel }
        guard writes.count == 1, let outputSequence = writes.first,
              case .slot(let written) = body.results[outputSequence],
              let write = pattern.step(written, TensorListSetItemKernel.self), write.inputs.count == 3,
              pattern.argument(write.inputs[0]) == outputSequence
        else { return nil }
        let newHidden = write.inputs[2]
        let cellPattern = pattern
        let cell: CellMatch
        if let lstm = pattern.lstmCell(newHidden) {
            cell = lstm
        } else {
            pattern = cellPattern
            guard let gru = pattern.gruCell(newHidden) else { return nil }
            cell = gru
        }
        guard pattern.resultSlot(cell.hiddenState) == newHidden else { return nil }
        if let carry = cell.cellState {
            guard let newCell = cell.newCellSlot, pattern.resultSlot(carry) == newCell else { return nil }
        }
        let outputPosition: RecurrentLoopLayout.OutputPosition
        if let index = pattern.integerConstant(write.inputs[1]) {
            outputPosition = .fixed(index)
        } else if pattern.argument(write.inputs[1]) == cell.time {
            outputPosition = .time
        } else {
            return nil
        }

        var counters: [Int] = []
        var passthrough = Set<Int>()
        var roles: Set<Int> = [outputSequence, cell.hiddenState]
        if let carry = cell.cellState { roles.insert(carry) }
        for index in 0..<variableCount where !roles.contains(index) {
            if pattern.passesThrough(index) {
                passthrough.insert(index)
            } else if pattern.incrementsByOne(index) {
                counters.append(index)
            } else {
                return nil
            }
        }
        guard counters.contains(cell.time), passthrough.contains(cell.inputSequence), pattern.coversEveryStep,
              let limits = recogniseCond(loop.cond, counters: Set(counters), invariants: passthrough)
        else { return nil }
        let layout = RecurrentLoopLayout(variableCount: variableCount, counters: counters, time: cell.time,
                                         limits: limits, inputSequence: cell.inputSequence,
                                         outputSequence: outputSequence, outputPosition: outputPosition,
                                         hiddenState: cell.hiddenState, cellState: cell.cellState)
        return RecurrentLoopKernel(cell: cell.kind, weights: cell.weights, layout: layout, loop: loop)
    }

    /// `counter < bound` or `(counter < bound) && (counter < bound)`, with int32 bounds that are constants
    /// or loop variables the body passes through.
    private static func recogniseCond(_ cond: FunctionPlan, counters: Set<Int>,
                                      invariants: Set<Int>) -> [RecurrentLoopLayout.Limit]? {
        guard case .slot(let result) = cond.results[0] else { return nil }
        var pattern = FunctionPattern(cond)
        var comparisons = [result]
        if let conjunction = pattern.step(result, LogicalBinaryKernel.self) {
            guard conjunction.kernel.isAnd, conjunction.inputs.count == 2 else { return nil }
            comparisons = conjunction.inputs
        }
        var limits: [RecurrentLoopLayout.Limit] = []
        for slot in comparisons {
            guard let less = pattern.step(slot, OrderingKernel<LessComparison>.self), less.inputs.count == 2,
                  let counter = pattern.argument(less.inputs[0]), counters.contains(counter)
            else { return nil }
            if let value = pattern.integerConstant(less.inputs[1]) {
                limits.append(.init(counter: counter, bound: .constant(value)))
            } else if let variable = pattern.argument(less.inputs[1]), invariants.contains(variable) {
                limits.append(.init(counter: counter, bound: .variable(variable)))
            } else {
                return nil
            }
        }
        return pattern.coversEveryStep ? limits : nil
    }
}

/// A recognised cell: its kind and weights, and the loop variables it reads and writes.
private struct CellMatch {
    let kind: RecurrentCell
    let weights: CellWeights
    let hiddenState: Int
    let cellState: Int?
    /// The slot of the new carry state (LSTM).
    let newCellSlot: Int?
    let inputSequence: Int
    let time: Int
}

/// `x × weights + bias` with constant float32 weights, as MatMul (+ BiasAdd/AddV2) or a fused MatMul.
private struct AffineMatch {
    let input: Int
    let weights: Tensor
    let bias: [Float]?
}

/// The steps of a compiled function indexed by the slots they write, for recognising expressions.
/// Every step a recognised expression uses is recorded, so the caller can require that none is left over.
private struct FunctionPattern {
    let function: FunctionPlan
    private var producers: [Int: (step: Int, output: Int)] = [:]
    private var argumentIndices: [Int: Int] = [:]
    private(set) var claimed = Set<Int>()

    init(_ function: FunctionPlan) {
        self.function = function
        for (index, step) in function.plan.steps.enumerated() {
            for (output, slot) in step.outputs.enumerated() { producers[slot] = (index, output) }
        }
        for (index, slot) in function.argumentSlots.enumerated() {
            if let slot { argumentIndices[slot] = index }
        }
    }

    var coversEveryStep: Bool { claimed.count == function.plan.steps.count }

    func argument(_ slot: Int) -> Int? { argumentIndices[slot] }

    func constant(_ slot: Int) -> Tensor? {
        guard producers[slot] == nil, argumentIndices[slot] == nil, function.plan.template.indices.contains(slot)
        else { return nil }
        return function.plan.template[slot]
    }

    func producer(of value: PlanValue) -> (any Kernel)? {
        guard case .slot(let slot) = value else { return nil }
        return producer(of: slot)
    }

    func producer(of slot: Int) -> (any Kernel)? {
        producers[slot].map { function.plan.steps[$0.step].kernel }
    }

    /// The step writing `slot`, if its kernel is a `K`; the step is claimed.
    mutating func step<K: Kernel>(_ slot: Int, _ type: K.Type) -> (kernel: K, inputs: [Int], output: Int)? {
        guard let producer = producers[slot], let kernel = function.plan.steps[producer.step].kernel as? K else { return nil }
        claimed.insert(producer.step)
        return (kernel, function.plan.steps[producer.step].inputs, producer.output)
    }

    mutating func unary<F: UnaryFunction>(_ slot: Int, _ function: F.Type) -> Int? {
        guard let step = step(slot, UnaryKernel<F>.self), step.inputs.count == 1 else { return nil }
        return step.inputs[0]
    }

    mutating func binary<F: BinaryFunction>(_ slot: Int, _ function: F.Type) -> (Int, Int)? {
        guard let step = step(slot, BinaryKernel<F>.self), step.inputs.count == 2 else { return nil }
        return (step.inputs[0], step.inputs[1])
    }

    /// The two operands with the one satisfying `first` in front; nil unless exactly one does.
    func orient(_ pair: (Int, Int), first: (Int) -> Bool) -> (Int, Int)? {
        switch (first(pair.0), first(pair.1)) {
        case (true, false): pair
        case (false, true): (pair.1, pair.0)
        default: nil
        }
    }

    func isProduced<K: Kernel>(_ slot: Int, by type: K.Type) -> Bool { producer(of: slot) is K }

    /// The inputs of the step writing `slot` if its kernel is a `K`, without claiming it.
    func inputs<K: Kernel>(of slot: Int, _ type: K.Type) -> [Int]? {
        guard let producer = producers[slot], function.plan.steps[producer.step].kernel is K else { return nil }
        return function.plan.steps[producer.step].inputs
    }

    /// `slot` is a Mul with a function argument as an operand.
    func isProductWithArgument(_ slot: Int) -> Bool {
        inputs(of: slot, BinaryKernel<MultiplyFunction>.self)?.contains { argument($0) != nil } ?? false
    }

    func resultSlot(_ index: Int) -> Int? {
        guard case .slot(let slot) = function.results[index] else { return nil }
        return slot
    }

    func integerConstant(_ slot: Int) -> Int? {
        guard let tensor = constant(slot), tensor.shape.rank == 0, tensor.dtype == .int32,
              let value = try? tensor.integerValues().first
        else { return nil }
        return value
    }

    func isFloatOne(_ slot: Int) -> Bool {
        guard let tensor = constant(slot), tensor.dtype == .float32, tensor.shape.rank == 0 else { return false }
        return tensor.elements(Float.self).first == 1
    }

    /// Result `index` returns argument `index` unchanged.
    func passesThrough(_ index: Int) -> Bool {
        let slot = function.argumentSlots[index]
        switch function.results[index] {
        case .slot(let result): return slot == result
        case .constant: return slot == nil
        }
    }

    /// Result `index` is argument `index` + 1 (int32).
    mutating func incrementsByOne(_ index: Int) -> Bool {
        guard case .slot(let result) = function.results[index], let operands = binary(result, AddFunction.self),
              let (counter, one) = orient(operands, first: { argument($0) == index }),
              let tensor = constant(one), tensor.dtype == .int32, tensor.shape.rank == 0,
              tensor.elements(Int32.self).first == 1
        else { return false }
        return argument(counter) == index
    }

    /// Output `part` of `parts` equal column blocks of a rank-2 value (Split along the last axis, or a
    /// StridedSlice that selects those columns); returns the value and the part.
    mutating func columnBlock(_ slot: Int, parts: Int, width: Int?) -> (value: Int, part: Int)? {
        if let split = step(slot, SplitAxisKernel.self) {
            guard !split.kernel.sized, split.kernel.count == parts, split.inputs.count == 2,
                  let axis = integerConstant(split.inputs[0]), axis == 1 || axis == -1
            else { return nil }
            return (split.inputs[1], split.output)
        }
        guard let slice = step(slot, StridedSliceKernel.self), slice.inputs.count == 4, let columns = width,
              columns % parts == 0, columns > 0
        else { return nil }
        var arguments: [Tensor] = []
        for input in slice.inputs.dropFirst() {
            guard let tensor = constant(input) else { return nil }
            arguments.append(tensor)
        }
        // Which columns the slice keeps, read off a probe whose elements are their column indices.
        let probe = Tensor((0..<(2 * columns)).map { Int32($0 % columns) }, shape: [2, columns])
        guard let selected = try? slice.kernel.run([probe] + arguments).first, selected.dtype == .int32,
              selected.shape == [2, columns / parts]
        else { return nil }
        let values = selected.scalars(as: Int32.self)
        let blockWidth = columns / parts
        guard let first = values.first, Int(first) % blockWidth == 0 else { return nil }
        for (index, value) in values.enumerated() where Int(value) != Int(first) + index % blockWidth { return nil }
        return (slice.inputs[0], Int(first) / blockWidth)
    }

    /// `x × W (+ b)` with constant float32 W (no transposes) and b.
    mutating func affine(_ slot: Int) -> AffineMatch? {
        if let fused = step(slot, FusedMatMulKernel.self) {
            guard !fused.kernel.matMul.transposeA, !fused.kernel.matMul.transposeB,
                  fused.kernel.epilogue.activation == .none, let input = fused.inputs.first
            else { return nil }
            let weights: Tensor
            if let folded = fused.kernel.weights {
                guard fused.inputs.count == 1 else { return nil }
                weights = folded
            } else {
                guard fused.inputs.count == 2, let operand = constant(fused.inputs[1]) else { return nil }
                weights = operand
            }
            guard weights.dtype == .float32, weights.shape.rank == 2 else { return nil }
            let width = weights.shape[1]
            let values = fused.kernel.epilogue.bias.map { Float($0) }
            let bias: [Float]?
            switch values.count {
            case 0: bias = nil
            case 1: bias = [Float](repeating: values[0], count: width)
            case width: bias = values
            default: return nil
            }
            return AffineMatch(input: input, weights: weights, bias: bias)
        }
        var bias: [Float]?
        var product = slot
        if let biasAdd = step(slot, BiasAddKernel.self) {
            guard !biasAdd.kernel.channelsFirst, biasAdd.inputs.count == 2, let vector = floatVector(biasAdd.inputs[1])
            else { return nil }
            bias = vector
            product = biasAdd.inputs[0]
        } else if isProduced(slot, by: BinaryKernel<AddFunction>.self) {
            guard let operands = binary(slot, AddFunction.self),
                  let (matrix, vector) = orient(operands, first: { isProduced($0, by: MatMulKernel.self) }),
                  let values = floatVector(vector)
            else { return nil }
            bias = values
            product = matrix
        }
        guard let matMul = step(product, MatMulKernel.self), !matMul.kernel.transposeA, !matMul.kernel.transposeB,
              matMul.inputs.count == 2, let weights = constant(matMul.inputs[1]), weights.dtype == .float32,
              weights.shape.rank == 2
        else { return nil }
        if let bias, bias.count != weights.shape[1] { return nil }
        return AffineMatch(input: matMul.inputs[0], weights: weights, bias: bias)
    }

    private func floatVector(_ slot: Int) -> [Float]? {
        guard let tensor = constant(slot), tensor.dtype == .float32, tensor.shape.rank == 1 else { return nil }
        return tensor.scalars(as: Float.self)
    }

    /// `TensorListGetItem(list argument, index argument)` of float32 elements; returns the two arguments.
    mutating func sequenceRead(_ slot: Int) -> (sequence: Int, time: Int)? {
        guard let read = step(slot, TensorListGetItemKernel.self), read.kernel.elementDType == .float32,
              read.inputs.count == 3, let sequence = argument(read.inputs[0]), let time = argument(read.inputs[1])
        else { return nil }
        return (sequence, time)
    }

    /// The Keras LSTM cell producing `newHidden`:
    /// `z = x·W + h·U + b`, `i, f, g, o = split(z, 4)`, `c' = σ(f)·c + σ(i)·tanh(g)`, `h' = σ(o)·tanh(c')`.
    mutating func lstmCell(_ newHidden: Int) -> CellMatch? {
        guard let output = binary(newHidden, MultiplyFunction.self),
              let (outputGate, activatedCell) = orient(output, first: { isProduced($0, by: UnaryKernel<SigmoidFunction>.self) }),
              let outputChunk = unary(outputGate, SigmoidFunction.self),
              let newCell = unary(activatedCell, TanhFunction.self),
              let sum = binary(newCell, AddFunction.self),
              let (forgetTerm, inputTerm) = orient(sum, first: { isProductWithArgument($0) }),
              let forgetOperands = binary(forgetTerm, MultiplyFunction.self),
              let (carry, forgetGate) = orient(forgetOperands, first: { argument($0) != nil }),
              let cellState = argument(carry),
              let forgetChunk = unary(forgetGate, SigmoidFunction.self),
              let inputOperands = binary(inputTerm, MultiplyFunction.self),
              let (inputGate, candidate) = orient(inputOperands, first: { isProduced($0, by: UnaryKernel<SigmoidFunction>.self) }),
              let inputChunk = unary(inputGate, SigmoidFunction.self),
              let candidateChunk = unary(candidate, TanhFunction.self)
        else { return nil }
        var value: Int?
        var order: [Int] = []
        for chunk in [inputChunk, forgetChunk, candidateChunk, outputChunk] {
            guard let block = columnBlock(chunk, parts: 4, width: nil), value == nil || value == block.value
            else { return nil }
            value = block.value
            order.append(block.part)
        }
        guard let gates = value, Set(order).count == 4 else { return nil }
        var bias: [Float]?
        var sumSlot = gates
        if let biasAdd = step(gates, BiasAddKernel.self) {
            guard !biasAdd.kernel.channelsFirst, biasAdd.inputs.count == 2, let vector = floatVector(biasAdd.inputs[1])
            else { return nil }
            bias = vector
            sumSlot = biasAdd.inputs[0]
        } else if let operands = inputs(of: gates, BinaryKernel<AddFunction>.self), operands.contains(where: { floatVector($0) != nil }) {
            guard let pair = binary(gates, AddFunction.self),
                  let (matrices, vector) = orient(pair, first: { floatVector($0) == nil }), let values = floatVector(vector)
            else { return nil }
            bias = values
            sumSlot = matrices
        }
        guard let products = binary(sumSlot, AddFunction.self),
              let (recurrentProduct, inputProduct) = orient(products, first: { slot in
                  guard let producer = producers[slot], let lhs = function.plan.steps[producer.step].inputs.first
                  else { return false }
                  return argument(lhs) != nil
              }),
              let recurrent = affine(recurrentProduct), recurrent.bias == nil, let hiddenState = argument(recurrent.input),
              let input = affine(inputProduct), input.bias == nil, let read = sequenceRead(input.input)
        else { return nil }
        let units = recurrent.weights.shape[0], width = 4 * units
        let inputSize = input.weights.shape[0]
        guard recurrent.weights.shape[1] == width, input.weights.shape[1] == width, bias == nil || bias?.count == width,
              hiddenState != cellState
        else { return nil }
        guard let weights = CellWeights(
            inputSize: inputSize, units: units, gates: 4,
            kernel: Self.gatherBlocks(input.weights.scalars(as: Float.self), rows: inputSize, units: units, order: order),
            recurrentKernel: Self.gatherBlocks(recurrent.weights.scalars(as: Float.self), rows: units, units: units, order: order),
            inputBias: Self.gatherBlocks(bias ?? [Float](repeating: 0, count: width), rows: 1, units: units, order: order),
            recurrentBias: [Float](repeating: 0, count: width))
        else { return nil }
        return CellMatch(kind: .lstm, weights: weights, hiddenState: hiddenState, cellState: cellState,
                         newCellSlot: newCell, inputSequence: read.sequence, time: read.time)
    }

    /// The Keras GRU cell (`reset_after=True`) producing `newHidden`:
    /// `xz, xr, xh = split(x·W + bₓ, 3)`, `rz, rr, rh = split(h·U + bₕ, 3)`, `z = σ(xz + rz)`,
    /// `r = σ(xr + rr)`, `h' = z·h + (1 − z)·tanh(xh + r·rh)`.
    mutating func gruCell(_ newHidden: Int) -> CellMatch? {
        guard let sum = binary(newHidden, AddFunction.self),
              let (keptTerm, newTerm) = orient(sum, first: { isProductWithArgument($0) }),
              let keptOperands = binary(keptTerm, MultiplyFunction.self),
              let (previous, update) = orient(keptOperands, first: { argument($0) != nil }),
              let hiddenState = argument(previous),
              let newOperands = binary(newTerm, MultiplyFunction.self),
              let (complement, activatedCandidate) = orient(newOperands, first: { isProduced($0, by: BinaryKernel<SubtractFunction>.self) }),
              let (one, complementedUpdate) = binary(complement, SubtractFunction.self), isFloatOne(one),
              complementedUpdate == update,
              let updateSum = unary(update, SigmoidFunction.self).flatMap({ binary($0, AddFunction.self) }),
              let candidateSum = unary(activatedCandidate, TanhFunction.self).flatMap({ binary($0, AddFunction.self) }),
              let (resetProduct, inputCandidate) = orient(candidateSum, first: { isProduced($0, by: BinaryKernel<MultiplyFunction>.self) }),
              let resetOperands = binary(resetProduct, MultiplyFunction.self),
              let (reset, recurrentCandidate) = orient(resetOperands, first: { isProduced($0, by: UnaryKernel<SigmoidFunction>.self) }),
              let resetSum = unary(reset, SigmoidFunction.self).flatMap({ binary($0, AddFunction.self) })
        else { return nil }
        // The input-side blocks come from one value, the recurrent-side blocks from another.
        guard let inputValue = blockSource(inputCandidate), let recurrentValue = blockSource(recurrentCandidate),
              inputValue != recurrentValue,
              let (inputUpdate, recurrentUpdate) = orient(updateSum, first: { blockSource($0) == inputValue }),
              let (inputReset, recurrentReset) = orient(resetSum, first: { blockSource($0) == inputValue }),
              blockSource(recurrentUpdate) == recurrentValue, blockSource(recurrentReset) == recurrentValue,
              let recurrent = affine(recurrentValue), argument(recurrent.input) == hiddenState,
              let input = affine(inputValue), let read = sequenceRead(input.input)
        else { return nil }
        let units = recurrent.weights.shape[0], width = 3 * units
        let inputSize = input.weights.shape[0]
        guard recurrent.weights.shape[1] == width, input.weights.shape[1] == width else { return nil }
        var inputOrder: [Int] = [], recurrentOrder: [Int] = []
        for chunk in [inputUpdate, inputReset, inputCandidate] {
            guard let block = columnBlock(chunk, parts: 3, width: width), block.value == inputValue else { return nil }
            inputOrder.append(block.part)
        }
        for chunk in [recurrentUpdate, recurrentReset, recurrentCandidate] {
            guard let block = columnBlock(chunk, parts: 3, width: width), block.value == recurrentValue else { return nil }
            recurrentOrder.append(block.part)
        }
        guard Set(inputOrder).count == 3, Set(recurrentOrder).count == 3 else { return nil }
        let zeros = [Float](repeating: 0, count: width)
        guard let weights = CellWeights(
            inputSize: inputSize, units: units, gates: 3,
            kernel: Self.gatherBlocks(input.weights.scalars(as: Float.self), rows: inputSize, units: units, order: inputOrder),
            recurrentKernel: Self.gatherBlocks(recurrent.weights.scalars(as: Float.self), rows: units, units: units,
                                               order: recurrentOrder),
            inputBias: Self.gatherBlocks(input.bias ?? zeros, rows: 1, units: units, order: inputOrder),
            recurrentBias: Self.gatherBlocks(recurrent.bias ?? zeros, rows: 1, units: units, order: recurrentOrder))
        else { return nil }
        return CellMatch(kind: .gru, weights: weights, hiddenState: hiddenState, cellState: nil, newCellSlot: nil,
                         inputSequence: read.sequence, time: read.time)
    }

    /// The value a column block (Split output or StridedSlice) is taken from, without claiming anything.
    private func blockSource(_ slot: Int) -> Int? {
        guard let producer = producers[slot] else { return nil }
        let step = function.plan.steps[producer.step]
        switch step.kernel {
        case is SplitAxisKernel: return step.inputs.count == 2 ? step.inputs[1] : nil
        case is StridedSliceKernel: return step.inputs.first
        default: return nil
        }
    }

    /// The columns of a row-major [rows, parts·units] matrix with block `order[k]` moved to position `k`.
    static func gatherBlocks(_ values: [Float], rows: Int, units: Int, order: [Int]) -> [Float] {
        let width = order.count * units
        guard values.count == rows * width else { return [] }
        var result = [Float](repeating: 0, count: values.count)
        for row in 0..<rows {
            for (position, block) in order.enumerated() {
                for column in 0..<units {
                    result[row * width + position * units + column] = values[row * width + block * units + column]
                }
            }
        }
        return result
    }
}
