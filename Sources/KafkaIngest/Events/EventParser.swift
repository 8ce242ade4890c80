/// Turns one message payload into a `RatingEvent` or the reason it is rejected.
///
/// Hot path (every consumed message): no Foundation, no allocation beyond the two id strings
/// (ids up to 15 UTF-8 bytes are stored inline by `String`, so usually none at all).
public struct EventParser: Sendable {
    /// Longest accepted user or item id, in UTF-8 bytes.
    public static let maxIDBytes = 256
    /// Timestamps at or above this are taken as milliseconds, below as seconds
    /// (1e11 s is the year 5138; 1e11 ms is 1973).
    static let millisecondThreshold = 100_000_000_000.0

    public var format: EventFormat
    public var ratingRange: ClosedRange<Double>

    public init(format: EventFormat, ratingRange: ClosedRange<Double>) {
        self.format = format
        self.ratingRange = ratingRange
    }

    public func parse(_ payload: UnsafeRawBufferPointer) -> ParseOutcome {
        guard let base = payload.baseAddress?.assumingMemoryBound(to: UInt8.self), !payload.isEmpty else {
            return .rejected(.malformed)
        }
        switch format {
        case .json:
            if let outcome = CanonicalJSONFastPath(base: base, end: payload.count).parse(self) { return outcome }
            var scanner = JSONEventScanner(base: base, end: payload.count)
            return validate(scanner.scan())
        case .csv:
            if let outcome = CanonicalCSVFastPath(base: base, end: payload.count).parse(self) { return outcome }
            return validate(CSVEventScanner(base: base, end: payload.count).scan())
        }
    }

    public func parse(_ payload: some Collection<UInt8>) -> ParseOutcome {
        if let outcome = payload.withContiguousStorageIfAvailable({ parse(UnsafeRawBufferPointer($0)) }) {
            return outcome
        }
        return Array(payload).withUnsafeBytes { parse($0) }
    }

    private func validate(_ fields: Fields) -> ParseOutcome {
        if let failure = fields.failure { return .rejected(failure) }
        guard let user = fields.user, let item = fields.item, let rating = fields.rating else {
            return .rejected(.missingField)
        }
        return finish(user: user, item: item, rating: rating, timestamp: fields.timestamp)
    }

    /// The checks after the ids: rating finite and in range, timestamp sane.
    @inline(__always)
    func finish(user: String, item: String, rating: Double, timestamp: Double?) -> ParseOutcome {
        guard rating.isFinite else { return .rejected(.nonFiniteRating) }
        guard ratingRange.contains(rating) else { return .rejected(.ratingOutOfRange) }
        var millis: Int64?
        if let ts = timestamp {
            guard ts.isFinite, ts >= 0, ts < 1e17 else { return .rejected(.wrongType) }
            // ts ≥ 0 here, so adding ½ and truncating rounds to nearest without a libm call.
            millis = ts >= Self.millisecondThreshold ? Int64(ts) : Int64(ts * 1000 + 0.5)
        }
        return .event(RatingEvent(user: user, item: item, rating: rating, timestampMillis: millis))
    }
}

/// What a scanner found; `failure` wins over everything else.
struct Fields {
    var user: String?
    var item: String?
    var rating: Double?
    var timestamp: Double?
    var failure: RejectReason?
}

/// Makes an id from raw UTF-8 bytes, enforcing the id rules.
@inline(__always)
func makeID(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<String, RejectReason> {
    if bytes.isEmpty { return .failure(.emptyID) }
    if bytes.count > EventParser.maxIDBytes { return .failure(.oversizedID) }
    // ASCII (the common case) is valid UTF-8 as it is; only other ids pay for validation.
    var orBits: UInt8 = 0
    for byte in bytes { orBits |= byte }
    if orBits < 0x80 { return .success(asciiString(bytes)) }
    guard let id = String(validating: bytes, as: UTF8.self) else { return .failure(.malformed) }
    return .success(id)
}

/// A `String` from bytes known to be ASCII. Up to 15 bytes, `String(decoding:as:)` assembles
/// the inline small string one byte at a time (a quarter of the parse time in the profile);
/// the uninitialized-capacity initializer copies the bytes into the inline words in one go and
/// checks ASCII a word at a time. Same resulting `String`.
@inline(__always)
func asciiString(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
    guard let source = bytes.baseAddress, !bytes.isEmpty else { return "" }
    return String(unsafeUninitializedCapacity: bytes.count) { buffer in
        buffer.baseAddress!.update(from: source, count: bytes.count)
        return bytes.count
    }
}
