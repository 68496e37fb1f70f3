import API
import SavedModel
import TFProtos

/// A version's `assets.extra/tf_serving_warmup_requests` file: its TFRecord framing, each record as a
/// `PredictionLog`, and the requests decoded as the warmup replays them (predict inputs as tensors,
/// within an element limit; classify, regress and multi-inference inputs as serialized examples).
///
/// The first input byte is a selector: when even, the rest is the file as is; when odd, the rest is
/// walked as TFRecord framing and its checksums are rewritten to match (a length past the end is cut
/// to what is left), so mutations reach the records' contents instead of stopping at a checksum.
enum WarmupFileFuzz {
    /// `--max_tensor_elements` for the run: small enough that a tensor within it stays far below the
    /// fuzzer's memory limit.
    static let maxTensorElements = 1 << 20

    static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let selector = bytes.first else { return }
        var file = Array(bytes.dropFirst())
        if selector & 1 == 1 {
            repairChecksums(&file)
        }
        guard let logs = try? WarmupRecords.parse(file, path: "fuzz") else { return }
        for log in logs {
            switch log.logType {
            case .predictLog(let entry)?:
                _ = try? WarmupRecords.inputs(of: entry.request, limit: maxTensorElements)
            case .classifyLog(let entry)?:
                _ = try? entry.request.input.serializedExamples()
            case .regressLog(let entry)?:
                _ = try? entry.request.input.serializedExamples()
            case .multiInferenceLog(let entry)?:
                _ = try? entry.request.input.serializedExamples()
            default:
                break
            }
        }
    }

    /// Rewrites each record's length (cut to the bytes left) and both masked CRC32Cs in place.
    static func repairChecksums(_ file: inout [UInt8]) {
        var offset = 0
        while file.count - offset >= 16 {
            let available = UInt64(file.count - offset - 16)
            let declared = file[offset..<(offset + 8)].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let length = min(declared, available)
            for index in 0..<8 {
                file[offset + index] = UInt8(truncatingIfNeeded: length >> (8 * UInt64(index)))
            }
            store(CRC32C.mask(CRC32C.checksum(file[offset..<(offset + 8)])), in: &file, at: offset + 8)
            let start = offset + 12
            let end = start + Int(length)
            store(CRC32C.mask(CRC32C.checksum(file[start..<end])), in: &file, at: end)
            offset = end + 4
        }
    }

    private static func store(_ word: UInt32, in file: inout [UInt8], at offset: Int) {
        for index in 0..<4 {
            file[offset + index] = UInt8(truncatingIfNeeded: word >> (8 * UInt32(index)))
        }
    }
}
