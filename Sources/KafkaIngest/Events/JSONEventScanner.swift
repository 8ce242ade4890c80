/// Single-pass scanner for one JSON object holding a rating. Unknown members are skipped but
/// still checked for syntax, so "malformed" means the payload is not JSON at all.
struct JSONEventScanner {
    let base: UnsafePointer<UInt8>
    let end: Int
    private var i = 0
    /// Nesting bound for skipped values; deeper input is refused instead of recursed into.
    private static let maxDepth = 64

    init(base: UnsafePointer<UInt8>, end: Int) {
        self.base = base
        self.end = end
    }

    private enum Key { case user, item, rating, ts, other }

    /// A string token: bytes between the quotes, and whether they need unescaping.
    private struct Token {
        var start: Int
        var count: Int
        var escaped: Bool
    }

    mutating func scan() -> Fields {
        var fields = Fields()
        var semantic: RejectReason?
        var seen: (user: Bool, item: Bool, rating: Bool, ts: Bool) = (false, false, false, false)
        skipWhitespace()
        guard consume(UInt8(ascii: "{")) else { return malformed() }
        skipWhitespace()
        if !consume(UInt8(ascii: "}")) {
            while true {
                guard let keyToken = scanString() else { return malformed() }
                skipWhitespace()
                guard consume(UInt8(ascii: ":")) else { return malformed() }
                skipWhitespace()
                let key = classify(keyToken)
                switch key {
                case .user, .item:
                    if key == .user ? seen.user : seen.item { return malformed() }
                    if key == .user { seen.user = true } else { seen.item = true }
                    guard let result = scanID() else { return malformed() }
                    switch result {
                    case .success(let id): if key == .user { fields.user = id } else { fields.item = id }
                    case .failure(let reason): semantic = semantic ?? reason
                    }
                case .rating, .ts:
                    if key == .rating ? seen.rating : seen.ts { return malformed() }
                    if key == .rating { seen.rating = true } else { seen.ts = true }
                    if let (value, next) = parseNumber(base, i, end) {
                        i = next
                        if key == .rating { fields.rating = value } else { fields.timestamp = value }
                    } else if key == .ts, matchLiteral("null") {
                        // An explicit null timestamp is the same as none.
                    } else {
                        guard skipValue() else { return malformed() }
                        semantic = semantic ?? .wrongType
                    }
                case .other:
                    guard skipValue() else { return malformed() }
                }
                skipWhitespace()
                if consume(UInt8(ascii: ",")) {
                    skipWhitespace()
                    continue
                }
                guard consume(UInt8(ascii: "}")) else { return malformed() }
                break
            }
        }
        skipWhitespace()
        guard i == end else { return malformed() }
        fields.failure = semantic
        return fields
    }

    private func malformed() -> Fields {
        var fields = Fields()
        fields.failure = .malformed
        return fields
    }

    @inline(__always)
    private mutating func consume(_ byte: UInt8) -> Bool {
        guard i < end, base[i] == byte else { return false }
        i += 1
        return true
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        while i < end, base[i] == 32 || base[i] == 10 || base[i] == 13 || base[i] == 9 { i += 1 }
    }

    private mutating func matchLiteral(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard end - i >= count else { return false }
        for offset in 0..<count where base[i + offset] != literal.utf8Start[offset] { return false }
        i += count
        return true
    }

    /// Scans `"..."` at the cursor; nil when it is not a well-formed string.
    private mutating func scanString() -> Token? {
        guard consume(UInt8(ascii: "\"")) else { return nil }
        let start = i
        var escaped = false
        // 16 bytes at a time while none is a quote, a backslash or a control character.
        let quote = SIMD16<UInt8>(repeating: 0x22)
        let backslash = SIMD16<UInt8>(repeating: 0x5C)
        let space = SIMD16<UInt8>(repeating: 0x20)
        while end - i >= 16 {
            let chunk = UnsafeRawPointer(base + i).loadUnaligned(as: SIMD16<UInt8>.self)
            let special = (chunk .== quote) .| (chunk .== backslash) .| (chunk .< space)
            if any(special) { break }
            i += 16
        }
        while i < end {
            let byte = base[i]
            if byte == UInt8(ascii: "\"") {
                let token = Token(start: start, count: i - start, escaped: escaped)
                i += 1
                return token
            }
            if byte < 0x20 { return nil }
            if byte == UInt8(ascii: "\\") {
                escaped = true
                i += 1
                guard i < end else { return nil }
                if base[i] == UInt8(ascii: "u") {
                    guard end - i > 4, (1...4).allSatisfy({ hexValue(base[i + $0]) != nil }) else { return nil }
                    i += 4
                } else {
                    switch base[i] {
                    case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74: break  // " \\ / b f n r t
                    default: return nil
                    }
                }
            }
            i += 1
        }
        return nil
    }

