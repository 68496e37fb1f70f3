import NIOCore
import NIOHTTP1

/// The header fields of a `ServerRequest`, kept in the form the transport received them in so a
/// request does not pay for a `String` per field: most requests are routed on one or two fields.
/// `first(_:)` decodes only the value asked for; `list` builds every field.
enum RequestHeaderFields: Sendable {
    /// Fields given by the caller (tests, other layers); names are lowercase.
    case list([HeaderField])
    /// An HTTP/1.1 head as NIO parsed it; names keep the client's case.
    case http1(HTTPHeaders)
    /// HTTP/2 fields packed by the session handler; names are lowercase.
    case packed(PackedHeaderFields)

    var list: [HeaderField] {
        switch self {
        case .list(let fields):
            return fields
        case .http1(let headers):
            return headers.map { HeaderField(lowercasedHeaderName($0.name), $0.value) }
        case .packed(let packed):
            return packed.list
        }
    }

    /// The first value of field `name`, compared without regard to ASCII case.
    func first(_ name: String) -> String? {
        switch self {
        case .list(let fields):
            var name = name
            return name.withUTF8 { query in fields.first { asciiCaseInsensitiveEqual($0.name, query) }?.value }
        case .http1(let headers):
            return headers.first(name: name)
        case .packed(let packed):
            var name = name
            return name.withUTF8 { packed.first($0) }
        }
    }
}

/// Header fields packed into one buffer as `[name length: UInt32][value length: UInt32][name][value]`
/// entries, in arrival order: one allocation per request however many fields it has. The buffer is
/// written once, when made, and only read afterwards, so copies may be used on any thread.
struct PackedHeaderFields: @unchecked Sendable {
    private let storage: PackedFieldBytes?

    /// Fields already packed (by `PackedHeaderFieldsBuilder`).
    init(copying packed: UnsafeRawBufferPointer) {
        guard let source = packed.baseAddress, packed.count > 0 else {
            storage = nil
            return
        }
        let buffer = PackedFieldBytes.create(minimumCapacity: packed.count) { _ in packed.count }
        buffer.withUnsafeMutablePointerToElements {
            UnsafeMutableRawPointer($0).copyMemory(from: source, byteCount: packed.count)
        }
        storage = unsafeDowncast(buffer, to: PackedFieldBytes.self)
    }

    /// Calls `body` with each field's name and value bytes until it returns `false`.
    @inline(__always)
    func forEach(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool) {
        storage?.withUnsafeMutablePointers { count, elements in
            let base = UnsafeRawPointer(elements)
            var offset = 0
            while offset + 8 <= count.pointee {
                let nameCount = Int(base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
                let valueCount = Int(base.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
                let name = UnsafeRawBufferPointer(start: base + offset + 8, count: nameCount)
                let value = UnsafeRawBufferPointer(start: base + offset + 8 + nameCount, count: valueCount)
                offset += 8 + nameCount + valueCount
                if !body(name, value) { return }
            }
        }
    }

    func first(_ query: UnsafeBufferPointer<UInt8>) -> String? {
        var found: String?
        forEach { name, value in
            guard asciiCaseInsensitiveEqual(name, UnsafeRawBufferPointer(query)) else { return true }
            found = String(decoding: value, as: UTF8.self)
            return false
        }
        return found
    }

    var list: [HeaderField] {
        var fields: [HeaderField] = []
        forEach { name, value in
            fields.append(HeaderField(String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
            return true
        }
        return fields
    }
}

@inline(__always)
private func asciiLowercased(_ byte: UInt8) -> UInt8 {
    byte &- 0x41 < 26 ? byte | 0x20 : byte
}

private func asciiCaseInsensitiveEqual(_ left: UnsafeRawBufferPointer, _ right: UnsafeRawBufferPointer) -> Bool {
    guard left.count == right.count else { return false }
    for index in 0..<left.count where asciiLowercased(left[index]) != asciiLowercased(right[index]) {
        return false
    }
    return true
}

private func asciiCaseInsensitiveEqual(_ name: String, _ query: UnsafeBufferPointer<UInt8>) -> Bool {
    guard name.utf8.count == query.count else { return false }
    var name = name
    return name.withUTF8 { asciiCaseInsensitiveEqual(UnsafeRawBufferPointer($0), UnsafeRawBufferPointer(query)) }
}

/// The bytes of a `PackedHeaderFields`: a byte count and the bytes, in one allocation.
final class PackedFieldBytes: ManagedBuffer<Int, UInt8> {}

/// Packs header fields as they arrive, in storage kept from one request to the next, so a request
/// costs one allocation (the `PackedHeaderFields` it hands over) however many fields it has.
struct PackedHeaderFieldsBuilder: ~Copyable {
    private static let initialCapacity = 256
    /// Storage above this size is given back when the fields are taken.
    private static let retainedCapacity = 8 << 10

    private var bytes: UnsafeMutableRawPointer
    private var capacity: Int
    private var count = 0

    init() {
        capacity = Self.initialCapacity
        bytes = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
    }

    deinit {
        bytes.deallocate()
    }

    var isEmpty: Bool { count == 0 }

    /// Appends a field; returns where its entry lies, for `remove(entry:)`.
    @inline(__always)
    @discardableResult
    mutating func append(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) -> Range<Int> {
        let start = count
        let end = start + 8 + name.count + value.count
        if end > capacity {
            grow(to: end)
        }
        bytes.storeBytes(of: UInt32(truncatingIfNeeded: name.count), toByteOffset: start, as: UInt32.self)
        bytes.storeBytes(of: UInt32(truncatingIfNeeded: value.count), toByteOffset: start + 4, as: UInt32.self)
        if let source = name.baseAddress {
            (bytes + start + 8).copyMemory(from: source, byteCount: name.count)
        }
        if let source = value.baseAddress {
            (bytes + start + 8 + name.count).copyMemory(from: source, byteCount: value.count)
        }
        count = end
        return start..<end
    }

    mutating func remove(entry: Range<Int>) {
        (bytes + entry.lowerBound).copyMemory(from: bytes + entry.upperBound, byteCount: count - entry.upperBound)
        count -= entry.count
    }

    mutating func removeAll() {
        count = 0
    }

    /// Hands the fields over and starts empty.
    mutating func take() -> PackedHeaderFields {
        let fields = PackedHeaderFields(copying: UnsafeRawBufferPointer(start: bytes, count: count))
        count = 0
        if capacity > Self.retainedCapacity {
            bytes.deallocate()
            capacity = Self.initialCapacity
            bytes = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
        }
        return fields
    }

    private mutating func grow(to needed: Int) {
        let newCapacity = max(needed, 2 * capacity)
        let newBytes = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 8)
        newBytes.copyMemory(from: bytes, byteCount: count)
        bytes.deallocate()
        bytes = newBytes
        capacity = newCapacity
    }
}

/// `name` with ASCII capitals lowered; returns `name` itself when it has none.
func lowercasedHeaderName(_ name: String) -> String {
    for byte in name.utf8 where byte &- 0x41 < 26 {
        return name.lowercased()
    }
    return name
}
