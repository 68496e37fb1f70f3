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

    @Test func aVersionWithoutTheFileHasNoRecords() throws {
        #expect(try WarmupRecords.read(versionDirectory: NSTemporaryDirectory() + "/no-such-version-\(UUID())").isEmpty)
    }
}
