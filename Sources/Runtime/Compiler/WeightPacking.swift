import Synchronization
import Tensors

/// Packed weights shared by every fused step of one model that packs the same constant the same way, so
/// signatures calling one function (Keras exports `serve` and `serving_default`) keep one packed copy;
/// likewise projected embedding tables of recurrent layers.
///
/// Lives while a model compiles: it holds the constants it has seen so their identities stay unique, and
/// `clear()` lets them go once every signature is compiled.
final class WeightPacking: Sendable {
    /// How a constant becomes packed panels.
    enum Form: Hashable {
        case matrix(transposed: Bool)
        case filter(winograd: Bool)
    }

    private struct Key: Hashable {
        let source: ObjectIdentifier
        let shape: [Int]
        let form: Form
        let scale: [Double]?
        let bias: [Double]
        let activation: EpilogueActivation
    }

    private struct Entry {
        let source: TensorBuffer
        let packed: PackedWeights?
    }

    private let entries = Mutex<[Key: Entry]>([:])

    private struct EmbeddingKey: Hashable {
        let table: ObjectIdentifier
        let kernelDigest: Int
    }

    private let embeddings = Mutex<[EmbeddingKey: (table: TensorBuffer, projected: ProjectedEmbedding?)]>([:])

    /// The embedding `table` multiplied by the cell kernel `weights` describe, made by `make` the first time.
    func projectedEmbedding(_ table: Tensor, weights: CellWeights, make: () -> ProjectedEmbedding?) -> ProjectedEmbedding? {
        guard let buffer = table.buffer else { return make() }
        let key = EmbeddingKey(table: ObjectIdentifier(buffer), kernelDigest: weights.kernelDigest)
        if let entry = embeddings.withLock({ $0[key] }) { return entry.projected }
        let projected = make()
        embeddings.withLock { $0[key] = (buffer, projected) }
        return projected
    }

    /// The packed form of `weights` scaled by `scale` with `epilogue`, made by `make` the first time.
    func packed(
        _ weights: Tensor, form: Form, scale: [Double]?, epilogue: GEMMEpilogue, make: () -> PackedWeights?
    ) -> PackedWeights? {
        guard let buffer = weights.buffer else { return make() }
        let key = Key(source: ObjectIdentifier(buffer), shape: weights.shape.dims, form: form, scale: scale,
                      bias: epilogue.bias, activation: epilogue.activation)
        if let entry = entries.withLock({ $0[key] }) { return entry.packed }
        let packed = make()
        entries.withLock { $0[key] = Entry(source: buffer, packed: packed) }
        return packed
    }

    /// Forgets every constant and packed copy (the compiled steps keep the copies they use).
    func clear() {
        entries.withLock { $0.removeAll() }
        embeddings.withLock { $0.removeAll() }
    }
}
