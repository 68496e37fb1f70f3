import CKernels
import COpenBLAS
import Tensors

/// Where a recognised recurrent loop keeps each of its loop variables (indices into the While
/// step's inputs, which are also its outputs). Variables not named here pass through unchanged.
struct RecurrentLoopLayout: Sendable {
    /// How the cond bounds one counter: it continues while `counter < bound`.
    struct Limit: Sendable {
        enum Bound: Sendable {
            case constant(Int)
            case variable(Int)
        }

        let counter: Int
        let bound: Bound
    }

    /// Where an iteration writes its hidden state in the output list.
    enum OutputPosition: Sendable {
        /// The same element every iteration (a layer that returns only its last state).
        case fixed(Int)
        /// The element at the time index (a layer that returns the whole sequence).
        case time
    }

    let variableCount: Int
    /// Variables the body increases by one each iteration (int32 scalars).
    let counters: [Int]
    /// The counter that indexes the input sequence.
    let time: Int
    /// The cond is the conjunction of these.
    let limits: [Limit]
    let inputSequence: Int
    let outputSequence: Int
    let outputPosition: OutputPosition
    let hiddenState: Int
    /// The LSTM carry state; nil for a GRU.
    let cellState: Int?
}

/// A constant row-major [rows, columns] float32 matrix that timesteps multiply by: packed for the
/// AVX2/FMA GEMM where the CPU has it, otherwise kept as it is for OpenBLAS.
enum GateMatrix: Sendable {
    case packed(PackedWeights)
    case plain(TensorBuffer, rows: Int, columns: Int)

    init(_ values: [Float], rows: Int, columns: Int) {
        let plain = GEMMEpilogue(biasValues: [], activation: .none)
        if let packed = PackedWeights(matrix: Tensor(values, shape: [rows, columns]), transposed: false, epilogue: plain) {
            self = .packed(packed)
        } else {
            self = .plain(values.withUnsafeBytes { TensorBuffer(copying: $0) }, rows: rows, columns: columns)
        }
    }

    /// `product = a × matrix` for `count` rows of `a` (row stride `rows`); `product` has row stride
    /// `columns`. One row goes through GEMV on the OpenBLAS path.
    func multiply(_ a: UnsafePointer<Float>, count: Int, into product: UnsafeMutablePointer<Float>) throws(ServingError) {
        switch self {
        case .packed(let packed):
            try packed.multiply(a, rows: count, lda: packed.k, into: product)
        case .plain(let buffer, let rows, let columns):
            guard let m = Int32(exactly: count), let k = Int32(exactly: rows), let n = Int32(exactly: columns) else {
                throw .invalidArgument("a \(count)×\(rows) operand is too large")
            }
            let matrix = buffer.baseAddress.assumingMemoryBound(to: Float.self)
            if count == 1 {
                cblas_sgemv(CblasRowMajor, CblasTrans, k, n, 1, matrix, n, a, 1, 0, product, 1)
            } else {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, matrix, n, 0, product, n)
            }
        }
    }
}

/// Weights of a recognised cell, prepared at load time.
struct CellWeights: Sendable {
    /// Columns of the input and of the recurrent projection (4 or 3 × units).
    let gateWidth: Int
    let inputSize: Int
    let units: Int
    /// [inputSize, gateWidth]
    let kernel: GateMatrix
    /// [units, gateWidth]
    let recurrentKernel: GateMatrix
    /// [gateWidth], added to the input projection.
    let inputBias: TensorBuffer
    /// [gateWidth], added to the recurrent projection.
    let recurrentBias: TensorBuffer
    /// A hash of the input kernel's values, so load-time work derived from it can be shared.
    let kernelDigest: Int

    /// nil when the sizes do not fit together.
    init?(inputSize: Int, units: Int, gates: Int, kernel: [Float], recurrentKernel: [Float], inputBias: [Float],
          recurrentBias: [Float]) {
        let width = gates * units
        guard inputSize > 0, units > 0, kernel.count == inputSize * width, recurrentKernel.count == units * width,
              inputBias.count == width, recurrentBias.count == width
        else { return nil }
        self.gateWidth = width
        self.inputSize = inputSize
        self.units = units
        self.kernel = GateMatrix(kernel, rows: inputSize, columns: width)
        self.recurrentKernel = GateMatrix(recurrentKernel, rows: units, columns: width)
        self.inputBias = inputBias.withUnsafeBytes { TensorBuffer(copying: $0) }
        self.recurrentBias = recurrentBias.withUnsafeBytes { TensorBuffer(copying: $0) }
        var hasher = Hasher()
        hasher.combine(inputSize)
        hasher.combine(width)
        for value in kernel { hasher.combine(value.bitPattern) }
        kernelDigest = hasher.finalize()
    }
}

