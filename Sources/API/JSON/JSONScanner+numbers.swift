/// The integer reading of a number token.
enum JSONIntegerValue {
    case integral(isNegative: Bool, magnitude: UInt64)
    case fractional
    case tooLarge
}

extension JSONScanner {
    private static let doublePowers: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// `mantissa` × 10^`exponent` with one correctly rounded operation, when the power is exact in a double.
    @inline(__always)
    private static func scaled(_ mantissa: UInt64, _ exponent: Int) -> Double? {
        guard exponent >= -22, exponent <= 22 else { return nil }
        let value = Double(mantissa)
        return exponent >= 0 ? value * doublePowers[exponent] : value / doublePowers[-exponent]
    }

    func doubleValue(_ number: JSONNumber) -> Double {
        let mantissa = number.mantissa
        if mantissa == 0 { return number.isNegative ? -0.0 : 0.0 }
        if number.isExact, mantissa <= 1 << 53, let value = Self.scaled(mantissa, number.exponent) {
            return number.isNegative ? -value : value
        }
        return Double(text(number.start..<number.end)) ?? .nan
    }

    /// The number as a float32. Like TF Serving's JSON reader, the decimal is read as a double and then
    /// rounded to float32; up to 19 significant digits are scaled by an exact power of ten in double
    /// precision (within 2⁻⁵³ of the decimal, well inside float32's rounding), so the usual 9 to 17 digit
    /// forms clients write never leave the fast path.
    func floatValue(_ number: JSONNumber) -> Float {
        if number.mantissa == 0 { return number.isNegative ? -0.0 : 0.0 }
        if let value = Self.scaled(number.mantissa, number.exponent) {
            return Float(number.isNegative ? -value : value)
        }
        return Float(doubleValue(number))
    }

    func integerValue(_ number: JSONNumber) -> JSONIntegerValue {
        if number.isInteger {
            var magnitude: UInt64 = 0
            for index in (number.start + (number.isNegative ? 1 : 0))..<number.end {
                let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(UInt64(bytes[index] &- UInt8(ascii: "0")))
                if overflow1 || overflow2 { return .tooLarge }
                magnitude = sum
            }
            return .integral(isNegative: number.isNegative, magnitude: magnitude)
        }
        let value = doubleValue(number)
        guard value == value.rounded(.towardZero) else { return .fractional }
        guard value.magnitude < 18_446_744_073_709_551_616.0 else { return .tooLarge }
        return .integral(isNegative: value < 0, magnitude: UInt64(value.magnitude))
    }
}
