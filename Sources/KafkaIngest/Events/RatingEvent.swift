/// One rating as it arrives on a domain topic: one Kafka message = one event.
public struct RatingEvent: Sendable, Equatable {
    /// Non-empty UTF-8, at most `EventParser.maxIDBytes` bytes.
    public var user: String
    public var item: String
    /// Finite and inside the domain's configured range.
    public var rating: Double
    /// Event time in milliseconds since the Unix epoch, when the producer gave one.
    public var timestampMillis: Int64?

    public init(user: String, item: String, rating: Double, timestampMillis: Int64? = nil) {
        self.user = user
        self.item = item
        self.rating = rating
        self.timestampMillis = timestampMillis
    }
}

/// Why a message was set aside instead of applied. Raw values are the stable names used in
/// logs, metrics labels, dead-letter headers and `stats`.
public enum RejectReason: String, CaseIterable, Sendable, Error {
    case malformed
    case missingField = "missing_field"
    case wrongType = "wrong_type"
    case nonFiniteRating = "non_finite_rating"
    case ratingOutOfRange = "rating_out_of_range"
    case emptyID = "empty_id"
    case oversizedID = "oversized_id"
    case unknownTopic = "unknown_topic"
}

/// Wire format of a topic's messages.
public enum EventFormat: String, Sendable, CaseIterable {
    /// `{"user":"u1","item":"i9","rating":4.5,"ts":1700000000}`; extra fields ignored.
    case json
    /// `user,item,rating[,ts]`; RFC 4180 quoting; extra columns ignored.
    case csv
}

/// Result of parsing one message.
public enum ParseOutcome: Sendable, Equatable {
    case event(RatingEvent)
    case rejected(RejectReason)
}
