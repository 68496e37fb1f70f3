#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import SwiftProtobuf
import TFProtos
import Tensors

/// One SavedModel version directory, read and checked: the MetaGraphDef chosen by tags, its
/// serving signatures and the variables checkpoint. Graph execution is the runtime's business.
public struct SavedModelBundle: Sendable {
    /// The version directory (`<base>/<model>/<version>`).
    public let directory: String
    /// The MetaGraphDef whose tags contain every requested tag, without its `graph_def`, which is
    /// the bulk of the file and is kept serialized in `serializedGraphDef`.
    public let metaGraph: Tensorflow_MetaGraphDef
    /// The chosen MetaGraphDef's `graph_def` (the graph and its function library), as stored.
    public let serializedGraphDef: [UInt8]
    /// Every SignatureDef except the `__saved_model_init_op` pseudo-signature, by key.
    public let signatures: [String: SignatureSpec]
    /// The variables checkpoint; nil when the model has no `variables/variables.index`.
    public let checkpoint: CheckpointReader?
    /// `<directory>/variables/variables`, the value a restore op's filename tensor is fed.
    public let variablesPrefix: String
    /// `<directory>/assets`.
    public let assetsDirectory: String

    /// The key of the pseudo-signature that names the init op of TF2 exports.
    public static let initOpSignatureKey = "__saved_model_init_op"

    /// Reads `saved_model.pb` in `directory`, picks the MetaGraphDef tagged with all of `tags`,
    /// builds its signatures and opens the checkpoint if there is one.
    public static func load(directory: String, tags: Set<String> = ["serve"]) throws(ServingError) -> SavedModelBundle {
        let directory = directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        let metaGraphs = try readSavedModel(directory: directory)
        let chosen = try chooseMetaGraph(metaGraphs, tags: tags, directory: directory)
        let metaGraph = chosen.metaGraph
        let signatures = try signatureSpecs(metaGraph, directory: directory)
        let variablesPrefix = directory + "/variables/variables"
        let checkpoint = fileExists(variablesPrefix + ".index") ? try CheckpointReader(prefix: variablesPrefix) : nil
        return SavedModelBundle(
            directory: directory, metaGraph: metaGraph, serializedGraphDef: chosen.graphDef, signatures: signatures,
            checkpoint: checkpoint, variablesPrefix: variablesPrefix, assetsDirectory: directory + "/assets")
    }

    private init(
        directory: String, metaGraph: Tensorflow_MetaGraphDef, serializedGraphDef: [UInt8],
        signatures: [String: SignatureSpec], checkpoint: CheckpointReader?, variablesPrefix: String,
        assetsDirectory: String
    ) {
        self.directory = directory
        self.metaGraph = metaGraph
        self.serializedGraphDef = serializedGraphDef
        self.signatures = signatures
        self.checkpoint = checkpoint
        self.variablesPrefix = variablesPrefix
        self.assetsDirectory = assetsDirectory
    }

    /// Largest `saved_model.pb` read: protobuf's own limit for one message, 2 GiB.
    public static let maximumSavedModelBytes = Int(Int32.max)

    /// One MetaGraphDef of a SavedModel file: everything but its graph, decoded, and the graph's bytes.
    struct StoredMetaGraph {
        var metaGraph: Tensorflow_MetaGraphDef
        var graphDef: [UInt8]
    }

    /// `SavedModel.meta_graphs` field number; `MetaGraphDef.graph_def` has the same number.
    static let metaGraphsField = 2
    static let graphDefField = 2

    static func readSavedModel(directory: String) throws(ServingError) -> [StoredMetaGraph] {
        let path = directory + "/saved_model.pb"
        guard fileExists(directory) else {
            throw .notFound("SavedModel directory \(directory) does not exist")
        }
        guard fileExists(path) else {
            if fileExists(directory + "/saved_model.pbtxt") {
                throw .unimplemented(
                    "\(directory) holds saved_model.pbtxt; only the binary saved_model.pb format is supported")
            }
            throw .notFound("SavedModel file \(path) does not exist")
        }
        let bytes = try ModelFile(path: path).readAll(limit: maximumSavedModelBytes)
        guard !bytes.isEmpty else {
            throw .dataLoss("SavedModel file \(path) is empty")
        }
        let metaGraphs: [StoredMetaGraph]
        do throws(ServingError) {
            metaGraphs = try splitMetaGraphs(bytes)
        } catch {
            throw .dataLoss("SavedModel file \(path) is not a valid SavedModel protobuf: \(error.message)")
        }
        guard !metaGraphs.isEmpty else {
            throw .dataLoss("SavedModel file \(path) holds no MetaGraphDef")
        }
        return metaGraphs
    }

