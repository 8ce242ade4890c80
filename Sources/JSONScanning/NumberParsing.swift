#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Parses a JSON-grammar number at `bytes[start..<end]` (`-?int(.frac)?([eE][+-]?exp)?`).
/// Returns the value and the index after the token, or nil when the token is not a number.
/// Values too large for a Double come back as ±infinity (callers treat that as non-finite).
/// `allowPlus` (CSV) also accepts a leading `+` and leading zeros.
@inlinable @inline(__always)
public func parseNumber(_ bytes: UnsafePointer<UInt8>, _ start: Int, _ end: Int, allowPlus: Bool = false) -> (
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
    // Digits accumulate without checks; more than 19 of them (possible overflow) go to strtod.
    let intStart = i
    guard let (mantissa, intDigits, fractionDigits) = scanDecimal(bytes, &i, end, as: UInt64.self) else { return nil }
    if intDigits > 1, bytes[intStart] == UInt8(ascii: "0"), !allowPlus { return nil }
    var exponent = 0
    if i < end, bytes[i] | 0x20 == UInt8(ascii: "e") {
        i += 1
        var exponentNegative = false
        if i < end, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
            exponentNegative = bytes[i] == UInt8(ascii: "-")
            i += 1
        }
        let exponentStart = i
        while i < end, bytes[i] &- 48 < 10 {
            if exponent < 100_000 { exponent = exponent * 10 + Int(bytes[i] &- 48) }
            i += 1
        }
        if i == exponentStart { return nil }
        if exponentNegative { exponent = -exponent }
    }
    let decimalExponent = exponent - fractionDigits
    guard intDigits + fractionDigits <= 19, mantissa <= 1 << 53, decimalExponent >= -22, decimalExponent <= 22 else {
        return (slowParse(bytes, start, i), i)
    }
    // Both the mantissa (≤ 2^53) and the power of ten are exact, so one IEEE operation rounds
    // correctly (Clinger's fast path).
    var value = Double(mantissa)
    value = decimalExponent < 0 ? value / exactPowerOfTen(-decimalExponent) : value * exactPowerOfTen(decimalExponent)
    return (negative ? -value : value, i)
}

/// The shape nearly every producer writes, `digits(.digits)?` with at most 15 digits in all
/// (so the mantissa is exact), parsed without the general case's branches; nil for anything
/// else (sign, exponent, leading zero, more digits), which `parseNumber` then decides. Same
/// arithmetic as `parseNumber`, so the same bits for every number both accept.
@inlinable @inline(__always)
public func parsePlainNumber(_ bytes: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> (value: Double, next: Int)? {
    var i = start
    guard let (mantissa, intDigits, fractionDigits) = scanDecimal(bytes, &i, end, as: Int64.self),
        intDigits + fractionDigits <= 15, intDigits == 1 || bytes[start] != UInt8(ascii: "0")
    else { return nil }
    if i < end, bytes[i] | 0x20 == UInt8(ascii: "e") { return nil }
    let value = Double(mantissa)
    return (fractionDigits == 0 ? value : value / exactPowerOfTen(fractionDigits), i)
}

/// `digits(.digits)?` at `bytes[i...]`: the digits as one integer (wrapping: callers bound the
/// digit count), how many before and after the point; `i` moves past them. Nil without
/// integer digits or with a point and no digits after it.
@inlinable @inline(__always)
func scanDecimal<T: FixedWidthInteger>(_ bytes: UnsafePointer<UInt8>, _ i: inout Int, _ end: Int, as: T.Type) -> (
    mantissa: T, intDigits: Int, fractionDigits: Int
)? {
    var mantissa: T = 0
    @inline(__always) func digits() -> Int {
        let start = i
        while i < end, bytes[i] &- 48 < 10 {
            mantissa = mantissa &* 10 &+ T(truncatingIfNeeded: bytes[i] &- 48)
            i += 1
        }
        return i - start
    }
    let intDigits = digits()
    guard intDigits > 0 else { return nil }
    guard i < end, bytes[i] == UInt8(ascii: ".") else { return (mantissa, intDigits, 0) }
    i += 1
    let fractionDigits = digits()
    return fractionDigits > 0 ? (mantissa, intDigits, fractionDigits) : nil
}

/// 10^n for 0 ≤ n ≤ 22, each exactly representable in a Double. A switch over literals
/// compiles to a constant table: no lazily initialized global (no `swift_once` per call).
@inlinable @inline(__always)
func exactPowerOfTen(_ n: Int) -> Double {
    switch n {
    case 0: 1e0
    case 1: 1e1
    case 2: 1e2
    case 3: 1e3
    case 4: 1e4
    case 5: 1e5
    case 6: 1e6
    case 7: 1e7
    case 8: 1e8
    case 9: 1e9
    case 10: 1e10
    case 11: 1e11
    case 12: 1e12
    case 13: 1e13
    case 14: 1e14
    case 15: 1e15
    case 16: 1e16
    case 17: 1e17
    case 18: 1e18
    case 19: 1e19
    case 20: 1e20
    case 21: 1e21
    default: 1e22
    }
}

/// Correctly rounded fallback for long mantissas or large exponents: strtod on a NUL-terminated copy.
@usableFromInline
func slowParse(_ bytes: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Double {
    var buffer = [CChar](repeating: 0, count: end - start + 1)
    for index in start..<end { buffer[index - start] = CChar(bitPattern: bytes[index]) }
    return strtod(buffer, nil)
}
