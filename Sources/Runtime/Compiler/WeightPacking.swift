import Synchronization
import Tensors

/// Packed weights shared by every fused step of one model that packs the same constant the same way, so
/// signatures calling one function (Keras exports `serve` and `serving_default`) keep one packed copy;
/// likewise projected embedding tables of recurrent layers.
///
/// Lives while a model compiles. A constant still in the checkpoint is known by its key, so the raw tensor
/// read to pack it is released as soon as it is packed; a constant in memory is known by its buffer, which
/// is held so that identity stays unique, until `clear()` lets them go once every signature is compiled.
final class WeightPacking: Sendable {
    /// How a constant becomes packed panels.
    enum Form: Hashable {
        case matrix(transposed: Bool)
        case filter(winograd: Bool)
    }

    /// Which constant: a checkpoint entry, or a buffer in memory.
    private enum Source: Hashable {
        case stored(String)
        case buffer(ObjectIdentifier)

        /// The identity of `constant` and the buffer to hold for it; nil when it has no stable identity.
        static func of(_ constant: LoadConstant) -> (source: Source, held: TensorBuffer?)? {
            switch constant {
            case .stored(let stored): return (.stored(stored.key), nil)
            case .tensor(let tensor): return tensor.buffer.map { (.buffer(ObjectIdentifier($0)), $0) }
            }
        }
    }

    private struct Key: Hashable {
        let source: Source
        let shape: [Int]
        let form: Form
        let scale: [Double]?
        let bias: [Double]
        let activation: EpilogueActivation
    }

    private struct Entry {
        let held: TensorBuffer?
        let packed: PackedWeights?
    }

    private let entries = Mutex<[Key: Entry]>([:])

    private struct EmbeddingKey: Hashable {
        let table: Source
        let kernelDigest: Int
    }

    private let embeddings = Mutex<[EmbeddingKey: (held: TensorBuffer?, projected: ProjectedEmbedding?)]>([:])

    /// The embedding `table` multiplied by the cell kernel `weights` describe, made by `make` the first time.
    func projectedEmbedding(_ table: LoadConstant, weights: CellWeights, make: () -> ProjectedEmbedding?) -> ProjectedEmbedding? {
        guard let (source, held) = Source.of(table) else { return make() }
        let key = EmbeddingKey(table: source, kernelDigest: weights.kernelDigest)
        if let entry = embeddings.withLock({ $0[key] }) { return entry.projected }
        let projected = make()
        embeddings.withLock { $0[key] = (held, projected) }
        return projected
    }

    /// The packed form of `weights` scaled by `scale` with `epilogue`, made by `make` the first time.
    func packed(
        _ weights: LoadConstant, form: Form, scale: [Double]?, epilogue: GEMMEpilogue, make: () -> PackedWeights?
    ) -> PackedWeights? {
        guard let (source, held) = Source.of(weights) else { return make() }
        let key = Key(source: source, shape: weights.shape.dims, form: form, scale: scale,
                      bias: epilogue.bias, activation: epilogue.activation)
        if let entry = entries.withLock({ $0[key] }) { return entry.packed }
        let packed = make()
        entries.withLock { $0[key] = Entry(held: held, packed: packed) }
        return packed
    }

    /// Forgets every constant and packed copy (the compiled steps keep the copies they use).
    func clear() {
        entries.withLock { $0.removeAll() }
        embeddings.withLock { $0.removeAll() }
    }
}
