import Foundation
import SwiftProtobuf
import TFProtos
import Tensors

/// TF Serving's warmup requests: `<version>/assets.extra/tf_serving_warmup_requests`, a TFRecord file
/// (per record: length as u64 LE, masked CRC32C of those 8 bytes, the data, masked CRC32C of the data)
/// whose records are serialized `PredictionLog` protos.
public enum WarmupRecords {
    public static let relativePath = "assets.extra/tf_serving_warmup_requests"
    /// TF Serving refuses files with more records than this.
    public static let maximumRecords = 1000
    /// Largest warmup file read.
    public static let maximumFileBytes = 1 << 30

    /// The logs in `versionDirectory`'s warmup file, or none when it has no such file.
    public static func read(versionDirectory: String) throws(ServingError) -> [Tensorflow_Serving_PredictionLog] {
        let path = versionDirectory + "/" + relativePath
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let bytes: [UInt8]
        do throws(ServingError) {
            bytes = try ModelFile(path: path).readAll(limit: maximumFileBytes)
        } catch {
            throw .failedPrecondition("warmup file \(path) cannot be read: \(error.message)")
        }
        return try parse(bytes, path: path)
    }

    /// The records of a TFRecord file's bytes, decoded as `PredictionLog`s.
    public static func parse(_ bytes: [UInt8], path: String) throws(ServingError) -> [Tensorflow_Serving_PredictionLog] {
        var logs: [Tensorflow_Serving_PredictionLog] = []
        var offset = 0
        while offset < bytes.count {
            let number = logs.count + 1
            guard number <= maximumRecords else {
                throw .invalidArgument("warmup file \(path) has more than \(maximumRecords) records")
            }
            guard bytes.count - offset >= 12 else {
                throw .dataLoss("warmup file \(path): record \(number) at offset \(offset) is truncated: \(bytes.count - offset) bytes left, a record header takes 12")
            }
            let lengthBytes = bytes[offset..<(offset + 8)]
            guard CRC32C.checksum(lengthBytes) == CRC32C.unmask(word(bytes, offset + 8)) else {
                throw .dataLoss("warmup file \(path): record \(number) at offset \(offset): the length's checksum does not match")
            }
            let length = lengthBytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let start = offset + 12
            guard length <= UInt64(bytes.count - start), bytes.count - start - Int(length) >= 4 else {
                throw .dataLoss("warmup file \(path): record \(number) at offset \(offset) declares \(length) bytes, more than the file holds")
            }
            let end = start + Int(length)
            let record = bytes[start..<end]
            guard CRC32C.checksum(record) == CRC32C.unmask(word(bytes, end)) else {
                throw .dataLoss("warmup file \(path): record \(number) at offset \(offset): the data's checksum does not match")
            }
            do {
                logs.append(try Tensorflow_Serving_PredictionLog(serializedBytes: Array(record)))
            } catch {
                throw .dataLoss("warmup file \(path): record \(number) at offset \(offset) is not a PredictionLog: \(error)")
            }
            offset = end + 4
        }
        return logs
    }

    /// The inputs of a warmup predict request as tensors. Each shape is checked against `limit` elements
    /// (`--max_tensor_elements`, and its bytes against `--max_tensor_bytes`) before its tensor is built, as for a request that arrives over gRPC: a
    /// TensorProto with a shape and no values expands to zeros, so a few bytes of the file could
    /// otherwise make loading allocate gigabytes.
    public static func inputs(
        of request: Tensorflow_Serving_PredictRequest, limit: Int = RequestMemory.maxTensorElements
    ) throws(ServingError) -> [String: Tensor] {
        var inputs: [String: Tensor] = [:]
        for (name, proto) in request.inputs {
            do throws(ServingError) {
                try Tensor.checkRequestSize(of: proto, elementLimit: limit)
                inputs[name] = try Tensor(proto: proto)
            } catch {
                throw ServingError(error.code, "input '\(name)': \(error.message)")
            }
        }
        return inputs
    }

    /// `logs` framed as a TFRecord file.
    public static func file(_ logs: [Tensorflow_Serving_PredictionLog]) throws -> [UInt8] {
        var bytes: [UInt8] = []
        for log in logs {
            let record: [UInt8] = try log.serializedBytes()
            let length = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(record.count) >> (8 * $0)) }
            bytes += length + littleEndian(CRC32C.mask(CRC32C.checksum(length))) + record
                + littleEndian(CRC32C.mask(CRC32C.checksum(record)))
        }
        return bytes
    }

    private static func word(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
    }

    private static func littleEndian(_ value: UInt32) -> [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }
}
