import Foundation
import Runtime
import SavedModel
import SwiftProtobuf
import Tensors
import TFProtos
import Testing

/// Models written in code: a tiny MetaGraphDef saved to a temporary directory and loaded like a real one.
@Suite struct HandBuiltModelTests {
    private static func node(_ name: String, _ op: String, _ inputs: [String] = [],
                             _ attrs: [String: Tensorflow_AttrValue] = [:]) -> Tensorflow_NodeDef {
        Tensorflow_NodeDef.with {
            $0.name = name
            $0.op = op
            $0.input = inputs
            $0.attr = attrs
        }
    }

    private static func floatType() -> Tensorflow_AttrValue { .with { $0.type = .dtFloat } }

    private static func constant(_ values: [Float], _ dims: [Int64]) -> Tensorflow_AttrValue {
        .with {
            $0.tensor = .with { tensor in
                tensor.dtype = .dtFloat
                tensor.tensorShape = .with { shape in shape.dim = dims.map { size in .with { $0.size = size } } }
                tensor.floatVal = values
            }
        }
    }

    /// `mainOp`: the node the loader runs once to initialise variables (`saved_model_main_op`).
    private static func write(_ graph: Tensorflow_GraphDef, output: String, mainOp: String? = nil) throws -> String {
        let signature = Tensorflow_SignatureDef.with {
            $0.methodName = "tensorflow/serving/predict"
            $0.inputs["x"] = .with { info in
                info.name = "x:0"
                info.dtype = .dtFloat
                info.tensorShape = .with { $0.dim = [.with { $0.size = -1 }, .with { $0.size = 2 }] }
            }
            $0.outputs["y"] = .with { info in
                info.name = output
                info.dtype = .dtFloat
            }
        }
        let model = Tensorflow_SavedModel.with {
            $0.savedModelSchemaVersion = 1
            $0.metaGraphs = [.with { meta in
                meta.metaInfoDef = .with { $0.tags = ["serve"] }
                meta.graphDef = graph
                meta.signatureDef["serving_default"] = signature
                if let mainOp {
                    meta.collectionDef["saved_model_main_op"] = .with { $0.nodeList = .with { $0.value = [mainOp] } }
                }
            }]
        }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("runtime-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let bytes: Data = try model.serializedBytes()
        try bytes.write(to: URL(fileURLWithPath: directory + "/saved_model.pb"))
        return directory
    }

    @Test func unsupportedOpsAreListedInOneMessage() throws {
        let function = Tensorflow_FunctionDef.with {
            $0.signature = .with { signature in
                signature.name = "fn"
                signature.inputArg = [.with { $0.name = "a"; $0.type = .dtFloat }]
                signature.outputArg = [.with { $0.name = "out"; $0.type = .dtFloat }]
            }
            $0.nodeDef = [
                Self.node("inner", "MysteryOp", ["a"]),
                Self.node("id", "Identity", ["inner:output:0"], ["T": Self.floatType()]),
            ]
            $0.ret = ["out": "id:output:0"]
        }
        let graph = Tensorflow_GraphDef.with {
            $0.node = [
                Self.node("x", "Placeholder", [], ["dtype": Self.floatType()]),
                Self.node("bad", "FancyOp", ["x"]),
                Self.node("call", "StatefulPartitionedCall", ["bad"], ["f": .with { $0.func = .with { $0.name = "fn" } }]),
                Self.node("unused", "NeverReachedOp", ["x"]),
            ]
            $0.library = .with { $0.function = [function] }
        }
        let directory = try Self.write(graph, output: "call:0")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bundle = try SavedModelBundle.load(directory: directory)
        do {
            _ = try CompiledModel.compile(bundle)
            Issue.record("compile should fail")
        } catch {
            #expect(error.code == .unimplemented)
            #expect(error.message.contains("FancyOp (used by signature 'serving_default' node 'bad')"))
            #expect(error.message.contains("MysteryOp (used by signature 'serving_default' function 'fn' node 'inner')"))
            #expect(!error.message.contains("NeverReachedOp"))
        }
    }

    @Test func constantsFoldAndTheRestRuns() throws {
        let graph = Tensorflow_GraphDef.with {
            $0.node = [
                Self.node("x", "Placeholder", [], ["dtype": Self.floatType()]),
                Self.node("w1", "Const", [], ["dtype": Self.floatType(), "value": Self.constant([1, 0, 0, 1], [2, 2])]),
                Self.node("w2", "Const", [], ["dtype": Self.floatType(), "value": Self.constant([1], [])]),
                Self.node("w", "AddV2", ["w1", "w2"], ["T": Self.floatType()]),
                Self.node("mm", "MatMul", ["x", "w"], ["T": Self.floatType(), "transpose_b": .with { $0.b = true }]),
                Self.node("neg", "Neg", ["mm"], ["T": Self.floatType()]),
                Self.node("relu", "Relu", ["neg", "^w"], ["T": Self.floatType()]),
            ]
        }
        let directory = try Self.write(graph, output: "relu:0")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let model = try CompiledModel.compile(try SavedModelBundle.load(directory: directory))
        let signature = try #require(model.signatures["serving_default"])
        #expect(signature.stepCount == 3)
        let outputs = try signature.run(["x": Tensor([Float(1), -2, -3, 1], shape: [2, 2])])
        #expect(outputs["y"]?.scalars(as: Float.self) == [0, 3, 5, 1])
    }

    private static func compileError(_ graph: Tensorflow_GraphDef, output: String) throws -> ServingError? {
        let directory = try write(graph, output: output)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            _ = try CompiledModel.compile(try SavedModelBundle.load(directory: directory))
            return nil
        } catch {
            return error
        }
    }

