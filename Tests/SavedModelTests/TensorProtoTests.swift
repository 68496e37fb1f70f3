import Foundation
import SavedModel
import TFProtos
import Testing
import Tensors

@Suite struct TensorProtoTests {
    static func proto(_ dtype: Tensorflow_DataType, _ dims: [Int]) -> Tensorflow_TensorProto {
        var proto = Tensorflow_TensorProto()
        proto.dtype = dtype
        proto.tensorShape = Tensorflow_TensorShapeProto(Shape(dims))
        return proto
    }

    @Test func fixedSizeTensorsRoundTripThroughTensorContent() throws {
        let tensors: [Tensor] = [
            Tensor([Float(1.5), -2, 0, .infinity, 3.25, 1e-30], shape: [2, 3]),
            Tensor([Double.pi, -1], shape: [2]),
            Tensor([Int32.min, 0, Int32.max], shape: [3]),
            Tensor([Int64.min, 7, Int64.max], shape: [3, 1]),
            Tensor([Int8(-128), 127], shape: [2]),
            Tensor([UInt8(0), 255], shape: [2]),
            Tensor([Int16(-300), 300], shape: [2]),
            Tensor([UInt16(65535)], shape: [1]),
            Tensor([UInt32.max], shape: [1]),
            Tensor([UInt64.max, 0], shape: [2]),
            Tensor([true, false, true], shape: [3]),
            Tensor(scalar: Float(42)),
        ]
        for tensor in tensors {
            let proto = Tensorflow_TensorProto(tensor)
            #expect(proto.tensorContent.count == tensor.elementCount * tensor.dtype.byteSize)
            CheckpointReaderTests.expectEqual(try Tensor(proto: proto), tensor)
        }
    }

    @Test func stringsRoundTripThroughStringVal() throws {
        let tensor = Tensor(strings: [Array("a".utf8), [], [0xFF, 0x00]], shape: [3, 1])
        let proto = Tensorflow_TensorProto(tensor)
        #expect(proto.dtype == .dtString)
        #expect(proto.stringVal.count == 3)
        CheckpointReaderTests.expectEqual(try Tensor(proto: proto), tensor)
    }

    @Test func zeroElementTensors() throws {
        let empty = Tensor(zeros: .float32, shape: [0, 4])
        let proto = Tensorflow_TensorProto(empty)
        #expect(proto.tensorContent.isEmpty)
        let decoded = try Tensor(proto: proto)
        #expect(decoded.shape == [0, 4])
        #expect(decoded.dtype == .float32)
        let strings = try Tensor(proto: Self.proto(.dtString, [2, 0]))
        #expect(strings.strings == [])
    }

    @Test func lastValueRepeats() throws {
        var floats = Self.proto(.dtFloat, [2, 3])
        floats.floatVal = [7]
        #expect(try Tensor(proto: floats).scalars(as: Float.self) == [7, 7, 7, 7, 7, 7])
        floats.floatVal = [1, 2]
        #expect(try Tensor(proto: floats).scalars(as: Float.self) == [1, 2, 2, 2, 2, 2])

        var longs = Self.proto(.dtInt64, [3])
        longs.int64Val = [-9]
        #expect(try Tensor(proto: longs).scalars(as: Int64.self) == [-9, -9, -9])

        var strings = Self.proto(.dtString, [3])
        strings.stringVal = [Data("x".utf8), Data("y".utf8)]
        #expect(try Tensor(proto: strings).strings == [Array("x".utf8), Array("y".utf8), Array("y".utf8)])

        var noValues = Self.proto(.dtInt32, [4])
        noValues.intVal = []
        #expect(try Tensor(proto: noValues).scalars(as: Int32.self) == [0, 0, 0, 0])
    }

    @Test func typedValueFields() throws {
        var scalar = Self.proto(.dtDouble, [])
        scalar.doubleVal = [2.5]
        #expect(try Tensor(proto: scalar).scalars(as: Double.self) == [2.5])

        var int8 = Self.proto(.dtInt8, [3])
        int8.intVal = [-1, 127, 255]
        #expect(try Tensor(proto: int8).scalars(as: Int8.self) == [-1, 127, -1])

        var uint8 = Self.proto(.dtUint8, [2])
        uint8.intVal = [200, 3]
        #expect(try Tensor(proto: uint8).scalars(as: UInt8.self) == [200, 3])

        var int16 = Self.proto(.dtInt16, [1])
        int16.intVal = [-30000]
        #expect(try Tensor(proto: int16).scalars(as: Int16.self) == [-30000])

        var uint16 = Self.proto(.dtUint16, [1])
        uint16.intVal = [60000]
        #expect(try Tensor(proto: uint16).scalars(as: UInt16.self) == [60000])

        var uint32 = Self.proto(.dtUint32, [2])
        uint32.uint32Val = [UInt32.max, 1]
        #expect(try Tensor(proto: uint32).scalars(as: UInt32.self) == [UInt32.max, 1])

        var uint64 = Self.proto(.dtUint64, [1])
        uint64.uint64Val = [UInt64.max]
        #expect(try Tensor(proto: uint64).scalars(as: UInt64.self) == [UInt64.max])

        var bools = Self.proto(.dtBool, [3])
        bools.boolVal = [false, true]
        #expect(try Tensor(proto: bools).scalars(as: Bool.self) == [false, true, true])
    }

