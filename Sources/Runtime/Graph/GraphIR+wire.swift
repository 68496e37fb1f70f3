import Foundation
import SavedModel
import SwiftProtobuf
import Tensors
import TFProtos

/// Reads a serialized GraphDef straight into the runtime's graph, without building the generated
/// message types first (for a Keras export that halves the time of a load's decoding). Field numbers are
/// those of `tensorflow/core/framework/{graph,function,node_def,attr_value,op_def,tensor_shape}.proto`;
/// fields the runtime does not read are skipped. Tensor-valued attributes go through `TensorProto`.
enum GraphWireDecoder {
    static func graph(_ bytes: [UInt8]) throws(ServingError) -> IRGraph {
        try bytes.withUnsafeBytes { buffer in
            Result { () throws(ServingError) -> IRGraph in try graph(buffer) }
        }.get()
    }

    private static func graph(_ buffer: UnsafeRawBufferPointer) throws(ServingError) -> IRGraph {
        var reader = ProtoWireReader(buffer)
        var nodes: [IRNode] = []
        var functions: [IRFunction] = []
        while let field = try reader.nextField() {
            switch field.number {
            case 1:
                try reader.expect(field, .lengthDelimited)
                var message = try reader.message()
                nodes.append(try node(&message))
            case 2:
                try reader.expect(field, .lengthDelimited)
                var library = try reader.message()
                while let entry = try library.nextField() {
                    guard entry.number == 1 else {
                        try library.skip(entry.wireType)
                        continue
                    }
                    try library.expect(entry, .lengthDelimited)
                    var message = try library.message()
                    functions.append(try function(&message))
                }
            default:
                try reader.skip(field.wireType)
            }
        }
        return IRGraph(nodes: nodes, functions: functions)
    }

    /// `NodeDef`: name 1, op 2, input 3, attr 5.
    static func node(_ reader: inout ProtoWireReader) throws(ServingError) -> IRNode {
        var node = IRNode(name: "", op: "")
        while let field = try reader.nextField() {
            switch field.number {
            case 1:
                try reader.expect(field, .lengthDelimited)
                node.name = try reader.string()
            case 2:
                try reader.expect(field, .lengthDelimited)
                node.op = try reader.string()
            case 3:
                try reader.expect(field, .lengthDelimited)
                node.inputs.append(try reader.string())
            case 5:
                try reader.expect(field, .lengthDelimited)
                var entry = try reader.message()
                let (key, value) = try attrEntry(&entry)
                node.attrs[key] = value
            default:
                try reader.skip(field.wireType)
            }
        }
        return node
    }

    /// `FunctionDef`: signature 1 (an `OpDef`), node_def 3, ret 4, control_ret 6.
    static func function(_ reader: inout ProtoWireReader) throws(ServingError) -> IRFunction {
        var function = IRFunction(name: "", inputArgs: [], outputArgs: [], nodes: [:], ret: [:], controlRet: [:])
        while let field = try reader.nextField() {
            switch field.number {
            case 1:
                try reader.expect(field, .lengthDelimited)
                var signature = try reader.message()
                try opSignature(&signature, into: &function)
            case 3:
                try reader.expect(field, .lengthDelimited)
                var message = try reader.message()
                let node = try node(&message)
                function.nodes[node.name] = node
            case 4, 6:
                try reader.expect(field, .lengthDelimited)
                var entry = try reader.message()
                let (key, value) = try stringEntry(&entry)
                if field.number == 4 { function.ret[key] = value } else { function.controlRet[key] = value }
            default:
                try reader.skip(field.wireType)
            }
        }
        return function
    }

    /// `OpDef`: name 1, input_arg 2 and output_arg 3 (each an `ArgDef` whose name is field 1).
    private static func opSignature(_ reader: inout ProtoWireReader, into function: inout IRFunction) throws(ServingError) {
        while let field = try reader.nextField() {
            switch field.number {
            case 1:
                try reader.expect(field, .lengthDelimited)
                function.name = try reader.string()
            case 2, 3:
                try reader.expect(field, .lengthDelimited)
                var argument = try reader.message()
                let name = try firstString(&argument)
                if field.number == 2 { function.inputArgs.append(name) } else { function.outputArgs.append(name) }
            default:
                try reader.skip(field.wireType)
            }
        }
    }

    /// Field 1 of a message as a string (an `ArgDef`'s or a `NameAttrList`'s name); "" when absent.
    private static func firstString(_ reader: inout ProtoWireReader) throws(ServingError) -> String {
        var result = ""
        while let field = try reader.nextField() {
            if field.number == 1 {
                try reader.expect(field, .lengthDelimited)
                result = try reader.string()
            } else {
                try reader.skip(field.wireType)
            }
        }
        return result
    }

    /// A `map<string, string>` entry.
    private static func stringEntry(_ reader: inout ProtoWireReader) throws(ServingError) -> (String, String) {
        try mapEntry(&reader, empty: "") { (value: inout ProtoWireReader) throws(ServingError) in try value.string() }
    }

    /// A `map<string, AttrValue>` entry. A missing value is an empty `AttrValue`.
    private static func attrEntry(_ reader: inout ProtoWireReader) throws(ServingError) -> (String, NodeAttr) {
        try mapEntry(&reader, empty: NodeAttr.list([])) { (value: inout ProtoWireReader) throws(ServingError) in
            var message = try value.message()
            return try attr(&message)
        }
    }

