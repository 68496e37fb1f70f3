import CNGHTTP2

/// Builds the `nghttp2_nv` array for an outgoing header block in temporary storage.
/// nghttp2 copies names and values on submit, so the storage only has to outlive the call.
/// `:status` and `content-length` are written as digits straight into that storage.
enum NGHTTP2HeaderBlock {
    /// Hop-by-hop fields HTTP/2 forbids, plus `content-length`, which the transport sets itself.
    static func isExcluded(_ name: String) -> Bool {
        switch name.utf8.count {
        case 7: return name == "upgrade"
        case 10: return name == "connection" || name == "keep-alive"
        case 14: return name == "content-length"
        case 16: return name == "proxy-connection"
        case 17: return name == "transfer-encoding"
        default: return false
        }
    }

    /// Fields whose value differs in every response: HPACK would add each one to the connection's
    /// dynamic table (evicting fields worth keeping, and lengthening nghttp2's lookup chains for that
    /// name with entries never used again), so they are sent as literals that are never indexed.
    static func isUniquePerResponse(_ name: String) -> Bool {
        name.utf8.count == 12 && name == "x-request-id"
    }

    private static let statusName: StaticString = ":status"
    private static let contentLengthName: StaticString = "content-length"
    /// Room for the decimal digits of any `Int`.
    private static let numberBytes = 20

    static func withHeaderBlock<R>(
        status: Int?,
        fields: [HeaderField],
        contentLength: Int?,
        _ body: (UnsafePointer<nghttp2_nv>, Int) -> R
    ) -> R {
        var byteCount = 2 * numberBytes
        var fieldCount = 2
        for field in fields {
            byteCount += field.name.utf8.count + field.value.utf8.count
            fieldCount += 1
        }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: byteCount) { bytes in
            withUnsafeTemporaryAllocation(of: nghttp2_nv.self, capacity: fieldCount) { nva in
                let base = bytes.baseAddress.unsafelyUnwrapped
                var offset = 0
                var index = 0
                @inline(__always)
                func append(
                    name: UnsafePointer<UInt8>, nameLength: Int, value: UnsafePointer<UInt8>, valueLength: Int,
                    indexed: Bool = true
                ) {
                    nva[index] = nghttp2_nv(
                        name: UnsafeMutablePointer(mutating: name),
                        value: UnsafeMutablePointer(mutating: value),
                        namelen: nameLength,
                        valuelen: valueLength,
                        flags: UInt8(indexed ? NGHTTP2_NV_FLAG_NONE.rawValue : NGHTTP2_NV_FLAG_NO_INDEX.rawValue)
                    )
                    index += 1
                }
                @inline(__always)
                func appendNumber(name: StaticString, _ number: Int) {
                    let start = base + offset
                    let length = writeDecimal(number, to: start)
                    offset += length
                    append(name: name.utf8Start, nameLength: name.utf8CodeUnitCount, value: start, valueLength: length)
                }
                @inline(__always)
                func copy(_ text: String, lowercase: Bool) -> (UnsafePointer<UInt8>, Int) {
                    let start = base + offset
                    let count = text.utf8.withContiguousStorageIfAvailable { utf8 in
                        if let source = utf8.baseAddress {
                            start.update(from: source, count: utf8.count)
                        }
                        return utf8.count
                    } ?? slowCopy(text, to: start)
                    if lowercase {
                        for index in 0..<count where start[index] &- 0x41 < 26 {
                            start[index] |= 0x20
                        }
                    }
                    offset += count
                    return (UnsafePointer(start), count)
                }

                if let status { appendNumber(name: statusName, status) }
                for field in fields where !isExcluded(field.name) {
                    let (name, nameLength) = copy(field.name, lowercase: true)
                    let (value, valueLength) = copy(field.value, lowercase: false)
                    append(name: name, nameLength: nameLength, value: value, valueLength: valueLength,
                           indexed: !isUniquePerResponse(field.name))
                }
                if let contentLength { appendNumber(name: contentLengthName, contentLength) }
                return body(UnsafePointer(nva.baseAddress.unsafelyUnwrapped), index)
            }
        }
    }

    /// Writes `value` in decimal (with a leading `-` when negative); returns the byte count.
    @inline(__always)
    static func writeDecimal(_ value: Int, to start: UnsafeMutablePointer<UInt8>) -> Int {
        var magnitude = value.magnitude
        var digits = 0
        repeat {
            digits += 1
            magnitude /= 10
        } while magnitude > 0
        let sign = value < 0 ? 1 : 0
        if sign == 1 { start[0] = UInt8(ascii: "-") }
        magnitude = value.magnitude
        var position = sign + digits
        repeat {
            position -= 1
            start[position] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude % 10)
            magnitude /= 10
        } while magnitude > 0
        return sign + digits
    }

    private static func slowCopy(_ text: String, to start: UnsafeMutablePointer<UInt8>) -> Int {
        var count = 0
        for byte in text.utf8 {
            start[count] = byte
            count += 1
        }
        return count
    }
}
