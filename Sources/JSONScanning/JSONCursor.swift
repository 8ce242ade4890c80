/// The JSON tokens both scanners need (rating events from Kafka, request lines on the socket):
/// a cursor over bytes that checks strings, literals and nested values without building them.
/// Callers keep their own decisions about which members they read.
///
/// Inlinable: the event scanner runs these for every member of every message.
public struct JSONCursor {
    public let base: UnsafePointer<UInt8>
    public let end: Int
    /// The next byte to read.
    public var index = 0

    /// A string token: the bytes between the quotes, and whether they need unescaping.
    public struct Token {
        public var start: Int
        public var count: Int
        public var escaped: Bool

        @inlinable init(start: Int, count: Int, escaped: Bool) {
            self.start = start
            self.count = count
            self.escaped = escaped
        }
    }

    @inlinable
    public init(base: UnsafePointer<UInt8>, end: Int) {
        self.base = base
        self.end = end
    }

    @inlinable @inline(__always)
    public var atEnd: Bool { index == end }

    @inlinable @inline(__always)
    public var peek: UInt8? { index < end ? base[index] : nil }

    @inlinable @inline(__always)
    public mutating func consume(_ byte: UInt8) -> Bool {
        guard index < end, base[index] == byte else { return false }
        index += 1
        return true
    }

    @inlinable @inline(__always)
    public mutating func skipWhitespace() {
        while index < end, base[index] == 32 || base[index] == 10 || base[index] == 13 || base[index] == 9 { index += 1 }
    }

    @inlinable
    public mutating func matchLiteral(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard end - index >= count else { return false }
        for offset in 0..<count where base[index + offset] != literal.utf8Start[offset] { return false }
        index += count
        return true
    }

    /// Scans `"..."` at the cursor; nil when it is not a well-formed string (a control
    /// character, a bad escape, no closing quote). Surrogates are checked by `unescape`.
    @inlinable
    public mutating func scanString() -> Token? {
        guard consume(UInt8(ascii: "\"")) else { return nil }
        let start = index
        var escaped = false
        // 16 bytes at a time while none is a quote, a backslash or a control character.
        let quote = SIMD16<UInt8>(repeating: 0x22)
        let backslash = SIMD16<UInt8>(repeating: 0x5C)
        let space = SIMD16<UInt8>(repeating: 0x20)
        while end - index >= 16 {
            let chunk = UnsafeRawPointer(base + index).loadUnaligned(as: SIMD16<UInt8>.self)
            let special = (chunk .== quote) .| (chunk .== backslash) .| (chunk .< space)
            if any(special) { break }
            index += 16
        }
        while index < end {
            let byte = base[index]
            if byte == UInt8(ascii: "\"") {
                let token = Token(start: start, count: index - start, escaped: escaped)
                index += 1
                return token
            }
            if byte < 0x20 { return nil }
            if byte == UInt8(ascii: "\\") {
                escaped = true
                index += 1
                guard index < end else { return nil }
                if base[index] == UInt8(ascii: "u") {
                    guard end - index > 4, (1...4).allSatisfy({ jsonHexValue(base[index + $0]) != nil }) else { return nil }
                    index += 4
                } else {
                    switch base[index] {
                    case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74: break  // " \\ / b f n r t
                    default: return nil
                    }
                }
            }
            index += 1
        }
        return nil
    }

    /// True when the number token in `range` has no fraction or exponent (digits and a sign).
    @inlinable
    public func isIntegerLiteral(_ range: Range<Int>) -> Bool {
        range.allSatisfy { base[$0] &- 48 < 10 || base[$0] == UInt8(ascii: "-") }
    }

    /// Skips any JSON value without recursion; false on a syntax error or nesting deeper than
    /// `maxDepth`. `trailingCommas` accepts `[1,]` and `{"a":1,}`; `unicodeEscapes` also
    /// refuses a `\u` escape that is a lone surrogate (as Foundation's parser does).
    public mutating func skipValue(maxDepth: Int, trailingCommas: Bool = false, unicodeEscapes: Bool = false) -> Bool {
        func skipString(_ cursor: inout JSONCursor) -> Bool {
            guard let token = cursor.scanString() else { return false }
            return !unicodeEscapes || !token.escaped || cursor.unescape(token) != nil
        }
        var stack: [UInt8] = []  // expected closers
        var expectingValue = true
        while true {
            skipWhitespace()
            if expectingValue {
                guard index < end else { return false }
                switch base[index] {
                case UInt8(ascii: "{"):
                    index += 1
                    skipWhitespace()
                    if consume(UInt8(ascii: "}")) { break }
                    guard stack.count < maxDepth, skipString(&self) else { return false }
                    skipWhitespace()
                    guard consume(UInt8(ascii: ":")) else { return false }
                    stack.append(UInt8(ascii: "}"))
                    continue
                case UInt8(ascii: "["):
                    index += 1
                    skipWhitespace()
                    if consume(UInt8(ascii: "]")) { break }
                    guard stack.count < maxDepth else { return false }
                    stack.append(UInt8(ascii: "]"))
                    continue
                case UInt8(ascii: "\""):
                    guard skipString(&self) else { return false }
                case UInt8(ascii: "t"):
                    guard matchLiteral("true") else { return false }
                case UInt8(ascii: "f"):
                    guard matchLiteral("false") else { return false }
                case UInt8(ascii: "n"):
                    guard matchLiteral("null") else { return false }
                default:
                    guard let (_, next) = parseNumber(base, index, end) else { return false }
                    index = next
                }
                expectingValue = false
            }
            // After a complete value: close containers or move to the next element.
            guard let closer = stack.last else { return true }
            skipWhitespace()
            if consume(UInt8(ascii: ",")) {
                skipWhitespace()
                if trailingCommas, consume(closer) {
                    stack.removeLast()
                    continue
                }
                if closer == UInt8(ascii: "}") {
                    guard skipString(&self) else { return false }
                    skipWhitespace()
                    guard consume(UInt8(ascii: ":")) else { return false }
                }
                expectingValue = true
            } else if consume(closer) {
                stack.removeLast()
            } else {
                return false
            }
        }
    }

    /// The bytes of a string token with its escapes resolved (UTF-8); nil for a lone or
    /// mismatched surrogate.
    public func unescape(_ token: Token) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.count)
        var j = token.start
        let stop = token.start + token.count
        while j < stop {
            let byte = base[j]
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                j += 1
                continue
            }
            j += 1
            switch base[j] {
            case UInt8(ascii: "b"): out.append(8)
            case UInt8(ascii: "f"): out.append(12)
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "u"):
                var scalar = hex4(j + 1)
                j += 4
                if (0xD800..<0xDC00).contains(scalar) {
                    // A high surrogate must be followed by an escaped low surrogate.
                    guard j + 6 < stop, base[j + 1] == UInt8(ascii: "\\"), base[j + 2] == UInt8(ascii: "u") else {
                        return nil
                    }
                    let low = hex4(j + 3)
                    guard (0xDC00..<0xE000).contains(low) else { return nil }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    j += 6
                }
                guard let unicode = Unicode.Scalar(scalar) else { return nil }
                out.append(contentsOf: UTF8.encode(unicode)!)
            default: out.append(base[j])  // \" \\ \/
            }
            j += 1
        }
        return out
    }

    private func hex4(_ at: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 << 4 | UInt32(jsonHexValue(base[at + $1]) ?? 0) }
    }
}

@inlinable @inline(__always)
func jsonHexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case 48...57: byte - 48
    case 65...70: byte - 55
    case 97...102: byte - 87
    default: nil
    }
}