    /// A map entry with a string key (field 1) and a length-delimited value (field 2) that `readValue`
    /// reads; `empty` when the value is absent.
    private static func mapEntry<Value>(
        _ reader: inout ProtoWireReader, empty: Value,
        readValue: (inout ProtoWireReader) throws(ServingError) -> Value
    ) throws(ServingError) -> (String, Value) {
        var key = ""
        var value = empty
        while let field = try reader.nextField() {
            switch field.number {
            case 1:
                try reader.expect(field, .lengthDelimited)
                key = try reader.string()
            case 2:
                try reader.expect(field, .lengthDelimited)
                value = try readValue(&reader)
            default:
                try reader.skip(field.wireType)
            }
        }
        return (key, value)
    }

    /// `AttrValue`, a oneof: list 1, s 2, i 3, f 4, b 5, type 6, shape 7, tensor 8, placeholder 9, func 10.
    /// As in protobuf, the last member present wins; none present is an empty list.
    static func attr(_ reader: inout ProtoWireReader) throws(ServingError) -> NodeAttr {
        var value = NodeAttr.list([])
        while let field = try reader.nextField() {
            switch field.number {
            case 1:
                try reader.expect(field, .lengthDelimited)
                var message = try reader.message()
                value = .list(try list(&message))
            case 2:
                try reader.expect(field, .lengthDelimited)
                value = .string(try reader.byteArray())
            case 3:
                try reader.expect(field, .varint)
                value = .int(Int64(bitPattern: try reader.varint()))
            case 4:
                try reader.expect(field, .fixed32)
                value = .float(Float(bitPattern: try reader.fixed32()))
            case 5:
                try reader.expect(field, .varint)
                value = .bool(try reader.varint() != 0)
            case 6:
                try reader.expect(field, .varint)
                value = .type(dataType(try reader.varint()))
            case 7:
                try reader.expect(field, .lengthDelimited)
                var message = try reader.message()
                value = .shape(try shape(&message))
            case 8:
                try reader.expect(field, .lengthDelimited)
                value = .tensor(tensor(try reader.lengthDelimited()))
            case 9:
                try reader.expect(field, .lengthDelimited)
                value = .placeholder(try reader.string())
            case 10:
                try reader.expect(field, .lengthDelimited)
                var message = try reader.message()
                value = .function(try firstString(&message))
            default:
                try reader.skip(field.wireType)
            }
        }
        return value
    }

    /// `AttrValue.ListValue`: s 2, i 3, f 4, b 5, type 6, shape 7, tensor 8, func 9. A list holds one kind;
    /// should a file hold several, the first non-empty kind in that order is kept.
    private static func list(_ reader: inout ProtoWireReader) throws(ServingError) -> [NodeAttr] {
        var strings: [NodeAttr] = []
        var ints: [NodeAttr] = []
        var floats: [NodeAttr] = []
        var bools: [NodeAttr] = []
        var types: [NodeAttr] = []
        var shapes: [NodeAttr] = []
        var tensors: [NodeAttr] = []
        var functions: [NodeAttr] = []
        while let field = try reader.nextField() {
            switch field.number {
            case 2:
                try reader.expect(field, .lengthDelimited)
                strings.append(.string(try reader.byteArray()))
            case 3:
                try reader.repeatedVarint(field.wireType) { ints.append(.int(Int64(bitPattern: $0))) }
            case 4:
                try reader.repeatedFixed32(field.wireType) { floats.append(.float(Float(bitPattern: $0))) }
            case 5:
                try reader.repeatedVarint(field.wireType) { bools.append(.bool($0 != 0)) }
            case 6:
                try reader.repeatedVarint(field.wireType) { types.append(.type(dataType($0))) }
            case 7:
                try reader.expect(field, .lengthDelimited)
                var message = try reader.message()
                shapes.append(.shape(try shape(&message)))
            case 8:
                try reader.expect(field, .lengthDelimited)
                tensors.append(.tensor(tensor(try reader.lengthDelimited())))
            case 9:
                try reader.expect(field, .lengthDelimited)
                var message = try reader.message()
                functions.append(.function(try firstString(&message)))
            default:
                try reader.skip(field.wireType)
            }
        }
        for kind in [strings, ints, floats, bools, types, shapes, functions, tensors] where !kind.isEmpty {
            return kind
        }
        return []
    }

    /// `TensorShapeProto`: dim 2 (size 1 of each), unknown_rank 3. Nil dims: unknown rank.
    private static func shape(_ reader: inout ProtoWireReader) throws(ServingError) -> [Int]? {
        var dims: [Int] = []
        var unknownRank = false
        while let field = try reader.nextField() {
            switch field.number {
            case 2:
                try reader.expect(field, .lengthDelimited)
                var dim = try reader.message()
                var size = 0
                while let inner = try dim.nextField() {
                    if inner.number == 1 {
                        try dim.expect(inner, .varint)
                        size = Int(truncatingIfNeeded: Int64(bitPattern: try dim.varint()))
                    } else {
                        try dim.skip(inner.wireType)
                    }
                }
                dims.append(size)
            case 3:
                try reader.expect(field, .varint)
                unknownRank = try reader.varint() != 0
            default:
                try reader.skip(field.wireType)
            }
        }
        return unknownRank ? nil : dims
    }

    /// An enum value as protobuf reads it: the low 32 bits, sign-extended.
    private static func dataType(_ raw: UInt64) -> Int {
        Int(Int32(truncatingIfNeeded: raw))
    }

    private static func tensor(_ bytes: UnsafeRawBufferPointer) -> Result<Tensor, ServingError> {
        do {
            // The decoder copies every field it keeps, so the view of the graph's bytes does not outlive them.
            let view = bytes.baseAddress.map {
                Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: $0), count: bytes.count, deallocator: .none)
            } ?? Data()
            let proto = try Tensorflow_TensorProto(serializedBytes: view)
            do throws(ServingError) {
                return .success(try Tensor(proto: proto))
            } catch {
                return .failure(error)
            }
        } catch {
            return .failure(.dataLoss("tensor attribute is not a valid TensorProto: \(error)"))
        }
    }
}
