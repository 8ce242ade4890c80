/// A JSON (RFC 8259, plus trailing commas) reader for one request line: it checks the whole line and keeps
/// only the top-level members a request uses. Every other value is checked and skipped.
/// `JSONSerialization` cost about 10 µs per request, which was a quarter of the daemon's CPU on
/// trivial queries, and it made a dictionary of `NSNumber`s for fields nobody reads.
struct RequestScanner {
    /// A kept member's value.
    enum Value: Equatable {
        case string(String)
        /// The value, and the exact integer when the literal has no fraction or exponent and
        /// fits in 64 bits.
        case number(Double, integer: Int64?)
        case bool(Bool)
        /// null, an array or an object.
        case other
    }

    /// Nesting deeper than this is refused (Foundation's parser stops at 512 too), so
    /// recursion is bounded whatever a peer sends.
    static let maxDepth = 512

    private let bytes: UnsafeRawBufferPointer
    private var index = 0

    private init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// The members named in `keep` (the last one wins when a name repeats), or nil when the
    /// line is not exactly one JSON object: bad syntax, invalid UTF-8 or trailing data.
    static func members(of bytes: UnsafeRawBufferPointer, keep: Set<String>) -> [String: Value]? {
        // Bytes outside strings must be ASCII to parse at all, so one check of the whole
        // line covers the UTF-8 of every string (most lines are pure ASCII and skip it).
        if bytes.contains(where: { $0 >= 0x80 }), String(validating: bytes, as: UTF8.self) == nil { return nil }
        var scanner = RequestScanner(bytes)
        var members: [String: Value] = [:]
        scanner.skipWhitespace()
        guard scanner.consume(UInt8(ascii: "{")) else { return nil }
        scanner.skipWhitespace()
        while !scanner.consume(UInt8(ascii: "}")) {
            guard let name = scanner.string() else { return nil }
            scanner.skipWhitespace()
            guard scanner.consume(UInt8(ascii: ":")) else { return nil }
            scanner.skipWhitespace()
            if keep.contains(name) {
                guard let value = scanner.keptValue() else { return nil }
                members[name] = value
            } else {
                guard scanner.skipValue(depth: 1) else { return nil }
            }
            guard scanner.endOfElement(closing: UInt8(ascii: "}")) else { return nil }
        }
        scanner.skipWhitespace()
        return scanner.index == bytes.count ? members : nil
    }

    // MARK: Values

    private mutating func keptValue() -> Value? {
        guard let first = peek else { return nil }
        switch first {
        case UInt8(ascii: "\""): return string().map(Value.string)
        case UInt8(ascii: "t"): return literal("true") ? .bool(true) : nil
        case UInt8(ascii: "f"): return literal("false") ? .bool(false) : nil
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return number()
        default: return skipValue(depth: 1) ? .other : nil
        }
    }

    private mutating func skipValue(depth: Int) -> Bool {
        guard depth <= Self.maxDepth, let first = peek else { return false }
        switch first {
        case UInt8(ascii: "\""): return string() != nil
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return number() != nil
        case UInt8(ascii: "["), UInt8(ascii: "{"):
            let isObject = first == UInt8(ascii: "{")
            let close = isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")
            index += 1
            skipWhitespace()
            while !consume(close) {
                if isObject {
                    guard string() != nil else { return false }
                    skipWhitespace()
                    guard consume(UInt8(ascii: ":")) else { return false }
                    skipWhitespace()
                }
                guard skipValue(depth: depth + 1), endOfElement(closing: close) else { return false }
            }
            return true
        default:
            return false
        }
    }

    /// After an element: a comma (then the next element, or the closing bracket: a trailing
    /// comma is allowed, as Foundation's parser allowed it before), or the closing bracket,
    /// which is left for the caller's loop to consume.
    private mutating func endOfElement(closing close: UInt8) -> Bool {
        skipWhitespace()
        if consume(UInt8(ascii: ",")) {
            skipWhitespace()
            return true
        }
        return peek == close
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard bytes.count - index >= count else { return false }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return false }
        index += count
        return true
    }

    /// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
    private mutating func number() -> Value? {
        let start = index
        _ = consume(UInt8(ascii: "-"))
        if consume(UInt8(ascii: "0")) {
            // No leading zeros: "01" is two tokens, which the caller then refuses.
        } else {
            guard digits() > 0 else { return nil }
        }
        var isInteger = true
        if consume(UInt8(ascii: ".")) {
            isInteger = false
            guard digits() > 0 else { return nil }
        }
        if consume(UInt8(ascii: "e")) || consume(UInt8(ascii: "E")) {
            isInteger = false
            if !consume(UInt8(ascii: "+")) { _ = consume(UInt8(ascii: "-")) }
            guard digits() > 0 else { return nil }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let value = Double(text) else { return nil }
        return .number(value, integer: isInteger ? Int64(text) : nil)
    }

    private mutating func digits() -> Int {
        let start = index
        while let byte = peek, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { index += 1 }
        return index - start
    }

    /// A string (at its opening quote): unescaped, or nil when malformed (a control character,
    /// a bad escape, a lone surrogate, no closing quote).
    private mutating func string() -> String? {
        guard consume(UInt8(ascii: "\"")) else { return nil }
        let start = index
        // Fast path: no escape before the closing quote.
        while let byte = peek, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") {
            guard byte >= 0x20 else { return nil }
            index += 1
        }
        guard let stop = peek else { return nil }
        if stop == UInt8(ascii: "\"") {
            index += 1
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index - 1]), as: UTF8.self)
        }
        var unescaped = Array(bytes[start..<index])
        while let byte = peek {
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: unescaped, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard let escape = peek else { return nil }
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): unescaped.append(escape)
                case UInt8(ascii: "b"): unescaped.append(0x08)
                case UInt8(ascii: "f"): unescaped.append(0x0C)
                case UInt8(ascii: "n"): unescaped.append(0x0A)
                case UInt8(ascii: "r"): unescaped.append(0x0D)
                case UInt8(ascii: "t"): unescaped.append(0x09)
                case UInt8(ascii: "u"):
                    guard let scalar = unicodeEscape() else { return nil }
                    unescaped.append(contentsOf: String(Character(scalar)).utf8)
                default: return nil
                }
            case 0..<0x20:
                return nil
            default:
                unescaped.append(byte)
            }
        }
        return nil
    }

    /// The scalar of a \u escape (after the `u`), joining a surrogate pair.
    private mutating func unicodeEscape() -> Unicode.Scalar? {
        guard let first = hex4() else { return nil }
        if (0xD800..<0xDC00).contains(first) {
            guard literal("\\u"), let second = hex4(), (0xDC00..<0xE000).contains(second) else { return nil }
            return Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
        }
        return Unicode.Scalar(first)  // nil for a lone low surrogate
    }

    private mutating func hex4() -> UInt32? {
        guard bytes.count - index >= 4 else { return nil }
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let digit = Character(Unicode.Scalar(bytes[index])).hexDigitValue else { return nil }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    // MARK: Bytes

    private var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func consume(_ byte: UInt8) -> Bool {
        guard peek == byte else { return false }
        index += 1
        return true
    }

    private mutating func skipWhitespace() {
        while let byte = peek, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
    }
}