    private static func identityFunction(_ name: String, calling callee: String?) -> Tensorflow_FunctionDef {
        .with {
            $0.signature = .with { signature in
                signature.name = name
                signature.inputArg = [.with { $0.name = "a"; $0.type = .dtFloat }]
                signature.outputArg = [.with { $0.name = "out"; $0.type = .dtFloat }]
            }
            if let callee {
                $0.nodeDef = [node("inner", "PartitionedCall", ["a"], ["f": .with { $0.func = .with { $0.name = callee } }])]
                $0.ret = ["out": "inner:output:0"]
            } else {
                $0.ret = ["out": "a"]
            }
        }
    }

    @Test func malformedGraphsFailWithMessages() throws {
        let x = Self.node("x", "Placeholder", [], ["dtype": Self.floatType()])
        let cycle = Tensorflow_GraphDef.with {
            $0.node = [x, Self.node("a", "AddV2", ["x", "b"]), Self.node("b", "Relu", ["a"])]
        }
        #expect(try Self.compileError(cycle, output: "b:0")?.message.contains("cycle") == true)

        let dangling = Tensorflow_GraphDef.with { $0.node = [x, Self.node("a", "Relu", ["nowhere:0"])] }
        #expect(try Self.compileError(dangling, output: "a:0")?.message.contains("'nowhere'") == true)

        let outOfRange = Tensorflow_GraphDef.with { $0.node = [x, Self.node("a", "Relu", ["x:3"])] }
        #expect(try Self.compileError(outOfRange, output: "a:0") != nil)

        let recursive = Tensorflow_GraphDef.with {
            $0.node = [x, Self.node("call", "PartitionedCall", ["x"], ["f": .with { $0.func = .with { $0.name = "loop" } }])]
            $0.library = .with { $0.function = [Self.identityFunction("loop", calling: "loop")] }
        }
        #expect(try Self.compileError(recursive, output: "call:0")?.message.contains("nest deeper") == true)

        let arity = Tensorflow_GraphDef.with {
            $0.node = [x, Self.node("call", "PartitionedCall", ["x", "x"], ["f": .with { $0.func = .with { $0.name = "id" } }])]
            $0.library = .with { $0.function = [Self.identityFunction("id", calling: nil)] }
        }
        #expect(try Self.compileError(arity, output: "call:0")?.message.contains("takes 1") == true)

        let emptyList = Tensorflow_GraphDef.with {
            $0.node = [x, Self.node("n", "IdentityN", ["x"], ["T": .with { $0.list = .with { $0.type = [] } }])]
        }
        #expect(try Self.compileError(emptyList, output: "n:0") != nil)
    }

    @Test func nestedCallsInlineAndRun() throws {
        let graph = Tensorflow_GraphDef.with {
            $0.node = [
                Self.node("x", "Placeholder", [], ["dtype": Self.floatType()]),
                Self.node("call", "StatefulPartitionedCall", ["x"], ["f": .with { $0.func = .with { $0.name = "outer" } }]),
                Self.node("y", "Relu", ["call:0"]),
            ]
            $0.library = .with { $0.function = [Self.identityFunction("outer", calling: "id"), Self.identityFunction("id", calling: nil)] }
        }
        let directory = try Self.write(graph, output: "y:0")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let model = try CompiledModel.compile(try SavedModelBundle.load(directory: directory))
        let signature = try #require(model.signatures["serving_default"])
        #expect(signature.stepCount == 1)
        let outputs = try signature.run(["x": Tensor([Float(-1), 2], shape: [1, 2])])
        #expect(outputs["y"]?.scalars(as: Float.self) == [0, 2])
    }