    /// Decodes every MetaGraphDef of a serialized SavedModel except its `graph_def`, whose bytes are
    /// set aside (several occurrences of the field concatenated, which is how protobuf merges them) for
    /// the runtime to read straight into its own graph.
    static func splitMetaGraphs(_ bytes: [UInt8]) throws(ServingError) -> [StoredMetaGraph] {
        var options = BinaryDecodingOptions()
        options.messageDepthLimit = 1000
        return try bytes.withUnsafeBytes { buffer in
            Result { () throws(ServingError) -> [StoredMetaGraph] in try splitMetaGraphs(buffer, options: options) }
        }.get()
    }

    private static func splitMetaGraphs(
        _ buffer: UnsafeRawBufferPointer, options: BinaryDecodingOptions
    ) throws(ServingError) -> [StoredMetaGraph] {
        var result: [StoredMetaGraph] = []
        var model = ProtoWireReader(buffer)
        while let field = try model.nextField() {
            guard field.number == metaGraphsField else {
                try model.skip(field.wireType)
                continue
            }
            try model.expect(field, .lengthDelimited)
            var meta = try model.message()
            var rest: [UInt8] = []
            var graphDef: [UInt8] = []
            var fieldStart = meta.offset
            while let inner = try meta.nextField() {
                if inner.number == graphDefField, inner.wireType == .lengthDelimited {
                    graphDef.append(contentsOf: try meta.lengthDelimited())
                } else {
                    try meta.skip(inner.wireType)
                    rest.append(contentsOf: UnsafeRawBufferPointer(rebasing: meta.bytes[fieldStart..<meta.offset]))
                }
                fieldStart = meta.offset
            }
            do {
                let metaGraph = try Tensorflow_MetaGraphDef(serializedBytes: rest, options: options)
                result.append(StoredMetaGraph(metaGraph: metaGraph, graphDef: graphDef))
            } catch {
                throw .dataLoss("MetaGraphDef \(result.count): \(error)")
            }
        }
        return result
    }

    static func chooseMetaGraph(
        _ metaGraphs: [StoredMetaGraph], tags: Set<String>, directory: String
    ) throws(ServingError) -> StoredMetaGraph {
        if let match = metaGraphs.first(where: { tags.isSubset(of: Set($0.metaGraph.metaInfoDef.tags)) }) {
            return match
        }
        let available = metaGraphs
            .map { "{" + $0.metaGraph.metaInfoDef.tags.joined(separator: ", ") + "}" }
            .joined(separator: ", ")
        throw .notFound(
            "SavedModel \(directory) has no MetaGraphDef tagged {\(tags.sorted().joined(separator: ", "))}; available tag sets: \(available)")
    }

    static func signatureSpecs(
        _ metaGraph: Tensorflow_MetaGraphDef, directory: String
    ) throws(ServingError) -> [String: SignatureSpec] {
        var result: [String: SignatureSpec] = [:]
        for (key, signature) in metaGraph.signatureDef where key != initOpSignatureKey {
            var inputs: [String: TensorSpec] = [:]
            var outputs: [String: TensorSpec] = [:]
            for (name, info) in signature.inputs {
                inputs[name] = try tensorSpec(info, signature: key, key: name, role: "input", directory: directory)
            }
            for (name, info) in signature.outputs {
                outputs[name] = try tensorSpec(info, signature: key, key: name, role: "output", directory: directory)
            }
            result[key] = SignatureSpec(name: key, methodName: signature.methodName, inputs: inputs, outputs: outputs)
        }
        return result
    }

    static func tensorSpec(
        _ info: Tensorflow_TensorInfo, signature: String, key: String, role: String, directory: String
    ) throws(ServingError) -> TensorSpec {
        let tensorName: String
        switch info.encoding {
        case .name(let name)?:
            tensorName = name
        case .cooSparse?:
            throw .unimplemented(
                "SavedModel \(directory): signature '\(signature)' \(role) '\(key)' is a sparse (COO) tensor, which is not supported")
        case .compositeTensor?:
            throw .unimplemented(
                "SavedModel \(directory): signature '\(signature)' \(role) '\(key)' is a composite tensor, which is not supported")
        case nil:
            throw .dataLoss("SavedModel \(directory): signature '\(signature)' \(role) '\(key)' names no tensor")
        }
        guard let dtype = DType(tensorFlowValue: info.dtype.rawValue) else {
            throw .unimplemented(
                "SavedModel \(directory): signature '\(signature)' \(role) '\(key)' has unsupported dtype \(info.dtype)")
        }
        let shape = info.hasTensorShape ? ShapeSpec(proto: info.tensorShape) : .unknownRank
        return TensorSpec(tensorName: tensorName, dtype: dtype, shape: shape)
    }

    static func fileExists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }
}
