import NIOCore

/// Writes JSON text straight into a `ByteBuffer` (responses, and the server's JSON log lines). Commas are placed automatically: a value or key
/// written after a completed value at the same level is preceded by one.
public struct JSONWriter {
    public var buffer: ByteBuffer
    private var needsComma = false

    public init(capacity: Int = 256) {
        buffer = ByteBufferAllocator().buffer(capacity: capacity)
    }

    private mutating func separate() {
        if needsComma { buffer.writeInteger(UInt8(ascii: ",")) }
    }

    public mutating func beginObject() {
        separate()
        buffer.writeInteger(UInt8(ascii: "{"))
        needsComma = false
    }

    public mutating func endObject() {
        buffer.writeInteger(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func beginArray() {
        separate()
        buffer.writeInteger(UInt8(ascii: "["))
        needsComma = false
    }

    public mutating func endArray() {
        buffer.writeInteger(UInt8(ascii: "]"))
        needsComma = true
    }

    public mutating func key(_ name: String) {
        separate()
        writeQuoted(name)
        buffer.writeInteger(UInt8(ascii: ":"))
        needsComma = false
    }

    public mutating func string(_ value: String) {
        separate()
        writeQuoted(value)
        needsComma = true
    }

    /// A string from raw bytes the caller knows to be valid UTF-8.
    public mutating func string<Bytes: Collection>(utf8 bytes: Bytes) where Bytes.Element == UInt8 {
        separate()
        writeQuoted(bytes)
        needsComma = true
    }

    /// `{"b64": "<base64 of bytes>"}`.
    public mutating func base64Object<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        separate()
        buffer.writeStaticString("{\"b64\":\"")
        Base64.encode(bytes, into: &buffer)
        buffer.writeStaticString("\"}")
        needsComma = true
    }

    public mutating func bool(_ value: Bool) {
        separate()
        if value { buffer.writeStaticString("true") } else { buffer.writeStaticString("false") }
        needsComma = true
    }

    public mutating func null() {
        separate()
        buffer.writeStaticString("null")
        needsComma = true
    }

    public mutating func int(_ value: Int64) {
        separate()
        if value < 0 {
            buffer.writeInteger(UInt8(ascii: "-"))
            writeDigits(value.magnitude)
        } else {
            writeDigits(UInt64(value))
        }
        needsComma = true
    }

    public mutating func uint(_ value: UInt64) {
        separate()
        writeDigits(value)
        needsComma = true
    }

    /// Shortest text that reads back as the same `Float`; NaN and infinities bare, as TF Serving writes them.
    public mutating func float(_ value: Float) {
        separate()
        if value.isFinite {
            buffer.writeString(value.description)
        } else {
            writeNonFinite(isNaN: value.isNaN, isNegative: value < 0)
        }
        needsComma = true
    }

    /// Shortest text that reads back as the same `Double`; NaN and infinities bare.
    public mutating func double(_ value: Double) {
        separate()
        if value.isFinite {
            buffer.writeString(value.description)
        } else {
            writeNonFinite(isNaN: value.isNaN, isNegative: value < 0)
        }
        needsComma = true
    }

    private mutating func writeNonFinite(isNaN: Bool, isNegative: Bool) {
        if isNaN {
            buffer.writeStaticString("NaN")
        } else if isNegative {
            buffer.writeStaticString("-Infinity")
        } else {
            buffer.writeStaticString("Infinity")
        }
    }

    private mutating func writeDigits(_ value: UInt64) {
        if value < 10 {
            buffer.writeInteger(UInt8(truncatingIfNeeded: value) &+ UInt8(ascii: "0"))
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { scratch in
            var index = 20
            var remaining = value
            while remaining > 0 {
                index -= 1
                scratch[index] = UInt8(truncatingIfNeeded: remaining % 10) &+ UInt8(ascii: "0")
                remaining /= 10
            }
            buffer.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: scratch[index..<20])))
        }
    }

    private static let hexDigits: StaticString = "0123456789abcdef"

    private mutating func writeQuoted(_ text: String) {
        var text = text
        text.withUTF8 { writeQuoted(contiguous: $0) }
    }

    private mutating func writeQuoted<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        if bytes.withContiguousStorageIfAvailable({ writeQuoted(contiguous: $0) }) != nil { return }
        let copy = Array(bytes)
        copy.withUnsafeBufferPointer { writeQuoted(contiguous: $0) }
    }

    /// Copies runs that need no escape in one write each.
    private mutating func writeQuoted(contiguous bytes: UnsafeBufferPointer<UInt8>) {
        buffer.reserveCapacity(minimumWritableBytes: bytes.count + 2)
        buffer.writeInteger(UInt8(ascii: "\""))
        var runStart = 0
        for index in 0..<bytes.count {
            let byte = bytes[index]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            if index > runStart { buffer.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[runStart..<index]))) }
            writeEscaped(byte)
            runStart = index + 1
        }
        if bytes.count > runStart { buffer.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[runStart...]))) }
        buffer.writeInteger(UInt8(ascii: "\""))
    }

    private mutating func writeEscaped(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
        case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
        case 0x0A: buffer.writeStaticString("\\n")
        case 0x0D: buffer.writeStaticString("\\r")
        case 0x09: buffer.writeStaticString("\\t")
        case 0x08: buffer.writeStaticString("\\b")
        case 0x0C: buffer.writeStaticString("\\f")
        default:
            buffer.writeStaticString("\\u00")
            Self.hexDigits.withUTF8Buffer { hex in
                buffer.writeInteger(hex[Int(byte >> 4)])
                buffer.writeInteger(hex[Int(byte & 0xF)])
            }
        }
    }
}
