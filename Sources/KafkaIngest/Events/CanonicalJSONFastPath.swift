/// The layout most producers write (and `crossrec produce` writes):
/// `{"user":"U","item":"I","rating":R}` or `…,"rating":R,"ts":T}`, no whitespace, no escapes.
/// Matching it with fixed byte compares skips the general scanner; anything else returns nil
/// and goes the general way, so this changes speed, never results.
struct CanonicalJSONFastPath {
    let base: UnsafePointer<UInt8>
    let end: Int

    @inline(__always)
    func scan() -> Fields? {
        var i = 0
        guard matches(#"{"user":""#, at: &i), let user = plainString(&i), matches(#","item":""#, at: &i),
            let item = plainString(&i), matches(#","rating":"#, at: &i),
            let (rating, afterRating) = parseNumber(base, i, end)
        else { return nil }
        i = afterRating
        var timestamp: Double?
        if matches(#","ts":"#, at: &i) {
            guard let (value, afterTime) = parseNumber(base, i, end) else { return nil }
            timestamp = value
            i = afterTime
        }
        guard i == end - 1, base[i] == UInt8(ascii: "}") else { return nil }
        var fields = Fields(rating: rating, timestamp: timestamp)
        switch makeID(user) {
        case .success(let id): fields.user = id
        case .failure(let reason): fields.failure = reason
        }
        switch makeID(item) {
        case .success(let id): fields.item = id
        case .failure(let reason): fields.failure = fields.failure ?? reason
        }
        return fields
    }

    @inline(__always)
    private func matches(_ literal: StaticString, at i: inout Int) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard end - i >= count else { return false }
        let bytes = literal.utf8Start
        for offset in 0..<count where base[i + offset] != bytes[offset] { return false }
        i += count
        return true
    }

    /// Bytes up to the closing quote; nil at a backslash or a control character (general path).
    @inline(__always)
    private func plainString(_ i: inout Int) -> UnsafeBufferPointer<UInt8>? {
        let start = i
        while i < end {
            let byte = base[i]
            if byte == UInt8(ascii: "\"") {
                defer { i += 1 }
                return UnsafeBufferPointer(start: base + start, count: i - start)
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { return nil }
            i += 1
        }
        return nil
    }
}
