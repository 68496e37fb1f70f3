/// Appends protobuf wire-format fields to a byte array. A nested message is written as its field
/// header (`lengthDelimited`) followed by its fields, so callers compute each nested size first
/// (`ProtobufWireSize`); nothing is written twice and nothing is built as an intermediate message.
struct ProtobufWireWriter {
    private(set) var bytes: [UInt8]

    init(capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    mutating func varint(_ value: UInt64) {
        var remaining = value
        while remaining >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: remaining) | 0x80)
            remaining >>= 7
        }
        bytes.append(UInt8(truncatingIfNeeded: remaining))
    }

    mutating func varintField(_ field: Int, _ value: UInt64) {
        varint(UInt64(field) << 3)
        varint(value)
    }

    /// The header of a length-delimited field (bytes, string or nested message) of `length` bytes.
    mutating func lengthDelimited(_ field: Int, length: Int) {
        varint(UInt64(field) << 3 | 2)
        varint(UInt64(length))
    }

    mutating func bytesField(_ field: Int, _ raw: UnsafeRawBufferPointer) {
        lengthDelimited(field, length: raw.count)
        bytes.append(contentsOf: raw)
    }

    mutating func bytesField(_ field: Int, _ raw: [UInt8]) {
        lengthDelimited(field, length: raw.count)
        bytes.append(contentsOf: raw)
    }

    mutating func stringField(_ field: Int, _ text: String) {
        lengthDelimited(field, length: text.utf8.count)
        bytes.append(contentsOf: text.utf8)
    }
}

/// Encoded sizes, for the length prefixes of nested messages.
enum ProtobufWireSize {
    static func varint(_ value: UInt64) -> Int {
        (64 - value.leadingZeroBitCount + 6) / 7 + (value == 0 ? 1 : 0)
    }

    static func varintField(_ field: Int, _ value: UInt64) -> Int {
        varint(UInt64(field) << 3) + varint(value)
    }

    /// A whole length-delimited field: header and `length` bytes of content.
    static func lengthDelimited(_ field: Int, length: Int) -> Int {
        varint(UInt64(field) << 3 | 2) + varint(UInt64(length)) + length
    }
}
