#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SwiftProtobuf
import TFProtos
import Tensors

/// Reads a TensorBundle checkpoint (`<prefix>.index` plus `<prefix>.data-NNNNN-of-NNNNN` shards),
/// the format `variables/variables` of a SavedModel is written in. The index is parsed once; data
/// shards stay open for the reader's lifetime and each tensor is read straight into its storage on request.
public final class CheckpointReader: Sendable {
    /// What the index says about one stored tensor.
    struct Entry: Sendable {
        var key: String
        var dtypeValue: Int
        var dtype: DType?
        var shape: Shape
        var shard: Int
        var offset: Int
        var size: Int
        var maskedChecksum: UInt32
        var isSliced: Bool
    }

    public let prefix: String
    public let keys: [String]
    private let entries: [String: Entry]
    private let shards: [ModelFile]

    /// Largest `variables.index` read.
    public static let maximumIndexBytes = 1 << 30

    /// Opens `<prefix>.index` and every data shard it announces.
    public init(prefix: String) throws(ServingError) {
        self.prefix = prefix
        let index = try Self.readIndex(prefix: prefix)
        let shardCount = index.shardCount
        let keys = index.keys, entries = index.entries
        var shards: [ModelFile] = []
        for shard in 0..<shardCount {
            let path = Self.shardPath(prefix: prefix, shard: shard, count: shardCount)
            do throws(ServingError) {
                shards.append(try ModelFile(path: path))
            } catch {
                throw .dataLoss("checkpoint \(prefix) is missing data shard \(shard) of \(shardCount): \(error.message)")
            }
        }
        self.keys = keys
        self.entries = entries
        self.shards = shards
    }

    /// The index of `<prefix>`: its entries by key, the keys in stored order, and the shard count.
    static func readIndex(prefix: String) throws(ServingError) -> (entries: [String: Entry], keys: [String], shardCount: Int) {
        let indexPath = prefix + ".index"
        let indexBytes = try ModelFile(path: indexPath).readAll(limit: Self.maximumIndexBytes)
        let table = indexBytes.withUnsafeBytes { bytes -> Result<[TableReader.Entry], ServingError> in
            do throws(ServingError) {
                return .success(try TableReader(path: indexPath, bytes: bytes).entries())
            } catch {
                return .failure(error)
            }
        }
        let rows = try table.get()
        guard let first = rows.first, first.key.isEmpty else {
            throw .dataLoss("checkpoint index \(indexPath) does not start with the bundle header entry (empty key)")
        }
        let header: Tensorflow_BundleHeaderProto
        do {
            header = try Tensorflow_BundleHeaderProto(serializedBytes: first.value)
        } catch {
            throw .dataLoss("checkpoint index \(indexPath) has an unreadable bundle header: \(error)")
        }
        guard header.endianness == .little else {
            throw .unimplemented("checkpoint \(indexPath) is big-endian; only little-endian checkpoints are supported")
        }
        guard header.numShards >= 0 else {
            throw .dataLoss("checkpoint index \(indexPath) announces \(header.numShards) data shards")
        }
        let shardCount = Int(header.numShards)

        var entries: [String: Entry] = [:]
        var keys: [String] = []
        keys.reserveCapacity(rows.count - 1)
        for row in rows.dropFirst() {
            let key = String(decoding: row.key, as: UTF8.self)
            let proto: Tensorflow_BundleEntryProto
            do {
                proto = try Tensorflow_BundleEntryProto(serializedBytes: row.value)
            } catch {
                throw .dataLoss("checkpoint index \(indexPath) has an unreadable entry for '\(key)': \(error)")
            }
            let entry = try Self.entry(key: key, proto: proto, shardCount: shardCount, indexPath: indexPath)
            entries[key] = entry
            keys.append(key)
        }
        return (entries, keys, shardCount)
    }

    /// The data shards `<prefix>.index` names that are missing or shorter than its entries need,
    /// as (file name, bytes present or nil when absent, bytes needed); empty when all are in place.
    public static func incompleteShards(prefix: String) throws(ServingError) -> [(name: String, present: Int?, needed: Int)] {
        let index = try readIndex(prefix: prefix)
        var needed = [Int](repeating: 0, count: index.shardCount)
        for entry in index.entries.values where entry.shard < needed.count {
            needed[entry.shard] = max(needed[entry.shard], entry.offset + entry.size)
        }
        var incomplete: [(name: String, present: Int?, needed: Int)] = []
        for (shard, bytes) in needed.enumerated() {
            let path = shardPath(prefix: prefix, shard: shard, count: index.shardCount)
            let name = path.split(separator: "/").last.map(String.init) ?? path
            var info = stat()
            if stat(path, &info) != 0 {
                incomplete.append((name, nil, bytes))
            } else if (info.st_mode & S_IFMT) == S_IFREG, Int(info.st_size) < bytes {
                incomplete.append((name, Int(info.st_size), bytes))
            }
        }
        return incomplete
    }

