import Synchronization
import Tensors

/// A request larger than an execution may be (`enable_large_batch_splitting`), cut along dimension 0
/// into parts that queue as tasks of their own; the request is answered once, when every part has run
/// (outputs joined in order) or the first part has failed.
final class SplitTask: Sendable {
    private struct State {
        var outputs: [[String: Tensor]?]
        var remaining: Int
        var answered = false
    }

    private let state: Mutex<State>
    private let completion: BatchCompletion

    private init(count: Int, completion: @escaping BatchCompletion) {
        state = Mutex(State(outputs: Array(repeating: nil, count: count), remaining: count))
        self.completion = completion
    }

    /// The parts of `task` (`rows` rows), each at most `chunk` rows.
    static func parts(of task: BatchTask, rows: Int, chunk: Int) throws(ServingError) -> [BatchTask] {
        let starts = Array(stride(from: 0, to: rows, by: max(1, chunk)))
        let split = SplitTask(count: starts.count, completion: task.completion)
        var parts: [BatchTask] = []
        parts.reserveCapacity(starts.count)
        for (index, start) in starts.enumerated() {
            var inputs: [String: Tensor] = [:]
            for (key, tensor) in task.inputs { inputs[key] = try tensor.rows(start..<min(rows, start + chunk)) }
            parts.append(BatchTask(inputs: inputs, deadline: task.deadline, computeLatency: task.computeLatency,
                                   padsTrailingDims: task.padsTrailingDims, isCancelled: task.isCancelled) { result in
                split.finish(index, result)
            })
        }
        return parts
    }

    private func finish(_ index: Int, _ result: Result<[String: Tensor], ServingError>) {
        let answer: Result<[[String: Tensor]], ServingError>? = state.withLock { state in
            guard !state.answered else { return nil }
            switch result {
            case .failure(let error):
                state.answered = true
                return .failure(error)
            case .success(let outputs):
                state.outputs[index] = outputs
                state.remaining -= 1
                guard state.remaining == 0 else { return nil }
                state.answered = true
                return .success(state.outputs.compactMap { $0 })
            }
        }
        switch answer {
        case nil: return
        case .failure(let error)?: completion(.failure(error))
        case .success(let parts)?: completion(Self.joined(parts))
        }
    }

    private static func joined(_ parts: [[String: Tensor]]) -> Result<[String: Tensor], ServingError> {
        guard let first = parts.first else { return .success([:]) }
        var outputs: [String: Tensor] = [:]
        for key in first.keys {
            do throws(ServingError) {
                outputs[key] = try Tensor.concatenate(parts.compactMap { $0[key] })
            } catch {
                return .failure(ServingError(error.code, "joining the parts of a split request, output '\(key)': \(error.message)"))
            }
        }
        return .success(outputs)
    }
}
