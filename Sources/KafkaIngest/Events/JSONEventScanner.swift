import JSONScanning

/// Single-pass scanner for one JSON object holding a rating. Unknown members are skipped but
/// still checked for syntax, so "malformed" means the payload is not JSON at all.
struct JSONEventScanner {
    private var cursor: JSONCursor
    /// Nesting bound for skipped values; deeper input is refused instead of recursed into.
    private static let maxDepth = 64

    init(base: UnsafePointer<UInt8>, end: Int) {
        cursor = JSONCursor(base: base, end: end)
    }

    private var base: UnsafePointer<UInt8> { cursor.base }
    private var end: Int { cursor.end }
    private var i: Int {
        get { cursor.index }
        set { cursor.index = newValue }
    }

    private enum Key { case user, item, rating, ts, other }

    mutating func scan() -> Fields {
        var fields = Fields()
        var semantic: RejectReason?
        var seen: (user: Bool, item: Bool, rating: Bool, ts: Bool) = (false, false, false, false)
        cursor.skipWhitespace()
        guard cursor.consume(UInt8(ascii: "{")) else { return malformed() }
        cursor.skipWhitespace()
        if !cursor.consume(UInt8(ascii: "}")) {
            while true {
                guard let keyToken = cursor.scanString() else { return malformed() }
                cursor.skipWhitespace()
                guard cursor.consume(UInt8(ascii: ":")) else { return malformed() }
                cursor.skipWhitespace()
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
                    } else if key == .ts, cursor.matchLiteral("null") {
                        // An explicit null timestamp is the same as none.
                    } else {
                        guard cursor.skipValue(maxDepth: Self.maxDepth) else { return malformed() }
                        semantic = semantic ?? .wrongType
                    }
                case .other:
                    guard cursor.skipValue(maxDepth: Self.maxDepth) else { return malformed() }
                }
                cursor.skipWhitespace()
                if cursor.consume(UInt8(ascii: ",")) {
                    cursor.skipWhitespace()
                    continue
                }
                guard cursor.consume(UInt8(ascii: "}")) else { return malformed() }
                break
            }
        }
        cursor.skipWhitespace()
        guard i == end else { return malformed() }
        fields.failure = semantic
        return fields
    }

    private func malformed() -> Fields {
        var fields = Fields()
        fields.failure = .malformed
        return fields
    }

    private func classify(_ token: JSONCursor.Token) -> Key {
        if token.escaped {
            guard let bytes = cursor.unescape(token) else { return .other }
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
            guard let token = cursor.scanString() else { return nil }
            if token.escaped {
                guard let bytes = cursor.unescape(token) else { return .failure(.malformed) }
                return bytes.withUnsafeBufferPointer { makeID($0) }
            }
            return makeID(UnsafeBufferPointer(start: base + token.start, count: token.count))
        }
        let start = i
        if let (_, next) = parseNumber(base, i, end) {
            i = next
            let isInteger = cursor.isIntegerLiteral(start..<next)
            return isInteger ? makeID(UnsafeBufferPointer(start: base + start, count: next - start)) : .failure(.wrongType)
        }
        return cursor.skipValue(maxDepth: Self.maxDepth) ? .failure(.wrongType) : nil
    }

}