    /// `<prefix>.data-00000-of-00001` style shard file name.
    public static func shardPath(prefix: String, shard: Int, count: Int) -> String {
        "\(prefix).data-\(fiveDigits(shard))-of-\(fiveDigits(count))"
    }

    private static func fiveDigits(_ value: Int) -> String {
        let digits = String(value)
        return digits.count >= 5 ? digits : String(repeating: "0", count: 5 - digits.count) + digits
    }

    private static func entry(
        key: String, proto: Tensorflow_BundleEntryProto, shardCount: Int, indexPath: String
    ) throws(ServingError) -> Entry {
        var dims: [Int] = []
        for dim in proto.shape.dim {
            guard dim.size >= 0 else {
                throw .dataLoss("checkpoint index \(indexPath) gives '\(key)' an unknown dimension (\(dim.size))")
            }
            dims.append(Int(dim.size))
        }
        guard Shape(dims).checkedByteCount(of: DType(tensorFlowValue: proto.dtype.rawValue) ?? .uint8) != nil else {
            throw .dataLoss("checkpoint index \(indexPath) gives '\(key)' a shape whose size overflows: \(Shape(dims))")
        }
        guard proto.offset >= 0, proto.size >= 0 else {
            throw .dataLoss("checkpoint index \(indexPath) gives '\(key)' a negative offset or size")
        }
        guard proto.slices.isEmpty else {
            return Entry(key: key, dtypeValue: proto.dtype.rawValue, dtype: DType(tensorFlowValue: proto.dtype.rawValue),
                         shape: Shape(dims), shard: Int(proto.shardID), offset: Int(proto.offset), size: Int(proto.size),
                         maskedChecksum: proto.crc32C, isSliced: true)
        }
        guard proto.shardID >= 0, Int(proto.shardID) < shardCount else {
            throw .dataLoss("checkpoint index \(indexPath) puts '\(key)' in shard \(proto.shardID), but there are \(shardCount) shards")
        }
        return Entry(key: key, dtypeValue: proto.dtype.rawValue, dtype: DType(tensorFlowValue: proto.dtype.rawValue),
                     shape: Shape(dims), shard: Int(proto.shardID), offset: Int(proto.offset), size: Int(proto.size),
                     maskedChecksum: proto.crc32C, isSliced: false)
    }

    /// The dtype and shape stored for `key`, or nil when the checkpoint has no such tensor.
    public func entry(forKey key: String) -> (dtype: DType, shape: Shape)? {
        guard let entry = entries[key], let dtype = entry.dtype else { return nil }
        return (dtype, entry.shape)
    }

    /// The dtype and shape of the tensor stored under `key`, checked as `tensor(forKey:)` checks them before
    /// reading: present, not partitioned, of a supported dtype, and within its shard at the size its shape needs.
    public func storedTensor(forKey key: String) throws(ServingError) -> (dtype: DType, shape: Shape) {
        let entry = try readableEntry(forKey: key)
        return (try storedType(entry), entry.shape)
    }

    private func readableEntry(forKey key: String) throws(ServingError) -> Entry {
        guard let entry = entries[key] else {
            throw .notFound("checkpoint \(prefix) has no tensor named '\(key)'")
        }
        guard !entry.isSliced else {
            throw .unimplemented("checkpoint \(prefix) stores '\(key)' as a partitioned (sliced) variable, which is not supported")
        }
        let dtype = try storedType(entry)
        let shard = shards[entry.shard]
        guard entry.offset <= shard.size, entry.size <= shard.size - entry.offset else {
            throw .dataLoss(
                "checkpoint data file \(shard.path) is truncated: '\(key)' needs bytes \(entry.offset)..<\(entry.offset + entry.size), the file has \(shard.size)")
        }
        if dtype != .string {
            let expected = entry.shape.elementCount * dtype.byteSize
            guard entry.size == expected else {
                throw .dataLoss(
                    "checkpoint data file \(shard.path): '\(key)' (\(dtype)\(entry.shape)) occupies \(entry.size) bytes at offset \(entry.offset), expected \(expected)")
            }
        }
        return entry
    }

