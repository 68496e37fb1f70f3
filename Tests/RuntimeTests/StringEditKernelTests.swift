import Foundation
@testable import Runtime
import Tensors
import Testing

/// StringFormat, Substr and StringToNumber against outputs TensorFlow 2.21 printed for the same calls.
@Suite struct StringEditKernelTests {
    private func kernel(_ op: String, _ attrs: [String: NodeAttr]) throws -> any Kernel {
        let definition = try #require(OpDefTable.definition(op))
        let factory = try #require(definition.makeKernel)
        return try factory(AttrReader(attrs: attrs, defaults: definition.defaults, location: "node 'test'"))
    }

    private func format(_ template: String, _ inputs: [Tensor]) throws -> String {
        let formatter = try kernel("StringFormat", ["template": .string(Array(template.utf8)), "placeholder": .string(Array("{}".utf8))])
        let output = try formatter.run(inputs)[0]
        return String(decoding: try #require(output.strings?.first), as: UTF8.self)
    }

    @Test func stringFormatPrintsTensorsAsTensorFlowSummarizesThem() throws {
        #expect(try format("a{}b", [Tensor([Float(1.5), 2, 3, 4], shape: [2, 2])]) == "a[[1.5 2]\n [3 4]]b")
        #expect(try format("{} {}", [Tensor((0..<10).map { Int32($0) }, shape: [10]), Tensor([Float(0.1)], shape: .scalar)])
                == "[0 1 2 ... 7 8 9] 0.1")
        #expect(try format("{}", [Tensor(strings: [Array("x".utf8), Array("y".utf8)], shape: [2])]) == "[\"x\" \"y\"]")
        #expect(try format("{}", [Tensor([Float(1e-7), 123456789], shape: [2])]) == "[1e-07 123456792]")
        #expect(throws: ServingError.self) { try format("{} {}", [Tensor([Float(1)], shape: .scalar)]) }
    }

    @Test func substrCountsBytesOrCharactersAndRejectsPositionsPastTheEnd() throws {
        let text = Tensor(strings: [Array("café au lait".utf8)], shape: [1])
        let bytes = try kernel("Substr", [:]).run([text, Tensor([Int32(2)], shape: .scalar), Tensor([Int32(3)], shape: .scalar)])[0]
        #expect(bytes.strings == [Array("fé".utf8)])
        let characters = try kernel("Substr", ["unit": .string(Array("UTF8_CHAR".utf8))])
            .run([text, Tensor([Int32(-4)], shape: .scalar), Tensor([Int32(10)], shape: .scalar)])[0]
        #expect(characters.strings == [Array("lait".utf8)])
        #expect(throws: ServingError.self) {
            try kernel("Substr", [:]).run([text, Tensor([Int32(40)], shape: .scalar), Tensor([Int32(1)], shape: .scalar)])
        }
    }

    @Test func stringToNumberNamesTheTextItCannotRead() throws {
        let numbers = Tensor(strings: [Array("-7.5".utf8), Array("inf".utf8)], shape: [2])
        let parsed = try kernel("StringToNumber", [:]).run([numbers])[0]
        #expect(parsed.scalars(as: Float.self) == [-7.5, .infinity])
        let error = #expect(throws: ServingError.self) {
            try kernel("StringToNumber", ["out_type": .type(Int(DType.int64.rawValue))]).run([numbers])
        }
        #expect(error?.message.contains("-7.5") == true)
    }
}