    private func classify(_ token: Token) -> Key {
        if token.escaped {
            guard let bytes = unescape(token) else { return .other }
            return bytes.withUnsafeBufferPointer { classifyBytes($0) }
        }
        return classifyBytes(UnsafeBufferPointer(start: base + token.start, count: token.count))
    }

    /// Byte comparisons only: this runs for every member of every message.
    @inline(__always)
    private func classifyBytes(_ bytes: UnsafeBufferPointer<UInt8>) -> Key {
        switch bytes.count {
        case 2: return bytes[0] == 0x74 && bytes[1] == 0x73 ? .ts : .other  // "ts"
        case 4:
            let word = UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
            switch word {
            case 0x7265_7375: return .user  // "user", little-endian
            case 0x6D65_7469: return .item  // "item"
            default: return .other
            }
        case 6:
            let isRating = bytes[0] == 0x72 && bytes[1] == 0x61 && bytes[2] == 0x74 && bytes[3] == 0x69
                && bytes[4] == 0x6E && bytes[5] == 0x67  // "rating"
            return isRating ? .rating : .other
        default: return .other
        }
    }

    /// An id is a JSON string, or an integer literal taken as its decimal text.
    /// Nil: malformed input. `.failure`: well-formed but not a valid id.
    private mutating func scanID() -> Result<String, RejectReason>? {
        if i < end, base[i] == UInt8(ascii: "\"") {
            guard let token = scanString() else { return nil }
            if token.escaped {
                guard let bytes = unescape(token) else { return .failure(.malformed) }
                return bytes.withUnsafeBufferPointer { makeID($0) }
            }
            return makeID(UnsafeBufferPointer(start: base + token.start, count: token.count))
        }
        let start = i
        if let (_, next) = parseNumber(base, i, end) {
            i = next
            let isInteger = (start..<next).allSatisfy { base[$0] &- 48 < 10 || base[$0] == UInt8(ascii: "-") }
            return isInteger ? makeID(UnsafeBufferPointer(start: base + start, count: next - start)) : .failure(.wrongType)
        }
        return skipValue() ? .failure(.wrongType) : nil
    }

    /// Skips any JSON value without recursion; false on a syntax error or excessive nesting.
    private mutating func skipValue() -> Bool {
        var stack: [UInt8] = []  // expected closers
        var expectingValue = true
        while true {
            skipWhitespace()
            if expectingValue {
                guard i < end else { return false }
                switch base[i] {
                case UInt8(ascii: "{"):
                    i += 1
                    skipWhitespace()
                    if consume(UInt8(ascii: "}")) { break }
                    guard stack.count < Self.maxDepth, scanString() != nil else { return false }
                    skipWhitespace()
                    guard consume(UInt8(ascii: ":")) else { return false }
                    stack.append(UInt8(ascii: "}"))
                    continue
                case UInt8(ascii: "["):
                    i += 1
                    skipWhitespace()
                    if consume(UInt8(ascii: "]")) { break }
                    guard stack.count < Self.maxDepth else { return false }
                    stack.append(UInt8(ascii: "]"))
                    continue
                case UInt8(ascii: "\""):
                    guard scanString() != nil else { return false }
                case UInt8(ascii: "t"):
                    guard matchLiteral("true") else { return false }
                case UInt8(ascii: "f"):
                    guard matchLiteral("false") else { return false }
                case UInt8(ascii: "n"):
                    guard matchLiteral("null") else { return false }
                default:
                    guard let (_, next) = parseNumber(base, i, end) else { return false }
                    i = next
                }
                expectingValue = false
            }
            // After a complete value: close containers or move to the next element.
            guard let closer = stack.last else { return true }
            skipWhitespace()
            if consume(UInt8(ascii: ",")) {
                skipWhitespace()
                if closer == UInt8(ascii: "}") {
                    guard scanString() != nil else { return false }
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

    private func unescape(_ token: Token) -> [UInt8]? {
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
        (0..<4).reduce(UInt32(0)) { $0 << 4 | UInt32(hexValue(base[at + $1]) ?? 0) }
    }
}

@inline(__always)
private func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case 48...57: byte - 48
    case 65...70: byte - 55
    case 97...102: byte - 87
    default: nil
    }
}
