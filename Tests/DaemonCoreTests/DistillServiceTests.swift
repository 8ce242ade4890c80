@testable import DaemonCore
import Checkpoint
import Foundation
import KafkaIngest
import RecModel
import ServiceLifecycle
import Synchronization
import Testing
import TestSupport

@Suite("Distill service")
struct DistillServiceTests {
    /// An ingest service of `learner` reading partition 0 of ratings.movies on `broker`.
    static func ingest(_ learner: Learner, broker: DevBroker) throws -> IngestService {
        let consumer = try KafkaConsumer(
            settings: TestKafka.settings(
                broker, topics: [TopicSettings(name: "ratings.movies", domain: "movies", ratingRange: 1...5)],
                assignment: .manual([TopicPartition("ratings.movies", 0)])),
            logger: TestKafka.logger())
        return IngestService(learner: learner, consumer: consumer, logger: TestKafka.logger())
    }

    /// A broker with ratings.movies, an empty one-domain learner (8 d) ingesting it, and a
    /// distill service on `schedule`.
    static func moviesService(_ schedule: DistillService.Schedule) throws -> (DevBroker, IngestService, DistillService) {
        let broker = try TestKafka.broker(["ratings.movies": 1])
        var configuration = LearnerConfiguration(domains: [DomainSpec(name: "movies", ratingRange: 1...5)])
        configuration.dimension = 8
        let ingest = try ingest(Learner(configuration: configuration), broker: broker)
        return (broker, ingest, DistillService(ingest: ingest, schedule: schedule, logger: TestKafka.logger()))
    }

