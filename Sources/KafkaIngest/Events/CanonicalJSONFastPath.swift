import JSONScanning
/// The layout most producers write (and `crossrec produce` writes):
/// `{"user":"U","item":"I","rating":R}` or `…,"rating":R,"ts":T}`, no whitespace, no escapes.
/// Matching it with word compares skips the general scanner; anything else returns nil and
/// goes the general way, so this changes speed, never results.
struct CanonicalJSONFastPath {
    let base: UnsafePointer<UInt8>
    let end: Int

    /// The outcome, or nil when the payload does not have the canonical layout.
    @inline(__always)
    func parse(_ parser: EventParser) -> ParseOutcome? {
        // `{"user":"` (9 bytes), `,"item":"` (9), `,"rating":` (10), `,"ts":` (6), compared
        // as little-endian words (the closing quote of each id is consumed by `plainString`).
        var i = 0
        guard end >= 32, word(0) == 0x3A22_7265_7375_227B, base[8] == 0x22 else { return nil }
        i = 9
        guard let user = plainString(&i), end - i >= 9, word(i) == 0x3A22_6D65_7469_222C, base[i + 8] == 0x22 else { return nil }
        i += 9
        guard let item = plainString(&i), end - i >= 10, word(i) == 0x676E_6974_6172_222C,
            base[i + 8] == 0x22, base[i + 9] == 0x3A,
            let (rating, afterRating) = parseNumber(base, i + 10, end)
        else { return nil }
        i = afterRating
        var timestamp: Double?
        if end - i >= 6, base[i] == 0x2C, base[i + 1] == 0x22, base[i + 2] == 0x74, base[i + 3] == 0x73,
            base[i + 4] == 0x22, base[i + 5] == 0x3A
        {
            guard let (value, afterTime) = parseNumber(base, i + 6, end) else { return nil }
            timestamp = value
            i = afterTime
        }
        guard i == end - 1, base[i] == UInt8(ascii: "}") else { return nil }
        // Same precedence as the general scanner: the first bad id in document order.
        guard let userID = asciiID(user) ?? slowID(user.bytes) else { return .rejected(idFailure(user.bytes)) }
        guard let itemID = asciiID(item) ?? slowID(item.bytes) else { return .rejected(idFailure(item.bytes)) }
        return parser.finish(user: userID, item: itemID, rating: rating, timestamp: timestamp)
    }

    private func slowID(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        if case .success(let id) = makeID(bytes) { return id }
        return nil
    }

    private func idFailure(_ bytes: UnsafeBufferPointer<UInt8>) -> RejectReason {
        if case .failure(let reason) = makeID(bytes) { return reason }
        return .malformed
    }

    /// The common case without `Result` wrapping: a non-empty, all-ASCII id within the bound.
    @inline(__always)
    private func asciiID(_ id: (bytes: UnsafeBufferPointer<UInt8>, ascii: Bool)) -> String? {
        guard id.ascii, !id.bytes.isEmpty, id.bytes.count <= EventParser.maxIDBytes else { return nil }
        return asciiString(id.bytes)
    }

    @inline(__always)
    private func word(_ at: Int) -> UInt64 {
        UInt64(littleEndian: UnsafeRawPointer(base + at).loadUnaligned(as: UInt64.self))
    }

    /// Bytes up to the closing quote, and whether they are all ASCII; nil at a backslash or a
    /// control character (general path). Eight bytes per step: a byte equal to `c` makes
    /// `(x ^ c·0x01…) − 0x01…` borrow into its high bit (the "has zero byte" test, exact for
    /// the first match); control characters are bytes below 0x20. The high bits of the bytes
    /// before the quote, OR-ed together, tell whether the id is ASCII.
    @inline(__always)
    private func plainString(_ i: inout Int) -> (bytes: UnsafeBufferPointer<UInt8>, ascii: Bool)? {
        let start = i
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        var seen: UInt64 = 0
        while end - i >= 8 {
            let x = word(i)
            let quote = x ^ (ones &* 0x22)
            let backslash = x ^ (ones &* 0x5C)
            let special = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((x &- ones &* 0x20) & ~x)
            let found = special & highs
            if found != 0 {
                let byteIndex = found.trailingZeroBitCount / 8
                let index = i + byteIndex
                guard base[index] == 0x22 else { return nil }  // backslash or control: general path
                let before: UInt64 = byteIndex == 0 ? 0 : ~0 >> (64 - 8 * byteIndex)
                seen |= x & before
                i = index + 1
                return (UnsafeBufferPointer(start: base + start, count: index - start), seen & highs == 0)
            }
            seen |= x
            i += 8
        }
        while i < end {
            let byte = base[i]
            if byte == 0x22 {
                defer { i += 1 }
                return (UnsafeBufferPointer(start: base + start, count: i - start), seen & highs == 0)
            }
            if byte == 0x5C || byte < 0x20 { return nil }
            seen |= UInt64(byte)
            i += 1
        }
        return nil
    }
}
