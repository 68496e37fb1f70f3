import Tensors

/// Reads protocol-buffer wire format one field at a time, for messages too large or too hot to go
/// through the generated types (a GraphDef and its function library). Every read is bounds-checked;
/// damage is `.dataLoss` naming the byte offset, counted from the start of the outermost buffer.
public struct ProtoWireReader {
    /// The wire types a reader understands; groups (3 and 4) are obsolete and refused.
    public enum WireType: UInt8, Sendable {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case fixed32 = 5
    }

    /// One field's key.
    public struct Field: Sendable {
        public let number: Int
        public let wireType: WireType
    }

    /// The message's bytes; its owner keeps them alive while the reader is used.
    public let bytes: UnsafeRawBufferPointer
    /// Offset of `bytes` in the outermost buffer, for error messages.
    public let base: Int
    /// Offset of the next byte to read, within `bytes`.
    public private(set) var offset: Int = 0

    public init(_ bytes: UnsafeRawBufferPointer, base: Int = 0) {
        self.bytes = bytes
        self.base = base
    }

    public var isAtEnd: Bool { offset >= bytes.count }

    /// The next field's key, or nil at the end of the message.
    public mutating func nextField() throws(ServingError) -> Field? {
        guard !isAtEnd else { return nil }
        let start = offset
        let key = try varint()
        let number = Int(key >> 3)
        guard number > 0, number <= 0x1FFF_FFFF else { throw malformed(at: start, "field number \(number)") }
        guard let wireType = WireType(rawValue: UInt8(key & 7)) else {
            throw malformed(at: start, "wire type \(key & 7) of field \(number)")
        }
        return Field(number: number, wireType: wireType)
    }

    public mutating func varint() throws(ServingError) -> UInt64 {
        var cursor = ByteCursor(bytes, offset: offset)
        guard let value = cursor.readVarint64() else {
            throw malformed(at: offset, "varint runs past the end or over 10 bytes")
        }
        offset = cursor.offset
        return value
    }

    public mutating func fixed32() throws(ServingError) -> UInt32 {
        guard bytes.count - offset >= 4 else { throw malformed(at: offset, "fixed32 runs past the end") }
        let value = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
        offset += 4
        return value
    }

    /// A length-delimited field's payload, as a reader of its own.
    public mutating func message() throws(ServingError) -> ProtoWireReader {
        let payload = try lengthDelimited()
        return ProtoWireReader(payload, base: base + offset - payload.count)
    }

    /// A length-delimited field's payload.
    public mutating func lengthDelimited() throws(ServingError) -> UnsafeRawBufferPointer {
        let start = offset
        let length = try varint()
        guard length <= UInt64(bytes.count - offset) else {
            throw malformed(at: start, "length \(length) runs past the end (\(bytes.count - offset) bytes left)")
        }
        let payload = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + Int(length))])
        offset += Int(length)
        return payload
    }

    /// A string field; invalid UTF-8 is replaced rather than refused.
    public mutating func string() throws(ServingError) -> String {
        String(decoding: try lengthDelimited(), as: UTF8.self)
    }

    public mutating func byteArray() throws(ServingError) -> [UInt8] {
        [UInt8](try lengthDelimited())
    }

    /// Passes over the value of a field of `wireType`.
    public mutating func skip(_ wireType: WireType) throws(ServingError) {
        switch wireType {
        case .varint: _ = try varint()
        case .fixed32: try advance(4)
        case .fixed64: try advance(8)
        case .lengthDelimited: _ = try lengthDelimited()
        }
    }

    /// Calls `body` for each element of a repeated varint field, packed or not.
    public mutating func repeatedVarint(_ wireType: WireType, _ body: (UInt64) -> Void) throws(ServingError) {
        switch wireType {
        case .varint:
            body(try varint())
        case .lengthDelimited:
            var packed = try message()
            while !packed.isAtEnd { body(try packed.varint()) }
        default:
            throw malformed(at: offset, "a repeated varint field has wire type \(wireType.rawValue)")
        }
    }

    /// Calls `body` for each element of a repeated fixed32 field, packed or not.
    public mutating func repeatedFixed32(_ wireType: WireType, _ body: (UInt32) -> Void) throws(ServingError) {
        switch wireType {
        case .fixed32:
            body(try fixed32())
        case .lengthDelimited:
            var packed = try message()
            while !packed.isAtEnd { body(try packed.fixed32()) }
        default:
            throw malformed(at: offset, "a repeated fixed32 field has wire type \(wireType.rawValue)")
        }
    }

    /// Checks that a field has the wire type its schema gives it.
    public func expect(_ field: Field, _ wireType: WireType) throws(ServingError) {
        guard field.wireType == wireType else {
            throw malformed(at: offset, "field \(field.number) has wire type \(field.wireType.rawValue), expected \(wireType.rawValue)")
        }
    }

    private mutating func advance(_ count: Int) throws(ServingError) {
        guard bytes.count - offset >= count else { throw malformed(at: offset, "\(count)-byte value runs past the end") }
        offset += count
    }

    public func malformed(at position: Int, _ problem: String) -> ServingError {
        .dataLoss("malformed protobuf at byte \(base + position): \(problem)")
    }
}