/// The cell a recognised loop body computes.
enum RecurrentCell: Sendable {
    /// Keras LSTM; gate columns input, forget, candidate, output. The cell's bias is the `inputBias`,
    /// added after both projections as the cell does; the `recurrentBias` is zero and unused.
    case lstm
    /// Keras GRU with `reset_after=True` (the reset gate scales the recurrent candidate after its bias);
    /// gate columns update, reset, candidate.
    case gru
}

/// An embedding table already multiplied by a cell's input kernel: when a loop's input sequence is
/// `Transpose(GatherV2(table, tokens), [1, 0, 2])`, row `t` of this table is the input projection of
/// every step whose input is row `t` of the embedding, so a timestep looks its projection up instead of
/// multiplying. Built at load time only while the product stays within `maximumBytes`.
struct ProjectedEmbedding: Sendable {
    let vocabulary: Int
    /// [vocabulary, gateWidth]
    let table: TensorBuffer

    static let maximumBytes = 64 << 20

    /// nil when `embedding` is not a float32 [vocabulary, inputSize] matrix or the product is too large.
    init?(embedding: Tensor, weights: CellWeights) {
        guard embedding.dtype == .float32, embedding.shape.rank == 2, embedding.shape[1] == weights.inputSize,
              embedding.shape[0] > 0, embedding.shape[0] <= Self.maximumBytes / (4 * weights.gateWidth),
              let source = embedding.buffer, source.byteCount >= embedding.elementCount * 4,
              let (_, product) = try? Tensor.allocateUninitialized(.float32, [embedding.shape[0], weights.gateWidth]),
              (try? weights.kernel.multiply(source.baseAddress.assumingMemoryBound(to: Float.self),
                                            count: embedding.shape[0],
                                            into: product.baseAddress.assumingMemoryBound(to: Float.self))) != nil
        else { return nil }
        vocabulary = embedding.shape[0]
        table = product
    }
}

/// A While loop recognised as a recurrent layer (see `RecurrentFusion`), run as one step: the input
/// projection of every timestep in one GEMM, then per timestep one GEMM of the hidden state with the
/// recurrent kernel and one vectorised pass of gate arithmetic (`rc_lstm_rows`, `rc_gru_rows`).
///
/// Inputs and outputs are the loop variables, exactly as for the While step it replaces; with an
/// `embedding`, one more input follows them: the token ids the input sequence was gathered with
/// ([batch, sequence length]). Inputs the fused path does not cover (other dtypes or shapes, unset or
/// out-of-range list elements, more iterations than allowed) run the original loop, so they behave
/// exactly as before.
struct RecurrentLoopKernel: Kernel {
    let cell: RecurrentCell
    let weights: CellWeights
    let layout: RecurrentLoopLayout
    let loop: WhileKernel
    var embedding: ProjectedEmbedding? = nil

    /// Timesteps whose input projection is computed together are bounded so their buffer stays near
    /// this many floats.
    static let projectionChunkElements = 1 << 21

    func run(_ arguments: [Tensor]) throws(ServingError) -> [Tensor] {
        let inputs = arguments.count > layout.variableCount ? Array(arguments.prefix(layout.variableCount)) : arguments
        guard var prepared = prepare(inputs) else { return try loop.run(inputs) }
        if prepared.iterations == 0 { return inputs }
        if embedding != nil, arguments.count == layout.variableCount + 1 {
            prepared.tokens = tokens(arguments[layout.variableCount], prepared)
        }
        var outputs = inputs
        var outputList = prepared.outputList
        let (hidden, cellState) = try compute(prepared, &outputList)
        outputs[layout.hiddenState] = hidden
        if let index = layout.cellState, let cellState { outputs[index] = cellState }
        outputs[layout.outputSequence] = outputList.tensor
        for (index, start) in zip(layout.counters, prepared.counterStarts) {
            outputs[index] = Tensor(scalar: Int32(start + prepared.iterations))
        }
        return outputs
    }

    /// What one run works on, once the inputs are known to suit the fused path.
    struct Prepared {
        let iterations: Int
        let batch: Int
        let startTime: Int
        let sequenceLength: Int
        let counterStarts: [Int]
        let steps: ArraySlice<Tensor?>
        let outputList: TensorList
        let initialHidden: TensorBuffer
        let initialCell: TensorBuffer?
        /// Row indices into `embedding.table`, [batch, sequence length]; nil to project the sequence.
        var tokens: [Int]? = nil
    }

