import JSONScanning

/// Reads one request line as JSON (RFC 8259, plus trailing commas) and keeps only the
/// top-level members a request uses; every other value is checked and skipped.
/// `JSONSerialization` cost about 10 µs per request, a quarter of the daemon's CPU on trivial
/// queries, and built a dictionary of `NSNumber`s for fields nobody reads.
enum RequestScanner {
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

    /// Nesting deeper than this is refused (Foundation's parser stopped at 512 too).
    static let maxDepth = 512

    /// The values of the members named in `names`, by position in `names` (the last one wins
    /// when a name repeats), or nil when the line is not exactly one JSON object: bad syntax,
    /// invalid UTF-8 or trailing data. Names are compared as bytes: no string or dictionary is
    /// made for a member (that was a tenth of the daemon's CPU on trivial queries).
    static func members(of bytes: UnsafeRawBufferPointer, names: [[UInt8]]) -> [Value?]? {
        // Bytes outside strings must be ASCII to parse at all, so one check of the whole
        // line covers the UTF-8 of every string (most lines are pure ASCII and skip it).
        if bytes.contains(where: { $0 >= 0x80 }), String(validating: bytes, as: UTF8.self) == nil { return nil }
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        var cursor = JSONCursor(base: base, end: bytes.count)
        var members = [Value?](repeating: nil, count: names.count)
        cursor.skipWhitespace()
        guard cursor.consume(UInt8(ascii: "{")) else { return nil }
        cursor.skipWhitespace()
        while !cursor.consume(UInt8(ascii: "}")) {
            guard let token = cursor.scanString() else { return nil }
            let kept: Int?
            if token.escaped {
                guard let name = cursor.unescape(token) else { return nil }
                kept = names.firstIndex(of: name)
            } else {
                let name = UnsafeBufferPointer(start: base + token.start, count: token.count)
                kept = names.firstIndex { $0.count == name.count && $0.elementsEqual(name) }
            }
            cursor.skipWhitespace()
            guard cursor.consume(UInt8(ascii: ":")) else { return nil }
            cursor.skipWhitespace()
            if let kept {
                guard let value = value(&cursor) else { return nil }
                members[kept] = value
            } else {
                guard cursor.skipValue(maxDepth: maxDepth, trailingCommas: true, unicodeEscapes: true) else { return nil }
            }
            // A comma (a trailing one is fine: the loop then meets the brace) or the brace.
            cursor.skipWhitespace()
            if cursor.consume(UInt8(ascii: ",")) {
                cursor.skipWhitespace()
            } else if cursor.peek != UInt8(ascii: "}") {
                return nil
            }
        }
        cursor.skipWhitespace()
        return cursor.atEnd ? members : nil
    }

    private static func value(_ cursor: inout JSONCursor) -> Value? {
        switch cursor.peek {
        case UInt8(ascii: "\"")?: return string(&cursor).map(Value.string)
        case UInt8(ascii: "t")?: return cursor.matchLiteral("true") ? .bool(true) : nil
        case UInt8(ascii: "f")?: return cursor.matchLiteral("false") ? .bool(false) : nil
        case UInt8(ascii: "[")?, UInt8(ascii: "{")?, UInt8(ascii: "n")?:
            return cursor.skipValue(maxDepth: maxDepth, trailingCommas: true, unicodeEscapes: true) ? .other : nil
        default:
            let start = cursor.index
            guard let (number, next) = parseNumber(cursor.base, start, cursor.end) else { return nil }
            cursor.index = next
            let isInteger = cursor.isIntegerLiteral(start..<next)
            let text = String(decoding: UnsafeBufferPointer(start: cursor.base + start, count: next - start), as: UTF8.self)
            return .number(number, integer: isInteger ? Int64(text) : nil)
        }
    }

    /// A string at the cursor, unescaped; nil when malformed.
    private static func string(_ cursor: inout JSONCursor) -> String? {
        guard let token = cursor.scanString() else { return nil }
        guard token.escaped else {
            return String(decoding: UnsafeBufferPointer(start: cursor.base + token.start, count: token.count), as: UTF8.self)
        }
        return cursor.unescape(token).map { String(decoding: $0, as: UTF8.self) }
    }
}