    @Test func halfAndBfloat16KeepTheirDtypeAndBits() throws {
        for dtype in [Tensorflow_DataType.dtHalf, .dtBfloat16] {
            var proto = Self.proto(dtype, [3])
            proto.halfVal = [0x3C00, 0xC000]
            let tensor = try Tensor(proto: proto)
            #expect(tensor.dtype == (dtype == .dtHalf ? .float16 : .bfloat16))
            let bits = try #require(tensor.buffer).typed(UInt16.self, count: 3)
            #expect(Array(bits) == [0x3C00, 0xC000, 0xC000])
        }
    }

    @Test func complexValuesArePairsAndTheLastPairRepeats() throws {
        var proto = Self.proto(.dtComplex64, [3])
        proto.scomplexVal = [1, -2, 3, 4]
        let tensor = try Tensor(proto: proto)
        #expect(tensor.dtype == .complex64)
        let parts = try #require(tensor.buffer).typed(Float.self, count: 6)
        #expect(Array(parts) == [1, -2, 3, 4, 3, 4])
        proto.scomplexVal = [1, -2, 3]
        #expect(throws: ServingError.self) { try Tensor(proto: proto) }
        let encoded = Tensorflow_TensorProto(try Tensor(proto: Self.proto(.dtComplex64, [2])))
        #expect(encoded.dtype == .dtComplex64)
        #expect(encoded.tensorContent.count == 16)
    }

    @Test func badProtosAreRejected() throws {
        var tooMany = Self.proto(.dtFloat, [2])
        tooMany.floatVal = [1, 2, 3]
        let manyError = try #require(throws: ServingError.self) { try Tensor(proto: tooMany) }
        #expect(manyError.code == .invalidArgument)

        var wrongContent = Self.proto(.dtFloat, [2])
        wrongContent.tensorContent = Data([1, 2, 3])
        let contentError = try #require(throws: ServingError.self) { try Tensor(proto: wrongContent) }
        #expect(contentError.code == .invalidArgument)
        #expect(contentError.message.contains("3 bytes"))

        var unknownRank = Self.proto(.dtFloat, [])
        unknownRank.tensorShape.unknownRank = true
        #expect(throws: ServingError.self) { try Tensor(proto: unknownRank) }

        let negative = Self.proto(.dtFloat, [-1, 2])
        #expect(throws: ServingError.self) { try Tensor(proto: negative) }

        let huge = Self.proto(.dtFloat, [Int(Int64.max / 2), 4])
        #expect(throws: ServingError.self) { try Tensor(proto: huge) }

        var filledHuge = Self.proto(.dtFloat, [1 << 20, 1 << 20])
        filledHuge.floatVal = [1]
        let fillError = try #require(throws: ServingError.self) { try Tensor(proto: filledHuge) }
        #expect(fillError.message.contains("too large"))
        var filledHugeStrings = Self.proto(.dtString, [1 << 20, 1 << 20])
        filledHugeStrings.stringVal = [Data("x".utf8)]
        #expect(throws: ServingError.self) { try Tensor(proto: filledHugeStrings) }

        let resource = Self.proto(.dtResource, [])
        #expect(throws: ServingError.self) { try Tensor(proto: resource) }

        let invalid = Self.proto(.dtInvalid, [1])
        #expect(throws: ServingError.self) { try Tensor(proto: invalid) }
    }

    @Test func shapeSpecFromProto() {
        var shape = Tensorflow_TensorShapeProto(Shape([2, 3]))
        shape.dim[0].size = -1
        #expect(ShapeSpec(proto: shape).dims == [-1, 3])
        var unknown = Tensorflow_TensorShapeProto()
        unknown.unknownRank = true
        #expect(ShapeSpec(proto: unknown).dims == nil)
        #expect(ShapeSpec(proto: Tensorflow_TensorShapeProto()).dims == [])
    }

    /// With the default caps a float32 tensor may use every element the element cap allows, and a
    /// float64 one of the same shape is refused for its bytes; strings have no byte cap here.
    @Test func requestSizeChecksElementsAndBytes() throws {
        let cap = RequestMemory.defaultMaxTensorElements
        #expect(RequestMemory.maxTensorBytes == RequestMemory.defaultMaxTensorBytes)
        try Tensor.checkRequestSize(of: Self.proto(.dtFloat, [cap / 1024, 1024]))
        try Tensor.checkRequestSize(of: Self.proto(.dtString, [cap / 1024, 1024]))
        #expect(throws: ServingError(.resourceExhausted,
            "a DT_DOUBLE[\(cap / 1024), 1024] tensor would hold \(cap * 8) bytes, more than the limit of \(1 << 30) (--max_tensor_bytes)")) {
            try Tensor.checkRequestSize(of: Self.proto(.dtDouble, [cap / 1024, 1024]))
        }
        #expect(throws: ServingError.self) { try Tensor.checkRequestSize(of: Self.proto(.dtFloat, [cap, 2])) }
        #expect(throws: ServingError.self) { try Tensor.checkRequestSize(of: Self.proto(.dtFloat, [1000]), elementLimit: 999) }
    }
}
