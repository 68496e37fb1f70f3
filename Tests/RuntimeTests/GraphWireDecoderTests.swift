import Foundation
@testable import SavedModel
import SwiftProtobuf
import Testing
import TFProtos
import Tensors
@testable import Runtime

/// The wire decoder must give the graph the generated protobuf types give, on every committed export,
/// and refuse damaged bytes with an error rather than a wrong graph or a crash.
@Suite struct GraphWireDecoderTests {
    static func savedModelFiles() -> [String] {
        let root = Fixtures.repositoryRoot + "/Tests/Fixtures"
        let walker = FileManager.default.enumerator(atPath: root)
        var files: [String] = []
        while let path = walker?.nextObject() as? String {
            if path.hasSuffix("/saved_model.pb") { files.append(root + "/" + path) }
        }
        return files.sorted()
    }

    @Test func everyFixtureDecodesAsTheGeneratedTypesDo() throws {
        let files = Self.savedModelFiles()
        #expect(files.count > 200)
        var functionCount = 0
        for file in files {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
            let model = try Tensorflow_SavedModel(serializedBytes: bytes)
            let split = try SavedModelBundle.splitMetaGraphs(bytes)
            try #require(split.count == model.metaGraphs.count, "\(file)")
            for (stored, reference) in zip(split, model.metaGraphs) {
                var withoutGraph = reference
                withoutGraph.clearGraphDef()
                #expect(stored.metaGraph == withoutGraph, "\(file): the rest of the MetaGraphDef differs")
                let expected = IRGraph(proto: reference.graphDef)
                let decoded = try GraphWireDecoder.graph(stored.graphDef)
                #expect(Self.describe(decoded) == Self.describe(expected), "\(file)")
                functionCount += decoded.functions.count
            }
        }
        #expect(functionCount > 500)
    }

    @Test func attributesOfEveryKindDecode() throws {
        var node = Tensorflow_NodeDef()
        node.name = "n"
        node.op = "Op"
        node.input = ["a", "b:1", "^c"]
        node.attr["s"] = .with { $0.s = Data([0xFF, 0x00, 0x41]) }
        node.attr["i"] = .with { $0.i = -5 }
        node.attr["f"] = .with { $0.f = -2.5 }
        node.attr["b"] = .with { $0.b = true }
        node.attr["type"] = .with { $0.type = .dtHalf }
        node.attr["shape"] = .with { $0.shape = .with { $0.dim = [.with { $0.size = -1 }, .with { $0.size = 3 }] } }
        node.attr["unknown_rank"] = .with { $0.shape = .with { $0.unknownRank = true } }
        node.attr["tensor"] = .with { $0.tensor = .with { $0.dtype = .dtInt32; $0.intVal = [7] } }
        node.attr["func"] = .with { $0.func = .with { $0.name = "callee" } }
        node.attr["placeholder"] = .with { $0.placeholder = "T" }
        node.attr["ints"] = .with { $0.list = .with { $0.i = [1, -2, 1 << 40] } }
        node.attr["floats"] = .with { $0.list = .with { $0.f = [0.5, 1.5] } }
        node.attr["types"] = .with { $0.list = .with { $0.type = [.dtFloat, .dtString] } }
        node.attr["shapes"] = .with { $0.list = .with { $0.shape = [.with { $0.dim = [.with { $0.size = 2 }] }] } }
        node.attr["strings"] = .with { $0.list = .with { $0.s = [Data("x".utf8)] } }
        node.attr["empty"] = Tensorflow_AttrValue()
        var graph = Tensorflow_GraphDef()
        graph.node = [node]
        let bytes: [UInt8] = try graph.serializedBytes()
        let decoded = try GraphWireDecoder.graph(bytes)
        #expect(Self.describe(decoded) == Self.describe(IRGraph(proto: graph)))
        let attrs = try #require(decoded.nodes["n"]).attrs
        guard case .int(-5) = attrs["i"], case .type(19) = attrs["type"], case .shape([-1, 3]) = attrs["shape"],
              case .shape(nil) = attrs["unknown_rank"], case .list(let ints) = attrs["ints"], ints.count == 3
        else {
            Issue.record("attributes decoded wrong: \(Self.describe(decoded))")
            return
        }
    }

    @Test func damagedBytesAreRefusedWithTheOffset() throws {
        var node = Tensorflow_NodeDef()
        node.name = "node"
        node.op = "Const"
        node.attr["value"] = .with { $0.tensor = .with { $0.dtype = .dtFloat; $0.floatVal = [1, 2, 3] } }
        var graph = Tensorflow_GraphDef()
        graph.node = [node]
        let bytes: [UInt8] = try graph.serializedBytes()
        for length in 1..<bytes.count {
            do {
                _ = try GraphWireDecoder.graph(Array(bytes.prefix(length)))
                Issue.record("a GraphDef cut to \(length) of \(bytes.count) bytes decoded")
            } catch {
                #expect(error.code == .dataLoss)
                #expect(error.message.contains("malformed protobuf at byte"))
            }
        }
        #expect(throws: ServingError.self) { try GraphWireDecoder.graph([0x0B, 0x00]) }
        #expect(throws: ServingError.self) { try GraphWireDecoder.graph([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]) }
    }

    /// A canonical text of a graph: nodes and functions by name, attributes by key, tensors by dtype,
    /// shape and bytes.
    static func describe(_ graph: IRGraph) -> String {
        var lines: [String] = []
        for (name, node) in graph.nodes.sorted(by: { $0.key < $1.key }) {
            lines.append("node \(name): \(describe(node))")
        }
        for (name, function) in graph.functions.sorted(by: { $0.key < $1.key }) {
            lines.append("function \(name)(\(function.inputArgs)) -> \(function.outputArgs) ret \(function.ret.sorted { $0.key < $1.key }) control \(function.controlRet.sorted { $0.key < $1.key })")
            for (nodeName, node) in function.nodes.sorted(by: { $0.key < $1.key }) {
                lines.append("  \(nodeName): \(describe(node))")
            }
        }
        return lines.joined(separator: "\n")
    }

    static func describe(_ node: IRNode) -> String {
        let attrs = node.attrs.sorted { $0.key < $1.key }.map { "\($0.key)=\(describe($0.value))" }
        return "\(node.name) \(node.op) \(node.inputs) {\(attrs.joined(separator: ", "))}"
    }

    static func describe(_ attr: NodeAttr) -> String {
        switch attr {
        case .string(let bytes): return "s\(bytes)"
        case .int(let value): return "i\(value)"
        case .float(let value): return "f\(value.bitPattern)"
        case .bool(let value): return "b\(value)"
        case .type(let value): return "t\(value)"
        case .shape(let dims): return "shape\(dims.map { "\($0)" } ?? "?")"
        case .function(let name): return "func \(name)"
        case .placeholder(let name): return "placeholder \(name)"
        case .list(let items): return "[\(items.map(describe).joined(separator: ","))]"
        case .tensor(.failure(let error)): return "tensor error \(error.code)"
        case .tensor(.success(let tensor)):
            let content: String
            switch tensor.storage {
            case .buffer(let buffer): content = "\(Array(UnsafeRawBufferPointer(buffer.rawBuffer)))"
            case .strings(let strings): content = "\(strings)"
            case .opaque(let objects): content = "\(objects.count) objects"
            }
            return "tensor \(tensor.dtype) \(tensor.shape) \(content)"
        }
    }
}