    /// Readers keep one published version while new ones are swapped in under them: every
    /// answer from a version they hold is the same each time they ask, versions only grow, and
    /// several swaps happen while they read.
    @Test func publishedVersionsStayImmutableWhileQueriesReadThroughSwaps() async throws {
        let (broker, ingest, distill) = try Self.moviesService(.init(intervalSeconds: 0.1, everyEvents: 50, options: DistillOptions()))
        let group = ServiceGroup(services: [ingest, distill], logger: TestKafka.logger())
        let running = Task { try await group.run() }

        // Events keep arriving while the readers run, so every build differs from the last.
        let producing = Atomic<Bool>(true)
        let producer = Thread {
            var round = 0
            while producing.load(ordering: .relaxed) {
                let events = (0..<50).map { i in
                    TestKafka.json(user: "u\((round * 7 + i) % 40)", item: "i\((round * 13 + i * 3) % 60)", rating: Double(1 + (i + round) % 5))
                }
                try? TestKafka.produce(events, to: "ratings.movies", partitions: 1, broker: broker)
                round += 1
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
        producer.start()
        defer { producing.store(false, ordering: .relaxed) }

        let results = try await withThrowingTaskGroup(of: (versions: [Int], mismatches: Int).self) { readers in
            for reader in 0..<4 {
                readers.addTask {
                    var versions: [Int] = []
                    var mismatches = 0
                    let deadline = Date(timeIntervalSinceNow: 60)
                    while Set(versions).count < 6, Date() < deadline {
                        guard let held = distill.model else {
                            try await Task.sleep(for: .milliseconds(10))
                            continue
                        }
                        versions.append(held.version)
                        let user = "u\(reader * 3 + versions.count % 40)"
                        let first = held.recommend(user: user, domain: 0, k: 10, excludeSeen: true)
                        let popular = held.popular(domain: 0, k: 5).map(\.item)
                        let events = held.appliedEvents
                        try await Task.sleep(for: .milliseconds(30))  // new versions get published meanwhile
                        let again = held.recommend(user: user, domain: 0, k: 10, excludeSeen: true)
                        if again.items != first.items || again.strategy != first.strategy
                            || held.popular(domain: 0, k: 5).map(\.item) != popular || held.appliedEvents != events
                        {
                            mismatches += 1
                        }
                    }
                    return (versions, mismatches)
                }
            }
            return try await readers.reduce(into: []) { $0.append($1) }
        }
        producing.store(false, ordering: .relaxed)
        for result in results {
            #expect(result.mismatches == 0, "a held version changed under a reader")
            #expect(result.versions == result.versions.sorted(), "versions only grow: \(result.versions)")
            #expect(Set(result.versions).count >= 6, "the reader saw swaps: \(Set(result.versions).sorted())")
        }
        #expect(distill.status.builds >= 6)
        await group.triggerGracefulShutdown()
        try await running.value
    }
}

extension DistillServiceTests {
    /// SIGTERM does not wait for a build: graceful shutdown cancels the one in progress (here
    /// one that would never end by itself, a billion refit sweeps) and publishes nothing from
    /// it, so that ingest and the final checkpoint stop at once.
    @Test func gracefulShutdownCancelsTheBuildInProgress() async throws {
        let broker = try TestKafka.broker(["ratings.movies": 1])
        var configuration = LearnerConfiguration(domains: [
            DomainSpec(name: "movies", ratingRange: 1...5), DomainSpec(name: "books", ratingRange: 1...5, isTarget: true),
        ])
        configuration.dimension = 8
        var learner = Learner(configuration: configuration)
        // Users 0..<60 rate in both domains: the joint refit and the judging have work to do.
        for index in 0..<3_000 {
            let user = index % 100, domain = user < 60 ? index % 2 : 0
            learner.apply(Rating(domain: domain, user: "u\(user)", item: "i\(index * 7 % 50)", value: Double(1 + index % 5), timestampMillis: 1_700_000_000_000))
        }
        var options = DistillOptions()
        options.jointRefitSweeps = 1_000_000_000
        options.refitSweeps = 1_000_000_000
        let ingest = try Self.ingest(learner, broker: broker)
        let distill = DistillService(ingest: ingest, schedule: .init(intervalSeconds: 0.1, everyEvents: 0, options: options), logger: TestKafka.logger())
        let group = ServiceGroup(services: [ingest, distill], logger: TestKafka.logger())
        let running = Task { try await group.run() }
        // The first build starts with the service; it cannot have ended.
        try await Task.sleep(for: .seconds(1))
        #expect(distill.model == nil)
        await group.triggerGracefulShutdown()
        // Not a speed limit: a bound on a shutdown that would otherwise wait forever.
        let stopped = Flag()
        Task {
            _ = try? await running.value
            stopped.value.withLock { $0 = true }
        }
        let deadline = Date(timeIntervalSinceNow: 120)
        while !stopped.value.withLock({ $0 }), Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(stopped.value.withLock { $0 }, "the service group stopped without waiting for the build")
        #expect(distill.model == nil, "a cancelled build publishes nothing")
        #expect(distill.status.builds == 0)
    }
}

private final class Flag: Sendable {
    let value = Mutex(false)
}

extension DistillServiceTests {
    /// With `full_every` 3, two light versions follow each full build: each names the full
    /// version whose basis it uses, and serves users first seen after that full build. The
    /// catalog has a cluster index and items keep arriving: light versions place them.
    @Test func lightVersionsFillTheGapsBetweenFullBuilds() async throws {
        var options = DistillOptions()
        options.indexClusters = 4
        options.indexProbe = 4
        let (broker, ingest, distill) = try Self.moviesService(.init(intervalSeconds: 0.2, everyEvents: 0, fullEvery: 3, options: options))
        let published = Mutex<[(version: Int, basis: Int?, knowsNewest: Bool)]>([])
        let newest = Mutex("")
        // Per light version with an index: the late items it knows, and whether its index lists them all.
        let lateItems = Mutex<[(known: Int, listed: Bool)]>([])
        distill.onPublish { model in
            let user = newest.withLock { $0 }
            let known = !user.isEmpty && model.recommend(user: user, domain: 0, k: 5, excludeSeen: true).strategy == .personal
            published.withLock { $0.append((model.version, model.basisVersion, known)) }
            guard model.basisVersion != model.version, model.domains[0].indexSummary != nil else { return }
            // Every cluster probed: a list as long as the catalog holds every item the index holds.
            let listed = Set(model.recommend(user: "u2", domain: 0, k: 1_000, excludeSeen: false).items.map(\.item))
            let late = (0..<500).map { "late\($0)" }.filter { model.predict(user: "u2", item: $0, domain: 0) != nil }
            lateItems.withLock { $0.append((late.count, late.allSatisfy(listed.contains))) }
        }
        let group = ServiceGroup(services: [ingest, distill], logger: TestKafka.logger())
        let running = Task { try await group.run() }
        // A new user every round, with a timestamp that moves on, so every build has news.
        let deadline = Date(timeIntervalSinceNow: 90)
        var round = 0
        while published.withLock({ $0.count }) < 9, Date() < deadline {
            let user = "fresh\(round)"
            var events = (0..<20).map { i in
                TestKafka.json(user: i == 0 ? user : "u\((round * 7 + i) % 40)", item: "i\((round * 13 + i * 3) % 60)", rating: Double(1 + (i + round) % 5), ts: 1_700_000_000_000 + round * 1_000)
            }
            // And an item the catalog has not seen yet.
            events.append(TestKafka.json(user: "u1", item: "late\(round)", rating: 4, ts: 1_700_000_000_000 + round * 1_000))
            try TestKafka.produce(events, to: "ratings.movies", partitions: 1, broker: broker)
            round += 1
            try await Task.sleep(for: .milliseconds(300))
            newest.withLock { $0 = user }
        }
        await group.triggerGracefulShutdown()
        try await running.value
        let versions = published.withLock { $0 }
        #expect(versions.count >= 9, "versions published: \(versions.count)")
        #expect(distill.status.lightBuilds >= 4, "light builds: \(distill.status.lightBuilds) of \(distill.status.builds)")
        var lastFull: Int?
        var lightsInARow = 0
        for entry in versions {
            if entry.basis == entry.version {
                lastFull = entry.version
                lightsInARow = 0
            } else {
                lightsInARow += 1
                #expect(entry.basis != nil && entry.basis == lastFull, "version \(entry.version) uses the basis of \(String(describing: entry.basis)), the last full one is \(String(describing: lastFull))")
                #expect(lightsInARow <= 2, "at most two light versions in a row: \(versions.map { "\($0.version)/\($0.basis ?? -1)" })")
            }
        }
        let lights = versions.filter { $0.basis != $0.version }
        #expect(lights.contains { $0.knowsNewest }, "a light version serves a user first seen after its full build")
        let late = lateItems.withLock { $0 }
        #expect(late.contains { $0.known > 0 }, "light versions with an index met new items: \(late)")
        #expect(late.allSatisfy { $0.listed }, "every item a light version knows is in its index: \(late)")
    }
}

extension DistillServiceTests {
    /// Light versions reuse the last full build's projections: a reload that changes the build
    /// options (here the student dimension) is served by the next build, a full one, and
    /// light versions follow it again.
    @Test func aReloadOfTheBuildOptionsGivesAFullBuild() async throws {
        // Events every 0.1 s, builds every 0.5 s: no interval goes quiet (that would settle
        // on a full build), so every full build after the first comes from the reload.
        let schedule = DistillService.Schedule(intervalSeconds: 0.5, everyEvents: 0, fullEvery: 100, options: DistillOptions())
        let (broker, ingest, distill) = try Self.moviesService(schedule)
        let published = Mutex<[(version: Int, basis: Int?, dimension: Int)]>([])
        distill.onPublish { model in published.withLock { $0.append((model.version, model.basisVersion, model.dimension)) } }
        let group = ServiceGroup(services: [ingest, distill], logger: TestKafka.logger())
        let running = Task { try await group.run() }
        var round = 0
        func feed(until count: Int) async throws {
            let deadline = Date(timeIntervalSinceNow: 60)
            while published.withLock({ $0.count }) < count, Date() < deadline {
                let events = (0..<20).map { i in
                    TestKafka.json(user: "u\((round * 7 + i) % 40)", item: "i\((round * 13 + i * 3) % 60)", rating: Double(1 + (i + round) % 5), ts: 1_700_000_000_000 + round * 1_000)
                }
                try TestKafka.produce(events, to: "ratings.movies", partitions: 1, broker: broker)
                round += 1
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        try await feed(until: 3)
        var reloaded = schedule
        reloaded.options.dimension = 4
        distill.update(reloaded)
        let before = published.withLock { $0.count }
        try await feed(until: before + 4)
        await group.triggerGracefulShutdown()
        try await running.value
        let versions = published.withLock { $0 }
        #expect(versions.prefix(before).dropFirst().contains { $0.basis != $0.version }, "light versions before the reload: \(versions)")
        // A build that started before the reload may still finish with the old options.
        let after = Array(versions.dropFirst(before).drop { $0.dimension != 4 })
        let first = try #require(after.first, "the reload reached a version: \(versions)")
        #expect(first.basis == first.version, "the first version with the new options is full: \(versions)")
        #expect(after.allSatisfy { $0.dimension == 4 })
        #expect(after.contains { $0.basis != $0.version }, "light versions follow with the new options: \(versions)")
    }
}
