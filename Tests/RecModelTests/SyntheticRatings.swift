import RecModel

/// Ratings generated from a planted low-rank model: r = clip(mean + scale·(u·v) + noise).
struct SyntheticRatings {
    var rank = 4
    var users = 300
    var itemsPerDomain = 200
    var domains = 2
    var noise = 0.3
    var seed: UInt64 = 7

    struct Event {
        var domain: Int
        var user: Int
        var item: Int
        var value: Double
    }

    /// Latent factors: users share theirs across domains (shared taste).
    func factors() -> (users: [[Double]], items: [[[Double]]]) {
        var generator = SplitMix64(seed: seed)
        func vector() -> [Double] { (0..<rank).map { _ in Double(generator.nextSignedUnitFloat()) } }
        let users = (0..<users).map { _ in vector() }
        let items = (0..<domains).map { _ in (0..<itemsPerDomain).map { _ in vector() } }
        return (users, items)
    }

    /// `perUser` ratings per user and domain, shuffled deterministically.
    /// `seed` varies the sampled items and noise, not the planted factors.
    func events(
        perUser: Int, domains included: [Int]? = nil, seed eventSeed: UInt64 = 0, userFilter: (Int) -> Bool = { _ in true }
    ) -> [Event] {
        let (userFactors, itemFactors) = factors()
        var generator = SplitMix64(seed: seed &+ 1 &+ eventSeed &* 7_919)
        var events: [Event] = []
        for user in 0..<users where userFilter(user) {
            for domain in included ?? Array(0..<domains) {
                for _ in 0..<perUser {
                    let item = Int(generator.next() % UInt64(itemsPerDomain))
                    let dot = zip(userFactors[user], itemFactors[domain][item]).map(*).reduce(0, +)
                    let noiseTerm = noise * Double(generator.nextSignedUnitFloat())
                    events.append(Event(domain: domain, user: user, item: item, value: min(5, max(1, 3 + 1.2 * dot + noiseTerm))))
                }
            }
        }
        events.shuffle(using: &generator)
        return events
    }

    static func rating(_ event: Event, time: Int64 = 1_700_000_000_000) -> Rating {
        Rating(domain: event.domain, user: "u\(event.user)", item: "i\(event.item)", value: event.value, timestampMillis: time)
    }

    static func configuration(domains: Int = 2) -> LearnerConfiguration {
        var configuration = LearnerConfiguration(domains: (0..<domains).map { DomainSpec(name: "d\($0)", ratingRange: 1...5) })
        configuration.dimension = 8
        return configuration
    }
}