    private func storedType(_ entry: Entry) throws(ServingError) -> DType {
        guard let dtype = entry.dtype, dtype != .resource, dtype != .variant else {
            throw .unimplemented("checkpoint \(prefix) stores '\(entry.key)' with unsupported dtype \(entry.dtypeValue)")
        }
        return dtype
    }

    /// Reads the tensor stored under `key` from its shard and verifies its checksum.
    public func tensor(forKey key: String) throws(ServingError) -> Tensor {
        let entry = try readableEntry(forKey: key)
        let dtype = try storedType(entry)
        let shard = shards[entry.shard]
        let buffer = TensorBuffer(uninitializedByteCount: entry.size)
        let bytes = UnsafeRawBufferPointer(buffer.rawBuffer)
        try shard.read(into: buffer.rawBuffer, at: entry.offset)
        if dtype == .string {
            return try decodeStrings(bytes, entry: entry, path: shard.path)
        }
        let actual = CRC32C.checksum(bytes)
        guard actual == CRC32C.unmask(entry.maskedChecksum) else {
            throw checksumMismatch(entry: entry, path: shard.path, actual: actual)
        }
        return Tensor(dtype: dtype, shape: entry.shape, storage: .buffer(buffer))
    }

    private func checksumMismatch(entry: Entry, path: String, actual: UInt32) -> ServingError {
        .dataLoss(
            "checkpoint data file \(path): checksum mismatch for '\(entry.key)' at offset \(entry.offset) (\(entry.size) bytes): expected 0x\(String(CRC32C.unmask(entry.maskedChecksum), radix: 16)), computed 0x\(String(actual, radix: 16))")
    }

    /// DT_STRING layout: a varint64 length per element, a masked CRC32C of the lengths (each fed as
    /// a little-endian uint32, or uint64 when it does not fit), then the bytes of every element.
    /// The entry checksum runs over the lengths, the stored length checksum and the bytes.
    private func decodeStrings(_ bytes: UnsafeRawBufferPointer, entry: Entry, path: String) throws(ServingError) -> Tensor {
        let count = entry.shape.checkedElementCount ?? 0
        var cursor = ByteCursor(bytes)
        var lengths: [Int] = []
        lengths.reserveCapacity(min(count, bytes.count))
        var crc: UInt32 = 0
        for index in 0..<count {
            guard let length = cursor.readVarint64() else {
                throw .dataLoss(
                    "checkpoint data file \(path): string tensor '\(entry.key)' is cut short in the length of element \(index) (entry offset \(entry.offset), \(entry.size) bytes)")
            }
            if length <= UInt64(UInt32.max) {
                var little = UInt32(length).littleEndian
                crc = withUnsafeBytes(of: &little) { CRC32C.update(crc, $0) }
            } else {
                var little = length.littleEndian
                crc = withUnsafeBytes(of: &little) { CRC32C.update(crc, $0) }
            }
            guard length <= UInt64(bytes.count) else {
                throw .dataLoss(
                    "checkpoint data file \(path): string tensor '\(entry.key)' element \(index) claims \(length) bytes, more than the entry's \(entry.size)")
            }
            lengths.append(Int(length))
        }
        guard let storedLengthChecksum = cursor.readFixed32() else {
            throw .dataLoss(
                "checkpoint data file \(path): string tensor '\(entry.key)' is cut short before its length checksum (entry offset \(entry.offset))")
        }
        guard CRC32C.unmask(storedLengthChecksum) == crc else {
            throw .dataLoss(
                "checkpoint data file \(path): length checksum mismatch for string tensor '\(entry.key)' at offset \(entry.offset)")
        }
        var little = storedLengthChecksum.littleEndian
        crc = withUnsafeBytes(of: &little) { CRC32C.update(crc, $0) }
        var strings: [[UInt8]] = []
        strings.reserveCapacity(count)
        for (index, length) in lengths.enumerated() {
            guard let element = cursor.readBytes(length) else {
                throw .dataLoss(
                    "checkpoint data file \(path): string tensor '\(entry.key)' element \(index) needs \(length) bytes, only \(cursor.remaining) remain in the entry")
            }
            crc = CRC32C.update(crc, element)
            strings.append(Array(element))
        }
        guard cursor.isAtEnd else {
            throw .dataLoss(
                "checkpoint data file \(path): string tensor '\(entry.key)' has \(cursor.remaining) unexpected trailing bytes")
        }
        guard crc == CRC32C.unmask(entry.maskedChecksum) else {
            throw checksumMismatch(entry: entry, path: path, actual: crc)
        }
        return Tensor(strings: strings, shape: entry.shape)
    }
}
