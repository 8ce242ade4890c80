#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Exact powers of ten: every one up to 1e22 is representable in a Double, which is what makes
/// the fast path below correctly rounded (Clinger's fast path).
private let exactPowersOfTen: [Double] = (0...22).map { exponent in
    var value = 1.0
    for _ in 0..<exponent { value *= 10 }
    return value
}

/// Parses a JSON-grammar number at `bytes[start..<end]` (`-?int(.frac)?([eE][+-]?exp)?`).
/// Returns the value and the index after the token, or nil when the token is not a number.
/// Values too large for a Double come back as ±infinity (callers treat that as non-finite).
@inline(__always)
func parseNumber(_ bytes: UnsafePointer<UInt8>, _ start: Int, _ end: Int, allowPlus: Bool = false) -> (
    value: Double, next: Int
)? {
    var i = start
    var negative = false
    if i < end, bytes[i] == UInt8(ascii: "-") {
        negative = true
        i += 1
    } else if allowPlus, i < end, bytes[i] == UInt8(ascii: "+") {
        i += 1
    }
    var mantissa: UInt64 = 0
    var digits = 0
    var decimalExponent = 0
    let intStart = i
    while i < end, bytes[i] &- 48 < 10 {
        if digits < 19 {
            mantissa = mantissa &* 10 &+ UInt64(bytes[i] &- 48)
            if mantissa != 0 { digits += 1 }
        } else {
            decimalExponent += 1
        }
        i += 1
    }
    if i == intStart { return nil }
    if i - intStart > 1, bytes[intStart] == UInt8(ascii: "0"), !allowPlus { return nil }
    if i < end, bytes[i] == UInt8(ascii: ".") {
        i += 1
        let fracStart = i
        while i < end, bytes[i] &- 48 < 10 {
            if digits < 19 {
                mantissa = mantissa &* 10 &+ UInt64(bytes[i] &- 48)
                if mantissa != 0 { digits += 1 }
                decimalExponent -= 1
            }
            i += 1
        }
        if i == fracStart { return nil }
    }
    if i < end, bytes[i] | 0x20 == UInt8(ascii: "e") {
        i += 1
        var expNegative = false
        if i < end, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
            expNegative = bytes[i] == UInt8(ascii: "-")
            i += 1
        }
        let expStart = i
        var exponent = 0
        while i < end, bytes[i] &- 48 < 10 {
            if exponent < 100_000 { exponent = exponent * 10 + Int(bytes[i] &- 48) }
            i += 1
        }
        if i == expStart { return nil }
        decimalExponent += expNegative ? -exponent : exponent
    }
    var value: Double
    if mantissa == 0 {
        value = 0
    } else if digits <= 15, decimalExponent >= -22, decimalExponent <= 22 {
        // Both the mantissa (< 2^53) and the power of ten are exact, so one IEEE operation
        // rounds correctly.
        value = Double(mantissa)
        value = decimalExponent < 0
            ? value / exactPowersOfTen[-decimalExponent] : value * exactPowersOfTen[decimalExponent]
    } else {
        value = slowParse(bytes, start, i)
        return (value, i)
    }
    return (negative ? -value : value, i)
}

/// Correctly rounded fallback for long mantissas or large exponents: strtod on a NUL-terminated copy.
private func slowParse(_ bytes: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Double {
    var buffer = [CChar](repeating: 0, count: end - start + 1)
    for index in start..<end { buffer[index - start] = CChar(bitPattern: bytes[index]) }
    return strtod(buffer, nil)
}