    /// The token ids as rows of the projected table, or nil when they do not describe the sequence.
    func tokens(_ ids: Tensor, _ prepared: Prepared) -> [Int]? {
        guard let embedding, ids.dtype == .int32 || ids.dtype == .int64,
              ids.shape == [prepared.batch, prepared.sequenceLength], let values = try? ids.integerValues(),
              values.allSatisfy({ $0 >= 0 && $0 < embedding.vocabulary })
        else { return nil }
        return values
    }

    /// The run's parameters, or nil when the original loop must run instead.
    func prepare(_ inputs: [Tensor]) -> Prepared? {
        guard inputs.count == layout.variableCount, !layout.limits.isEmpty else { return nil }
        var counterStarts: [Int] = []
        for index in layout.counters {
            guard let value = Self.int32Scalar(inputs[index]) else { return nil }
            counterStarts.append(value)
        }
        var iterations = Int.max
        for limit in layout.limits {
            guard let start = Self.int32Scalar(inputs[limit.counter]) else { return nil }
            let bound: Int
            switch limit.bound {
            case .constant(let value): bound = value
            case .variable(let index):
                guard let value = Self.int32Scalar(inputs[index]) else { return nil }
                bound = value
            }
            iterations = min(iterations, max(0, bound - start))
        }
        guard iterations <= loop.maximumIterations else { return nil }
        for start in counterStarts where Int32(exactly: start + iterations) == nil { return nil }
        guard let startTime = Self.int32Scalar(inputs[layout.time]),
              let sequence = try? inputs[layout.inputSequence].tensorList("TensorListGetItem"),
              let outputList = try? inputs[layout.outputSequence].tensorList("TensorListSetItem"),
              sequence.elementDType == .float32, outputList.elementDType == .float32
        else { return nil }
        let hidden = inputs[layout.hiddenState]
        guard hidden.dtype == .float32, hidden.shape.rank == 2, hidden.shape[1] == weights.units,
              hidden.shape[0] > 0, let hiddenBuffer = hidden.buffer, hiddenBuffer.byteCount >= hidden.elementCount * 4
        else { return nil }
        let batch = hidden.shape[0]
        guard Int32(exactly: batch * max(weights.gateWidth, weights.inputSize)) != nil else { return nil }
        var initialCell: TensorBuffer?
        if let index = layout.cellState {
            let state = inputs[index]
            guard state.dtype == .float32, state.shape == hidden.shape, let buffer = state.buffer,
                  buffer.byteCount >= state.elementCount * 4
            else { return nil }
            initialCell = buffer
        }
        guard startTime >= 0, startTime <= sequence.elements.count - iterations else { return nil }
        let steps = sequence.elements[startTime..<(startTime + iterations)]
        for element in steps {
            guard let element, element.dtype == .float32, element.shape == [batch, weights.inputSize],
                  let buffer = element.buffer, buffer.byteCount >= element.elementCount * 4
            else { return nil }
        }
        if iterations > 0 {
            switch layout.outputPosition {
            case .fixed(let index):
                guard index >= 0, index < outputList.elements.count else { return nil }
            case .time:
                guard startTime <= outputList.elements.count - iterations else { return nil }
            }
            guard (try? outputList.mergedShape([batch, weights.units], "TensorListSetItem")) != nil else { return nil }
        }
        return Prepared(iterations: iterations, batch: batch, startTime: startTime,
                        sequenceLength: sequence.elements.count, counterStarts: counterStarts,
                        steps: steps, outputList: outputList, initialHidden: hiddenBuffer, initialCell: initialCell)
    }

    private static func int32Scalar(_ tensor: Tensor) -> Int? {
        guard tensor.dtype == .int32, tensor.shape.rank == 0, let buffer = tensor.buffer, buffer.byteCount >= 4 else { return nil }
        return Int(buffer.baseAddress.load(as: Int32.self))
    }

