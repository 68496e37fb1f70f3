import Tensors

/// A forward-only JSON tokenizer over a byte buffer. It validates syntax as it goes and reports
/// problems as INVALID_ARGUMENT naming the byte offset and what was expected there.
struct JSONScanner {
    let bytes: UnsafeRawBufferPointer
    var position: Int
    private(set) var depth = 0
    let maxDepth: Int

    init(bytes: UnsafeRawBufferPointer, position: Int = 0, depth: Int = 0, maxDepth: Int = 64) {
        self.bytes = bytes
        self.position = position
        self.depth = depth
        self.maxDepth = maxDepth
    }

    var isAtEnd: Bool { position >= bytes.count }

    func malformed(_ problem: String, at offset: Int? = nil) -> ServingError {
        .invalidArgument("Malformed JSON at byte \(offset ?? position): \(problem)")
    }

    /// "expected X", or "unexpected end of input, expected X" when the body ran out.
    func expected(_ what: String) -> ServingError {
        isAtEnd ? malformed("unexpected end of input, expected \(what)") : malformed("expected \(what)")
    }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    /// The next non-whitespace byte, not consumed.
    mutating func peek() -> UInt8? {
        skipWhitespace()
        return position < bytes.count ? bytes[position] : nil
    }

    /// Consumes `byte` if it is the next non-whitespace byte.
    mutating func consume(_ byte: UInt8) -> Bool {
        skipWhitespace()
        if position < bytes.count, bytes[position] == byte {
            position += 1
            return true
        }
        return false
    }

    mutating func expect(_ byte: UInt8) throws(ServingError) {
        guard consume(byte) else { throw expected("'\(Character(Unicode.Scalar(byte)))'") }
    }

    /// Consumes `[` or `{`, counting nesting depth.
    mutating func open(_ byte: UInt8) throws(ServingError) {
        try expect(byte)
        depth += 1
        if depth > maxDepth {
            throw malformed("nesting deeper than \(maxDepth) levels", at: position - 1)
        }
    }

    /// After an array element: true on `,` (another element follows), false on `]`.
    mutating func nextArrayElement() throws(ServingError) -> Bool {
        if consume(UInt8(ascii: ",")) { return true }
        if consume(UInt8(ascii: "]")) {
            depth -= 1
            return false
        }
        throw expected("',' or ']'")
    }

    /// After an object member: true on `,` (another member follows), false on `}`.
    mutating func nextObjectMember() throws(ServingError) -> Bool {
        if consume(UInt8(ascii: ",")) { return true }
        if consume(UInt8(ascii: "}")) {
            depth -= 1
            return false
        }
        throw expected("',' or '}'")
    }

    /// After `[`: true (and closed) when the array is empty.
    mutating func closesEmptyArray() -> Bool {
        if consume(UInt8(ascii: "]")) {
            depth -= 1
            return true
        }
        return false
    }

    /// After `{`: true (and closed) when the object is empty.
    mutating func closesEmptyObject() -> Bool {
        if consume(UInt8(ascii: "}")) {
            depth -= 1
            return true
        }
        return false
    }

    /// An object key and the `:` after it.
    mutating func readKey() throws(ServingError) -> [UInt8] {
        guard peek() == UInt8(ascii: "\"") else { throw expected("a string key") }
        let key = try readString()
        try expect(UInt8(ascii: ":"))
        return key
    }

    // MARK: Strings

    /// A string's decoded UTF-8 bytes; the scanner must be at its opening quote.
    mutating func readString() throws(ServingError) -> [UInt8] {
        var output: [UInt8] = []
        try scanString(into: &output, collect: true)
        return output
    }

    mutating func skipString() throws(ServingError) {
        var unused: [UInt8] = []
        try scanString(into: &unused, collect: false)
    }

