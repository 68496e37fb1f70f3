import Foundation
import SavedModel
import TFProtos
import Tensors
import Testing

/// The TFRecord framing of TF Serving's warmup file: round trip, and every kind of damage reported.
@Suite struct WarmupRecordsTests {
    private static func logs() -> [Tensorflow_Serving_PredictionLog] {
        var predict = Tensorflow_Serving_PredictionLog()
        predict.predictLog.request.modelSpec.name = "m"
        var input = Tensorflow_TensorProto()
        input.dtype = .dtFloat
        input.floatVal = [1, 2, 3]
        predict.predictLog.request.inputs["x"] = input
        var regress = Tensorflow_Serving_PredictionLog()
        regress.regressLog.request.modelSpec.signatureName = "regress"
        var example = Tensorflow_Example()
        example.features.feature["a"] = Tensorflow_Feature()
        regress.regressLog.request.input.exampleList.examples = [example]
        return [predict, regress]
    }

    @Test func recordsRoundTrip() throws {
        let bytes = try WarmupRecords.file(Self.logs())
        #expect(try WarmupRecords.parse(bytes, path: "w") == Self.logs())
        #expect(try WarmupRecords.parse([], path: "w").isEmpty)
    }

    @Test func everyTruncationInsideARecordAndEveryFlippedByteIsDataLoss() throws {
        let bytes = try WarmupRecords.file(Self.logs())
        let first = try WarmupRecords.file([Self.logs()[0]]).count
        for length in 1..<bytes.count where length != first {
            #expect(throws: ServingError.self, "first \(length) bytes") { _ = try WarmupRecords.parse(Array(bytes[..<length]), path: "w") }
            do { _ = try WarmupRecords.parse(Array(bytes[..<length]), path: "w") } catch { #expect(error.code == .dataLoss) }
        }
        #expect(try WarmupRecords.parse(Array(bytes[..<first]), path: "w").count == 1)
        for index in bytes.indices {
            var damaged = bytes
            damaged[index] ^= 0x10
            do {
                _ = try WarmupRecords.parse(damaged, path: "w")
                Issue.record("byte \(index) flipped was accepted")
            } catch {
                #expect(error.code == .dataLoss)
                #expect(error.message.hasPrefix("warmup file w: record "))
            }
        }
    }

    @Test func moreThanAThousandRecordsAreRefused() throws {
        let one = try WarmupRecords.file([Self.logs()[1]])
        let many = Array((0..<1001).map { _ in one }.joined())
        #expect(throws: ServingError.self) { _ = try WarmupRecords.parse(many, path: "w") }
        #expect(try WarmupRecords.parse(Array((0..<1000).map { _ in one }.joined()), path: "w").count == 1000)
    }

    /// The tfrecord_warmup fuzz target's out-of-memory input: one predict log whose input is a [2^28]
    /// DT_DOUBLE with no values, which the warmup used to expand into 2 GiB of zeros.
    static let twoGiBOfDoubles: [UInt8] = [
        0x1c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc8, 0xc1, 0x95, 0x1d, 0x32, 0x1a, 0x0a, 0x18,
        0x0a, 0x03, 0x0a, 0x01, 0x6d, 0x12, 0x11, 0x0a, 0x01, 0x78, 0x12, 0x0c, 0x08, 0x02, 0x12, 0x08,
        0x12, 0x06, 0x08, 0x80, 0x80, 0x80, 0x80, 0x01, 0x7c, 0x14, 0x9b, 0x98,
    ]

    @Test func predictInputsPastTheElementLimitAreRefusedBeforeTheyAreBuilt() throws {
        let request = try #require(try WarmupRecords.parse(Self.twoGiBOfDoubles, path: "w").first).predictLog.request
        #expect(request.inputs["x"]?.tensorShape.dim.map(\.size) == [1 << 28])
        do {
            _ = try WarmupRecords.inputs(of: request, limit: 1 << 20)
            Issue.record("a [2^28] input was built under a limit of 2^20 elements")
        } catch {
            #expect(error.code == .resourceExhausted)
            #expect(error.message.hasPrefix("input 'x': a [268435456] tensor would have 268435456 elements"), "\(error.message)")
        }

        var wider = request
        wider.inputs["x"]?.tensorShape.dim[0].size = 1 << 29
        #expect(throws: ServingError.self) { _ = try WarmupRecords.inputs(of: wider) }

        var small = request
        small.inputs["x"]?.tensorShape.dim[0].size = 4
        small.inputs["x"]?.doubleVal = [1, 2]
        let inputs = try WarmupRecords.inputs(of: small, limit: 4)
        #expect(inputs["x"]?.shape == [4])
        #expect(inputs["x"]?.dtype == .float64)
    }

    @Test func aVersionWithoutTheFileHasNoRecords() throws {
        #expect(try WarmupRecords.read(versionDirectory: NSTemporaryDirectory() + "/no-such-version-\(UUID())").isEmpty)
    }
}
