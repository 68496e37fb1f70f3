import ArgumentParser
import Foundation
import Runtime
import SavedModel
import SwiftProtobuf
import TFProtos
import Tensors

/// `model-server inspect <version dir>`: what a SavedModel holds and whether this server can run it.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a SavedModel's meta graphs, signatures, op types and whether they are supported."
    )

    @Argument(help: "A version directory holding saved_model.pb (e.g. models/digits/1).")
    var directory: String

    @Option(name: .customLong("saved_model_tags"), help: "Comma-separated tags of the MetaGraphDef to inspect.")
    var savedModelTags: String = "serve"

    func run() throws {
        let path = directory + "/saved_model.pb"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read \(path)")
        }
        let savedModel = try Tensorflow_SavedModel(serializedBytes: data)
        print("SavedModel \(directory)")
        print("meta graphs:")
        for metaGraph in savedModel.metaGraphs {
            let info = metaGraph.metaInfoDef
            let version = info.tensorflowVersion.isEmpty ? "" : " (TensorFlow \(info.tensorflowVersion))"
            print("  tags {\(info.tags.joined(separator: ", "))}\(version)")
        }

        let tags = Set(savedModelTags.split(separator: ",").map(String.init))
        let bundle = try SavedModelBundle.load(directory: directory, tags: tags)
        print("\nsignatures of the meta graph tagged {\(tags.sorted().joined(separator: ", "))}:")
        for (name, signature) in bundle.signatures.sorted(by: { $0.key < $1.key }) {
            print("  \(name) (\(signature.methodName))")
            for (key, spec) in signature.inputs.sorted(by: { $0.key < $1.key }) {
                print("    input  \(key): \(spec.dtype) \(spec.shape)  [\(spec.tensorName)]")
            }
            for (key, spec) in signature.outputs.sorted(by: { $0.key < $1.key }) {
                print("    output \(key): \(spec.dtype) \(spec.shape)  [\(spec.tensorName)]")
            }
        }
        if let checkpoint = bundle.checkpoint {
            print("\nvariables: \(checkpoint.keys.count) checkpoint entries")
        }

        let graph = try Tensorflow_GraphDef(serializedBytes: bundle.serializedGraphDef)
        var counts: [String: Int] = [:]
        for node in graph.node { counts[node.op, default: 0] += 1 }
        for function in graph.library.function {
            for node in function.nodeDef { counts[node.op, default: 0] += 1 }
        }
        let supported = Set(CompiledModel.supportedOps)
        print("\nop types in the file (graph and \(graph.library.function.count) functions; not all are used by serving):")
        for (op, count) in counts.sorted(by: { $0.key < $1.key }) {
            print("  \(supported.contains(op) ? " " : "✗") \(op) ×\(count)")
        }

        print("\nops each signature needs that this runtime cannot execute:")
        for (name, result) in CompiledModel.unsupportedOps(bundle).sorted(by: { $0.key < $1.key }) {
            switch result {
            case .success(let ops): print("  \(name): \(ops.isEmpty ? "none" : ops.joined(separator: ", "))")
            case .failure(let error): print("  \(name): could not be walked: \(error.message)")
            }
        }

        print("")
        do {
            let model = try CompiledModel.compile(bundle)
            print("supported: yes; every signature compiles")
            for (name, signature) in model.signatures.sorted(by: { $0.key < $1.key }) {
                print("  \(name): \(signature.stepCount) steps per run")
            }
            if !model.mutableVariableNames.isEmpty {
                print("variables the signatures assign (each loaded version keeps its own values): "
                      + model.mutableVariableNames.joined(separator: ", "))
            }
        } catch {
            print("supported: no: \(error.message)")
            throw ExitCode(2)
        }
    }
}