    private mutating func scanString(into output: inout [UInt8], collect: Bool) throws(ServingError) {
        try expect(UInt8(ascii: "\""))
        var runStart = position
        while true {
            guard position < bytes.count else {
                throw malformed("unexpected end of input inside a string")
            }
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                if collect { output.append(contentsOf: bytes[runStart..<position]) }
                position += 1
                return
            }
            if byte == UInt8(ascii: "\\") {
                if collect { output.append(contentsOf: bytes[runStart..<position]) }
                try scanEscape(into: &output, collect: collect)
                runStart = position
                continue
            }
            if byte < 0x20 {
                throw malformed("control character 0x\(String(byte, radix: 16)) inside a string must be escaped")
            }
            position += 1
        }
    }

    private mutating func scanEscape(into output: inout [UInt8], collect: Bool) throws(ServingError) {
        let escapeStart = position
        position += 1
        guard position < bytes.count else { throw malformed("unexpected end of input inside a string") }
        let byte = bytes[position]
        position += 1
        let simple: UInt8?
        switch byte {
        case UInt8(ascii: "\""): simple = UInt8(ascii: "\"")
        case UInt8(ascii: "\\"): simple = UInt8(ascii: "\\")
        case UInt8(ascii: "/"): simple = UInt8(ascii: "/")
        case UInt8(ascii: "b"): simple = 0x08
        case UInt8(ascii: "f"): simple = 0x0C
        case UInt8(ascii: "n"): simple = 0x0A
        case UInt8(ascii: "r"): simple = 0x0D
        case UInt8(ascii: "t"): simple = 0x09
        case UInt8(ascii: "u"): simple = nil
        default:
            throw malformed("invalid escape '\\\(Character(Unicode.Scalar(byte)))' in a string", at: escapeStart)
        }
        if let simple {
            if collect { output.append(simple) }
            return
        }
        var scalar = try readHex4(escapeStart: escapeStart)
        if (0xDC00...0xDFFF).contains(scalar) {
            throw malformed("unpaired low surrogate \\u\(String(scalar, radix: 16)) in a string", at: escapeStart)
        }
        if (0xD800...0xDBFF).contains(scalar) {
            guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u")
            else {
                throw malformed("high surrogate \\u\(String(scalar, radix: 16)) must be followed by a \\u low surrogate",
                                at: escapeStart)
            }
            let lowStart = position
            position += 2
            let low = try readHex4(escapeStart: lowStart)
            guard (0xDC00...0xDFFF).contains(low) else {
                throw malformed("high surrogate \\u\(String(scalar, radix: 16)) must be followed by a \\u low surrogate",
                                at: lowStart)
            }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        }
        if collect, let unicode = Unicode.Scalar(scalar) {
            output.append(contentsOf: UTF8.encode(unicode) ?? UTF8.EncodedScalar())
        }
    }

    private mutating func readHex4(escapeStart: Int) throws(ServingError) -> UInt32 {
        guard position + 4 <= bytes.count else {
            throw malformed("\\u escape needs four hex digits", at: escapeStart)
        }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw malformed("\\u escape needs four hex digits", at: escapeStart)
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    // MARK: Literals and numbers

    /// Consumes `word` (`true`, `NaN`, ...) if the input continues with it.
    mutating func consumeWord(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count else { return false }
        let matches = word.withUTF8Buffer { expected in
            for index in 0..<count where bytes[position + index] != expected[index] { return false }
            return true
        }
        if matches { position += count }
        return matches
    }

    /// Reads a number when the next non-whitespace bytes start one (a digit, or `-` and a digit);
    /// nil, consuming nothing but whitespace, when they do not.
    @inline(__always)
    mutating func readNumberIfPresent() throws(ServingError) -> JSONNumber? {
        skipWhitespace()
        guard position < bytes.count else { return nil }
        var first = bytes[position]
        if first == UInt8(ascii: "-") {
            guard position + 1 < bytes.count else { return nil }
            first = bytes[position + 1]
        }
        guard isDigit(first) else { return nil }
        return try readNumber()
    }

    /// A scalar token at the current position: a number, a bare NaN/Infinity, true/false or null.
    mutating func readScalarToken() throws(ServingError) -> JSONScalarToken {
        skipWhitespace()
        guard position < bytes.count else { throw expected("a value") }
        switch bytes[position] {
        case UInt8(ascii: "t"):
            if consumeWord("true") { return .bool(true) }
        case UInt8(ascii: "f"):
            if consumeWord("false") { return .bool(false) }
        case UInt8(ascii: "n"):
            if consumeWord("null") { return .null }
        case UInt8(ascii: "N"):
            if consumeWord("NaN") { return .nan }
        case UInt8(ascii: "I"):
            if consumeWord("Infinity") { return .infinity(negative: false) }
        case UInt8(ascii: "-"):
            if position + 1 < bytes.count, bytes[position + 1] == UInt8(ascii: "I") {
                position += 1
                if consumeWord("Infinity") { return .infinity(negative: true) }
                position -= 1
                break
            }
            return .number(try readNumber())
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try readNumber())
        default:
            break
        }
        throw malformed("expected a value")
    }

    /// A number token in strict JSON grammar.
    /// Reads a number token, validating its syntax, and its decimal value in the same pass: up to 19
    /// significant digits as an integer mantissa and a power of ten (`exact` false when nonzero digits
    /// beyond those were dropped). Leading zeros are not significant; past 19 significant digits the rest
    /// only move the exponent (integer part) or make the reading inexact.
    private mutating func readNumber() throws(ServingError) -> JSONNumber {
        let start = position
        var number = JSONNumber(start: start, end: start)
        if bytes[position] == UInt8(ascii: "-") {
            number.isNegative = true
            position += 1
        }
        guard position < bytes.count, isDigit(bytes[position]) else { throw expected("a digit") }
        var decimal = DecimalDigits()
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
            if position < bytes.count, isDigit(bytes[position]) {
                throw malformed("numbers must not have leading zeros")
            }
        } else {
            readDigits(into: &decimal, inFraction: false)
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            number.isInteger = false
            position += 1
            guard position < bytes.count, isDigit(bytes[position]) else { throw expected("a digit after '.'") }
            readDigits(into: &decimal, inFraction: true)
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            number.isInteger = false
            position += 1
            var exponentNegative = false
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                exponentNegative = bytes[position] == UInt8(ascii: "-")
                position += 1
            }
            guard position < bytes.count, isDigit(bytes[position]) else { throw expected("a digit in the exponent") }
            var written = 0
            while position < bytes.count, isDigit(bytes[position]) {
                written = min(written * 10 + Int(bytes[position] &- UInt8(ascii: "0")), 1_000_000)
                position += 1
            }
            decimal.exponent += exponentNegative ? -written : written
        }
        number.end = position
        number.mantissa = decimal.mantissa
        number.exponent = decimal.exponent
        number.isExact = decimal.exact
        return number
    }

    /// The significant part of a number read so far.
    private struct DecimalDigits {
        var mantissa: UInt64 = 0
        var digits = 0
        var exponent = 0
        var exact = true
    }

    /// Reads a run of digits into `decimal`, eight at a time while they fit in 19 significant digits.
    @inline(__always)
    private mutating func readDigits(into decimal: inout DecimalDigits, inFraction: Bool) {
        while decimal.digits <= 11, let eight = eightDigits(at: position) {
            decimal.digits += decimal.mantissa != 0 ? 8 : Self.decimalDigitCount(eight)
            decimal.mantissa = decimal.mantissa &* 100_000_000 &+ eight
            if inFraction { decimal.exponent -= 8 }
            position += 8
        }
        while position < bytes.count {
            let digit = bytes[position] &- UInt8(ascii: "0")
            guard digit < 10 else { return }
            if decimal.digits < 19 {
                decimal.mantissa = decimal.mantissa &* 10 &+ UInt64(digit)
                if decimal.mantissa != 0 { decimal.digits += 1 }
                if inFraction { decimal.exponent -= 1 }
            } else {
                if digit != 0 { decimal.exact = false }
                if !inFraction { decimal.exponent += 1 }
            }
            position += 1
        }
    }

    /// The value of the eight bytes at `offset` when all are ASCII digits, read as one little-endian
    /// word: each step joins neighbouring groups (digits into pairs, pairs into fours, fours into eight).
    @inline(__always)
    private func eightDigits(at offset: Int) -> UInt64? {
        guard offset + 8 <= bytes.count else { return nil }
        let word = bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self).littleEndian
        let high = word & 0xF0F0_F0F0_F0F0_F0F0
        let carried = (word &+ 0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0
        guard high | (carried >> 4) == 0x3333_3333_3333_3333 else { return nil }
        var value = word & 0x0F0F_0F0F_0F0F_0F0F
        value = (value &* 2561) >> 8
        value = ((value & 0x00FF_00FF_00FF_00FF) &* 6_553_601) >> 16
        return ((value & 0x0000_FFFF_0000_FFFF) &* 42_949_672_960_001) >> 32
    }

    /// Digits of `value` without leading zeros (0 for 0).
    @inline(__always)
    private static func decimalDigitCount(_ value: UInt64) -> Int {
        var count = 0
        var remaining = value
        while remaining > 0 {
            count += 1
            remaining /= 10
        }
        return count
    }

    @inline(__always)
    private func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }

    /// Skips one value of any kind, validating its syntax.
    mutating func skipValue() throws(ServingError) {
        switch peek() {
        case UInt8(ascii: "\""):
            try skipString()
        case UInt8(ascii: "["):
            try open(UInt8(ascii: "["))
            if closesEmptyArray() { return }
            repeat { try skipValue() } while try nextArrayElement()
        case UInt8(ascii: "{"):
            try open(UInt8(ascii: "{"))
            if closesEmptyObject() { return }
            repeat {
                _ = try readKey()
                try skipValue()
            } while try nextObjectMember()
        default:
            _ = try readScalarToken()
        }
    }

    /// The text of `range`, for messages.
    func text(_ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }
}

/// A scalar JSON token.
enum JSONScalarToken {
    case number(JSONNumber)
    case nan
    case infinity(negative: Bool)
    case bool(Bool)
    case null
}

/// Where a validated number token lies in the body, and its form.
struct JSONNumber {
    var start: Int
    var end: Int
    var isNegative = false
    /// No fraction and no exponent.
    var isInteger = true
    /// The magnitude is `mantissa` × 10^`exponent`, exactly so when `isExact`.
    var mantissa: UInt64 = 0
    var exponent = 0
    var isExact = true
}
