import RecModel

/// The live ranking figure of one domain: for sampled incoming events, before they are
/// learned, whether the event's item was in the top 10 that the published serving model gave
/// that user (what the user was being shown). Counted apart for users with ratings in the
/// domain (`personal`) and for users known only from other domains (`transfer`).
public struct OnlineHitRate: Sendable, Equatable {
    public var personal = Tally()
    public var transfer = Tally()

    public struct Tally: Sendable, Equatable {
        public var sampled = 0
        public var hits = 0

        /// The share of sampled events whose item was listed (nil before any sample).
        public var rate: Double? { sampled > 0 ? Double(hits) / Double(sampled) : nil }
    }

    /// The length of the list a hit must be in.
    public static let listLength = 10

    /// Samples one event against `model`; unknown users (popular lists) are not counted.
    mutating func sample(_ model: ServingModel, user: String, item: String, domain d: Int) {
        guard d < model.domains.count else { return }
        let (items, strategy) = model.recommend(user: user, domain: d, k: Self.listLength, excludeSeen: true)
        let hit = items.contains { $0.item == item }
        switch strategy {
        case .personal:
            personal.sampled += 1
            personal.hits += hit ? 1 : 0
        case .transfer:
            transfer.sampled += 1
            transfer.hits += hit ? 1 : 0
        case .popular: break
        }
    }
}
