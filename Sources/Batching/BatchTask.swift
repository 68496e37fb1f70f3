import Dispatch
import ServingMetrics
import Tensors

/// Whether the client that sent a task has gone away (a reset stream, a closed connection).
public typealias CancellationCheck = @Sendable () -> Bool

/// Called once with a task's outputs or its error, on a batch thread.
public typealias BatchCompletion = @Sendable (Result<[String: Tensor], ServingError>) -> Void

/// Runs one (possibly merged) batch: inputs keyed like the signature, outputs keyed likewise.
public typealias BatchProcessor = @Sendable ([String: Tensor]) throws(ServingError) -> [String: Tensor]

/// What must agree between tasks for them to share one execution: input keys, dtypes and every
/// dimension but the first (only the rank when inputs are padded to a common length).
struct BatchCompatibility: Equatable {
    struct Input: Equatable {
        var key: String
        var dtype: DType
        var trailingDims: ArraySlice<Int>
    }
    var inputs: [Input]
}

/// One request waiting in a queue.
final class BatchTask: @unchecked Sendable {
    let inputs: [String: Tensor]
    /// Rows along dimension 0 shared by every input; nil when inputs disagree (the task runs alone).
    let rows: Int?
    let compatibility: BatchCompatibility?
    let enqueuedAt: UInt64
    let deadline: UInt64?
    /// Where the duration of the computation that serves the task is recorded, if anywhere.
    let computeLatency: LatencyRecorder?
    let completion: BatchCompletion
    /// Whether merging pads this task's inputs along their non-batch dimensions (`pad_variable_length_inputs`).
    let padsTrailingDims: Bool
    /// Asked when the task's batch starts: a cancelled task is answered CANCELLED and not computed.
    let isCancelled: CancellationCheck?

    init(inputs: [String: Tensor], deadline: UInt64?, computeLatency: LatencyRecorder?, padsTrailingDims: Bool = false,
         isCancelled: CancellationCheck? = nil, completion: @escaping BatchCompletion) {
        self.inputs = inputs
        self.isCancelled = isCancelled
        self.padsTrailingDims = padsTrailingDims
        self.deadline = deadline
        self.computeLatency = computeLatency
        self.completion = completion
        self.enqueuedAt = DispatchTime.now().uptimeNanoseconds
        var rows: Int?
        var entries: [BatchCompatibility.Input] = []
        var mergeable = !inputs.isEmpty
        for key in inputs.keys.sorted() {
            guard let tensor = inputs[key], tensor.shape.rank >= 1, tensor.dtype.isFixedSize || tensor.dtype == .string
            else { mergeable = false; break }
            if rows == nil { rows = tensor.shape[0] }
            guard rows == tensor.shape[0] else { mergeable = false; break }
            let trailing = padsTrailingDims ? ArraySlice(repeating: -1, count: tensor.shape.rank - 1) : tensor.shape.dims.dropFirst()
            entries.append(.init(key: key, dtype: tensor.dtype, trailingDims: trailing))
        }
        self.rows = mergeable ? rows : nil
        self.compatibility = mergeable ? BatchCompatibility(inputs: entries) : nil
    }
}
