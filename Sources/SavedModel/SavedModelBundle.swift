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
    /// The MetaGraphDef whose tags contain every requested tag.
    public let metaGraph: Tensorflow_MetaGraphDef
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
        let model = try readSavedModel(directory: directory)
        let metaGraph = try chooseMetaGraph(model, tags: tags, directory: directory)
        let signatures = try signatureSpecs(metaGraph, directory: directory)
        let variablesPrefix = directory + "/variables/variables"
        let checkpoint = fileExists(variablesPrefix + ".index") ? try CheckpointReader(prefix: variablesPrefix) : nil
        return SavedModelBundle(
            directory: directory, metaGraph: metaGraph, signatures: signatures, checkpoint: checkpoint,
            variablesPrefix: variablesPrefix, assetsDirectory: directory + "/assets")
    }

    private init(
        directory: String, metaGraph: Tensorflow_MetaGraphDef, signatures: [String: SignatureSpec],
        checkpoint: CheckpointReader?, variablesPrefix: String, assetsDirectory: String
    ) {
        self.directory = directory
        self.metaGraph = metaGraph
        self.signatures = signatures
        self.checkpoint = checkpoint
        self.variablesPrefix = variablesPrefix
        self.assetsDirectory = assetsDirectory
    }

    /// Largest `saved_model.pb` read: protobuf's own limit for one message, 2 GiB.
    public static let maximumSavedModelBytes = Int(Int32.max)

    static func readSavedModel(directory: String) throws(ServingError) -> Tensorflow_SavedModel {
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
        var options = BinaryDecodingOptions()
        options.messageDepthLimit = 1000
        let model: Tensorflow_SavedModel
        do {
            model = try Tensorflow_SavedModel(serializedBytes: bytes, options: options)
        } catch {
            throw .dataLoss("SavedModel file \(path) is not a valid SavedModel protobuf: \(error)")
        }
        guard !model.metaGraphs.isEmpty else {
            throw .dataLoss("SavedModel file \(path) holds no MetaGraphDef")
        }
        return model
    }

    static func chooseMetaGraph(
        _ model: Tensorflow_SavedModel, tags: Set<String>, directory: String
    ) throws(ServingError) -> Tensorflow_MetaGraphDef {
        if let match = model.metaGraphs.first(where: { tags.isSubset(of: Set($0.metaInfoDef.tags)) }) {
            return match
        }
        let available = model.metaGraphs
            .map { "{" + $0.metaInfoDef.tags.joined(separator: ", ") + "}" }
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