    /// Runs every timestep, writing the hidden states the loop would write into `outputList`; returns
    /// the final hidden state and, for an LSTM, the final carry state.
    private func compute(_ prepared: Prepared,
                         _ outputList: inout TensorList) throws(ServingError) -> (hidden: Tensor, cell: Tensor?) {
        let batch = prepared.batch, units = weights.units, width = weights.gateWidth, inputSize = weights.inputSize
        let perStep = batch * max(width, inputSize)
        let lookup: (table: UnsafePointer<Float>, tokens: [Int])?
        if let embedding, let tokens = prepared.tokens {
            lookup = (UnsafePointer(Self.floats(embedding.table)), tokens)
        } else {
            lookup = nil
        }
        let chunk = lookup != nil ? prepared.iterations : max(1, min(prepared.iterations, Self.projectionChunkElements / perStep))
        let projected = lookup != nil ? 0 : chunk * batch
        let rows = UnsafeMutablePointer<Float>.allocate(capacity: projected * inputSize)
        let projection = UnsafeMutablePointer<Float>.allocate(capacity: projected * width)
        let inputRows = UnsafeMutablePointer<UnsafePointer<Float>?>.allocate(capacity: chunk * batch)
        let stepHidden = UnsafeMutablePointer<UnsafePointer<Float>>.allocate(capacity: chunk)
        let stepNext = UnsafeMutablePointer<UnsafeMutablePointer<Float>>.allocate(capacity: chunk)
        let recurrent = UnsafeMutablePointer<Float>.allocate(capacity: batch * width)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * batch * units)
        defer {
            rows.deallocate()
            projection.deallocate()
            inputRows.deallocate()
            stepHidden.deallocate()
            stepNext.deallocate()
            recurrent.deallocate()
            scratch.deallocate()
        }
        var cellTensor: Tensor?
        var cellState: UnsafeMutablePointer<Float>?
        if let initialCell = prepared.initialCell {
            let (tensor, buffer) = try Tensor.allocateUninitialized(.float32, [batch, units])
            Self.floats(buffer).update(from: Self.floats(initialCell), count: batch * units)
            cellTensor = tensor
            cellState = Self.floats(buffer)
        }
        let inputBias = Self.floats(weights.inputBias), recurrentBias = Self.floats(weights.recurrentBias)
        var hidden = UnsafePointer(Self.floats(prepared.initialHidden))
        var hiddenTensor: Tensor?
        if cell == .lstm, cellState == nil { throw .internal("LSTM loop has no carry state") }
        let buffers = StepBuffers(inputRows: inputRows, hidden: stepHidden, next: stepNext, recurrent: recurrent,
                                  cell: cellState, inputBias: inputBias, recurrentBias: recurrentBias)
        var step = 0
        while step < prepared.iterations {
            let count = min(chunk, prepared.iterations - step)
            if lookup == nil { try projectInputs(prepared, first: step, count: count, rows: rows, projection: projection) }
            for offset in 0..<count {
                let time = step + offset
                let stepRows = inputRows + offset * batch
                if let lookup {
                    let column = prepared.startTime + time
                    for row in 0..<batch {
                        stepRows[row] = lookup.table + lookup.tokens[row * prepared.sequenceLength + column] * width
                    }
                } else {
                    let stepProjection = projection + offset * batch * width
                    for row in 0..<batch { stepRows[row] = UnsafePointer(stepProjection + row * width) }
                }
                let next: UnsafeMutablePointer<Float>
                if case .time = layout.outputPosition {
                    let (tensor, buffer) = try Tensor.allocateUninitialized(.float32, [batch, units])
                    outputList.elements[prepared.startTime + time] = tensor
                    hiddenTensor = tensor
                    next = Self.floats(buffer)
                } else if time == prepared.iterations - 1 {
                    let (tensor, buffer) = try Tensor.allocateUninitialized(.float32, [batch, units])
                    hiddenTensor = tensor
                    next = Self.floats(buffer)
                } else {
                    next = scratch + (time % 2) * batch * units
                }
                stepHidden[offset] = hidden
                stepNext[offset] = next
                hidden = UnsafePointer(next)
            }
            try runSteps(count, batch: batch, buffers)
            step += count
        }
        guard let hiddenTensor else { throw .internal("\(cell) loop produced no hidden state") }
        if case .fixed(let index) = layout.outputPosition { outputList.elements[index] = hiddenTensor }
        return (hiddenTensor, cellTensor)
    }

    /// Where `count` timesteps read and write: per step, the batch's input rows (`inputRows`, `batch`
    /// pointers a step), the hidden state it reads and the one it writes.
    private struct StepBuffers {
        let inputRows: UnsafeMutablePointer<UnsafePointer<Float>?>
        let hidden: UnsafeMutablePointer<UnsafePointer<Float>>
        let next: UnsafeMutablePointer<UnsafeMutablePointer<Float>>
        let recurrent: UnsafeMutablePointer<Float>
        let cell: UnsafeMutablePointer<Float>?
        let inputBias: UnsafeMutablePointer<Float>
        let recurrentBias: UnsafeMutablePointer<Float>
    }

    /// Runs `count` timesteps. With packed weights and more than one kernel thread, the batch is cut into
    /// groups of six rows that run all `count` steps on their own threads (rows of a recurrent layer do not
    /// meet), so the threads meet once per call rather than once per step; results keep their bits.
    private func runSteps(_ count: Int, batch: Int, _ buffers: StepBuffers) throws(ServingError) {
        let units = weights.units, width = weights.gateWidth
        guard case .packed(let packed) = weights.recurrentKernel else {
            for offset in 0..<count {
                let inputRows = buffers.inputRows + offset * batch, hidden = buffers.hidden[offset], next = buffers.next[offset]
                try weights.recurrentKernel.multiply(hidden, count: batch, into: buffers.recurrent)
                switch cell {
                case .lstm:
                    rc_lstm_rows(Int32(batch), Int32(units), inputRows, buffers.recurrent, buffers.inputBias, buffers.cell, next)
                case .gru:
                    rc_gru_rows(Int32(batch), Int32(units), inputRows, buffers.inputBias, buffers.recurrent,
                                buffers.recurrentBias, hidden, next)
                }
            }
            return
        }
        let cell = self.cell, panels = packed.panels
        let runRows = { (first: Int, end: Int) -> Int32 in
            for offset in 0..<count {
                let inputRows = buffers.inputRows + offset * batch + first
                let hidden = buffers.hidden[offset] + first * units, next = buffers.next[offset] + first * units
                let recurrent = buffers.recurrent + first * width
                let status = cell == .lstm
                    ? rc_lstm_step(Int32(end - first), Int32(units), inputRows, hidden, panels, recurrent, buffers.inputBias,
                                   buffers.cell.map { $0 + first * units }, next)
                    : rc_gru_step(Int32(end - first), Int32(units), inputRows, buffers.inputBias, hidden, panels, recurrent,
                                  buffers.recurrentBias, next)
                if status != 0 { return status }
            }
            return 0
        }
        let groups = (batch + 5) / 6, threads = Int(pg_threads())
        let status: Int32
        if threads > 1, groups > 1, count * batch * units * width >= 1 << 18 {
            let chunks = min(groups, threads)
            let statuses = UnsafeMutablePointer<Int32>.allocate(capacity: chunks)
            defer { statuses.deallocate() }
            statuses.initialize(repeating: 0, count: chunks)
            parallelChunks(chunks) { chunk in
                let first = groups * chunk / chunks * 6, end = min(batch, groups * (chunk + 1) / chunks * 6)
                if first < end { statuses[chunk] = runRows(first, end) }
            }
            status = (0..<chunks).map { statuses[$0] }.first { $0 != 0 } ?? 0
        } else {
            status = runRows(0, batch)
        }
        guard status == 0 else { throw .resourceExhausted("could not run the \(cell) timesteps") }
    }

    @inline(__always)
    private static func floats(_ buffer: TensorBuffer) -> UnsafeMutablePointer<Float> {
        buffer.baseAddress.assumingMemoryBound(to: Float.self)
    }

    /// Copies the inputs of timesteps `first..<first+count` into `rows` and multiplies them by the kernel
    /// into `projection` ([count·batch, gateWidth]).
    private func projectInputs(_ prepared: Prepared, first: Int, count: Int, rows: UnsafeMutablePointer<Float>,
                               projection: UnsafeMutablePointer<Float>) throws(ServingError) {
        let rowElements = prepared.batch * weights.inputSize
        for offset in 0..<count {
            guard let source = prepared.steps[prepared.steps.startIndex + first + offset]?.buffer else { continue }
            (rows + offset * rowElements).update(from: Self.floats(source), count: rowElements)
        }
        try weights.kernel.multiply(rows, count: count * prepared.batch, into: projection)
    }
}

/// Runs `body(chunk)` for chunks `0..<count` on the kernel threads (`pg_parallel_for`); `body` must only
/// touch memory no other chunk touches.
func parallelChunks(_ count: Int, _ body: (Int) -> Void) {
    withoutActuallyEscaping(body) { task in
        var task = task
        withUnsafeMutablePointer(to: &task) { pointer in
            pg_parallel_for(Int32(count), { context, chunk in
                context?.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(chunk))
            }, pointer)
        }
    }
}
