import SavedModel
import Synchronization
import Tensors

/// A tensor of the variables checkpoint known by its index entry; its bytes are read only when a folded
/// kernel, a plan's constants or weight packing need them.
struct StoredTensor: Sendable {
    let key: String
    let dtype: DType
    let shape: Shape
    let source: CheckpointTensors

    func read() throws(ServingError) -> Tensor { try source.read(self) }
}

/// A value known while a model compiles: a tensor in memory, or one still in the checkpoint.
enum LoadConstant: Sendable {
    case tensor(Tensor)
    case stored(StoredTensor)

    var dtype: DType {
        switch self {
        case .tensor(let tensor): tensor.dtype
        case .stored(let stored): stored.dtype
        }
    }

    var shape: Shape {
        switch self {
        case .tensor(let tensor): tensor.shape
        case .stored(let stored): stored.shape
        }
    }

    /// The tensor, read from the checkpoint if it is stored there.
    func tensor() throws(ServingError) -> Tensor {
        switch self {
        case .tensor(let tensor): tensor
        case .stored(let stored): try stored.read()
        }
    }

    /// The tensor when no read is needed.
    var loaded: Tensor? {
        if case .tensor(let tensor) = self { return tensor }
        return nil
    }
}

/// The checkpoint tensors of one model being compiled, read on demand.
///
/// A tensor read while an earlier read of it is still referenced (a plan constant of another signature, say)
/// is that same buffer, so it is held once; one that nothing references any more is read again, which only
/// happens when its first use was consumed at load time (packed into panels, folded into another constant).
final class CheckpointTensors: Sendable {
    let checkpoint: CheckpointReader

    private struct Held {
        weak var buffer: TensorBuffer?
        /// Tensors without a buffer (strings) are kept for the whole compile.
        var tensor: Tensor?
        var reads = 0
    }

    private let held = Mutex<[String: Held]>([:])

    init(checkpoint: CheckpointReader) {
        self.checkpoint = checkpoint
    }

    /// The entry `key` names, checked but not read.
    func stored(_ key: String) throws(ServingError) -> StoredTensor {
        let (dtype, shape) = try checkpoint.storedTensor(forKey: key)
        return StoredTensor(key: key, dtype: dtype, shape: shape, source: self)
    }

    func read(_ stored: StoredTensor) throws(ServingError) -> Tensor {
        if let tensor = held.withLock({ cached($0[stored.key], stored) }) { return tensor }
        let tensor = try checkpoint.tensor(forKey: stored.key)
        held.withLock { held in
            let reads = (held[stored.key]?.reads ?? 0) + 1
            held[stored.key] = Held(buffer: tensor.buffer, tensor: tensor.buffer == nil ? tensor : nil, reads: reads)
        }
        return tensor
    }

    /// How many times the tensor under `key` was read from the checkpoint's files.
    func reads(of key: String) -> Int {
        held.withLock { $0[key]?.reads ?? 0 }
    }

    /// The keys whose tensors, once read, something still references.
    var heldKeys: Set<String> {
        held.withLock { held in Set(held.filter { $0.value.buffer != nil || $0.value.tensor != nil }.keys) }
    }

    private func cached(_ entry: Held?, _ stored: StoredTensor) -> Tensor? {
        guard let entry else { return nil }
        if let tensor = entry.tensor { return tensor }
        return entry.buffer.map { Tensor(dtype: stored.dtype, shape: stored.shape, storage: .buffer($0)) }
    }
}

/// The constant slots of a plan being compiled, as the fusion passes see them: an entry's dtype and shape
/// are known without reading it, and its values are read when a pass needs them. The first read that fails
/// is kept, and the plan reports it.
final class PlanConstants {
    private let entries: [Int: LoadConstant]
    private(set) var failure: ServingError?

    init(_ entries: [Int: LoadConstant]) {
        self.entries = entries
    }

    convenience init(tensors: [Int: Tensor]) {
        self.init(tensors.mapValues { .tensor($0) })
    }

    subscript(slot: Int) -> LoadConstant? { entries[slot] }

    /// The values in `slot`, or nil when it holds no constant or its read failed.
    func tensor(_ slot: Int) -> Tensor? {
        guard let constant = entries[slot] else { return nil }
        return read(constant)
    }

    /// The values of `constant`, or nil when its read failed.
    func read(_ constant: LoadConstant) -> Tensor? {
        do {
            return try constant.tensor()
        } catch {
            if failure == nil { failure = error }
            return nil
        }
    }
}
