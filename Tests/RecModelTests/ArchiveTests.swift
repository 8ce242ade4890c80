import RecModel
import Testing

@Suite("Learner archive")
struct ArchiveTests {
    /// Two domains, a user cap that forces evictions (free rows), a forgotten user.
    static func configuration(dimension: Int = 8) -> LearnerConfiguration {
        var configuration = LearnerConfiguration(domains: [
            DomainSpec(name: "movies", ratingRange: 1...5, maxItems: 150),
            DomainSpec(name: "books", ratingRange: 1...10, isTarget: true),  // twins and a ring too
        ])
        configuration.dimension = dimension
        configuration.maxUsers = 250
        configuration.metricsWindow = 100
        return configuration
    }

    static func ratings(seed: UInt64) -> [Rating] {
        SyntheticRatings(users: 300, itemsPerDomain: 200, seed: seed).events(perUser: 4).enumerated().map { index, event in
            Rating(
                domain: event.domain, user: "u\(event.user)", item: "i\(event.item)",
                value: event.domain == 0 ? event.value : event.value * 2, timestampMillis: Int64(index) * 60_000)
        }
    }

    /// An odd dimension too: item records then pad their vector so that the scalars stay
    /// 8-byte aligned, and the checkpoint must still hold the vectors without the padding.
    @Test(arguments: [8, 5])
    func restoredLearnerContinuesBitIdentically(dimension: Int) throws {
        let events = Self.ratings(seed: 3)
        let half = events.count / 2
        var original = Learner(configuration: Self.configuration(dimension: dimension))
        for event in events[..<half] { original.apply(event) }
        original.forget(user: "u5")
        let archive = try original.archived()
        var restored = try archive.withSections { try Learner(restoring: $0, configuration: Self.configuration(dimension: dimension)) }
        #expect(try restored.archived().sections == archive.sections)
        for event in events[half...] {
            let expected = original.apply(event)
            let actual = restored.apply(event)
            #expect(expected.bitPattern == actual.bitPattern || (expected.isNaN && actual.isNaN))
        }
        #expect(try restored.archived().sections == original.archived().sections)
        #expect(restored.evictedUsers > 0)
        #expect(restored.isForgotten(user: "u5"))
    }

    @Test func refusesAnotherDimensionOrDomainListNamingBoth() throws {
        var learner = Learner(configuration: Self.configuration())
        for event in Self.ratings(seed: 1).prefix(100) { learner.apply(event) }
        let archive = try learner.archived()
        var other = Self.configuration()
        other.dimension = 16
        other.domains.removeLast()
        let error = try #require(throws: ArchiveError.self) {
            try archive.withSections { try Learner(restoring: $0, configuration: other) }
        }
        #expect(error.code == .incompatible)
        #expect(error.message.contains("model.dimension is 16, checkpoint has 8"))
        #expect(error.message.contains("domains are [movies], checkpoint has [movies, books]"))
    }

    @Test func everyCutOfEverySectionThrowsInsteadOfTrapping() throws {
        var learner = Learner(configuration: Self.configuration())
        for event in Self.ratings(seed: 2).prefix(400) { learner.apply(event) }
        let archive = try learner.archived()
        for section in archive.order {
            let full = archive.sections[section]!
            for cut in Set([0, 1, full.count / 3, full.count / 2, full.count - 1]) where cut < full.count {
                let error = try #require(throws: ArchiveError.self) {
                    try archive.withSections { sections in
                        var damaged = sections
                        damaged[section] = UnsafeRawBufferPointer(rebasing: sections[section]![0..<cut])
                        return try Learner(restoring: damaged, configuration: Self.configuration())
                    }
                }
                #expect(error.code == .truncated || error.code == .malformed, "\(section) cut at \(cut): \(error)")
            }
        }
    }
}