    /// A function of one variable handle that reads the variable and assigns it `value op constant`.
    private static func update(_ name: String, _ op: String, _ operand: Float) -> Tensorflow_FunctionDef {
        .with {
            $0.signature = .with { signature in
                signature.name = name
                signature.inputArg = [.with { $0.name = "h"; $0.type = .dtResource }]
                signature.controlOutput = ["a"]
            }
            $0.nodeDef = [
                node("c", "Const", [], ["dtype": floatType(), "value": constant([operand], [])]),
                node("r", "ReadVariableOp", ["h"], ["dtype": floatType()]),
                node("m", op, ["r:value:0", "c:output:0"], ["T": floatType()]),
                node("a", "AssignVariableOp", ["h", "m:z:0", "^r"], ["dtype": floatType()]),
            ]
            $0.controlRet = ["a": "a"]
        }
    }

    /// Two calls ordered only by a control edge between them, each reading and assigning one variable:
    /// the second call's body runs after the first call's assignment, whichever function comes first.
    /// The final read lists `^second` before `^first`, so the first body is inlined before the second
    /// and nothing but the call's control input puts the second body's read after the first assignment.
    @Test(arguments: [(["double", "addOne"], [Float(3), 7]), (["addOne", "double"], [Float(4), 10])])
    func callsRunAfterTheirControlInputs(_ order: [String], _ expected: [Float]) throws {
        let call = { (name: String, function: String, inputs: [String]) in
            Self.node(name, "StatefulPartitionedCall", inputs, ["f": .with { $0.func = .with { $0.name = function } }])
        }
        let graph = Tensorflow_GraphDef.with {
            $0.node = [
                Self.node("x", "Placeholder", [], ["dtype": Self.floatType()]),
                Self.node("v", "VarHandleOp", [], ["dtype": Self.floatType(), "shared_name": .with { $0.s = Data("total".utf8) }]),
                Self.node("one", "Const", [], ["dtype": Self.floatType(), "value": Self.constant([1], [])]),
                Self.node("init", "AssignVariableOp", ["v", "one"], ["dtype": Self.floatType()]),
                call("first", order[0], ["v"]),
                call("second", order[1], ["v", "^first"]),
                Self.node("read", "ReadVariableOp", ["v", "^second", "^first"], ["dtype": Self.floatType()]),
                Self.node("y", "AddV2", ["read", "x"], ["T": Self.floatType()]),
            ]
            $0.library = .with { $0.function = [Self.update("double", "Mul", 2), Self.update("addOne", "AddV2", 1)] }
        }
        let directory = try Self.write(graph, output: "y:0", mainOp: "init")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let model = try CompiledModel.compile(try SavedModelBundle.load(directory: directory))
        #expect(model.mutableVariableNames == ["total"])
        let signature = try #require(model.signatures["serving_default"])
        let x = Tensor([Float(0), 0.5], shape: [1, 2])
        #expect(try signature.run(["x": x])["y"]?.scalars(as: Float.self) == [expected[0], expected[0] + 0.5])
        #expect(try signature.run(["x": x])["y"]?.scalars(as: Float.self) == [expected[1], expected[1] + 0.5])
    }

    /// A TF1 reference variable assigned by the signature: the signature's output is the `Assign`'s
    /// reference, read after the assignment, and the next run starts from what this one stored.
    @Test func referenceVariablesAssignedBySignaturesKeepTheirValue() throws {
        let graph = Tensorflow_GraphDef.with {
            $0.node = [
                Self.node("x", "Placeholder", [], ["dtype": Self.floatType()]),
                Self.node("v", "VariableV2", [], ["dtype": Self.floatType(),
                                                  "shape": .with { $0.shape = .with { $0.dim = [.with { $0.size = 1 }, .with { $0.size = 2 }] } }]),
                Self.node("zeros", "Const", [], ["dtype": Self.floatType(), "value": Self.constant([0, 0], [1, 2])]),
                Self.node("init", "Assign", ["v", "zeros"], ["T": Self.floatType()]),
                Self.node("sum", "AddV2", ["v", "x"], ["T": Self.floatType()]),
                Self.node("store", "Assign", ["v", "sum"], ["T": Self.floatType()]),
            ]
        }
        let directory = try Self.write(graph, output: "store:0", mainOp: "init")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let model = try CompiledModel.compile(try SavedModelBundle.load(directory: directory))
        #expect(model.mutableVariableNames == ["v"])
        let signature = try #require(model.signatures["serving_default"])
        let x = Tensor([Float(1), 2], shape: [1, 2])
        #expect(try signature.run(["x": x])["y"]?.scalars(as: Float.self) == [1, 2])
        #expect(try signature.run(["x": x])["y"]?.scalars(as: Float.self) == [2, 4])
    }
}
