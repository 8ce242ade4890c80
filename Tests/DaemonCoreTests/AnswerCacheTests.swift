@testable import DaemonCore
import RecModel
import Testing

/// The cache's calls with the hash taken here, as `ServingAnswerCache` takes it once per request.
extension AnswerCache {
    mutating func value(for key: Key, version: Int) -> Value? { value(for: key, hash: key.hashValue, version: version) }

    mutating func insert(_ value: Value, bytes: Int, for key: Key, version: Int) {
        insert(value, bytes: bytes, for: key, hash: key.hashValue, version: version)
    }
}

@Suite("Answer cache")
struct AnswerCacheTests {
    @Test func servesAnAnswerOnlyForTheVersionItWasComputedOn() {
        var cache = AnswerCache<String, Int>(budgetBytes: 1 << 20, typicalBytes: 100)
        #expect(cache.value(for: "u1", version: 1) == nil)
        cache.insert(7, bytes: 100, for: "u1", version: 1)
        cache.insert(8, bytes: 100, for: "u2", version: 1)
        #expect(cache.value(for: "u1", version: 1) == 7)
        #expect(cache.value(for: "u2", version: 1) == 8)
        #expect(cache.value(for: "u3", version: 1) == nil)
        // A later version (e.g. after forget) never sees the old answers, and its first insert
        // drops them.
        #expect(cache.value(for: "u1", version: 2) == nil)
        cache.insert(9, bytes: 100, for: "u1", version: 2)
        #expect(cache.count == 1)
        #expect(cache.value(for: "u1", version: 2) == 9)
        #expect(cache.value(for: "u2", version: 2) == nil)
        #expect(cache.value(for: "u1", version: 1) == nil)
        // An answer of an older version that arrives late is not kept.
        cache.insert(10, bytes: 100, for: "u2", version: 1)
        #expect(cache.value(for: "u2", version: 1) == nil)
        #expect(cache.value(for: "u1", version: 2) == 9)
    }

    @Test func replacesTheAnswerOfAKeyInPlace() {
        var cache = AnswerCache<String, Int>(budgetBytes: 1 << 20, typicalBytes: 100)
        cache.insert(1, bytes: 100, for: "u", version: 1)
        let bytes = cache.bytes
        cache.insert(2, bytes: 300, for: "u", version: 1)
        #expect(cache.value(for: "u", version: 1) == 2)
        #expect(cache.count == 1)
        #expect(cache.bytes == bytes + 200)
    }

    @Test func neverExceedsItsBudgetUnderAStreamOfNewKeys() {
        let budget = 64 << 10
        var cache = AnswerCache<Int, [UInt8]>(budgetBytes: budget, typicalBytes: 200)
        #expect(cache.slotCount > 0)
        // Hashes from a seeded generator, not `hashValue` (seeded per process): which keys
        // share a set, and so which survive, is then the same on every run.
        func hash(_ key: Int) -> Int {
            var generator = SplitMix64(seed: UInt64(bitPattern: Int64(key)))
            return Int(truncatingIfNeeded: generator.next())
        }
        var kept = 0
        for key in 0..<100_000 {
            // Sizes from small to a few times the typical answer.
            cache.insert([], bytes: 50 + (key * 37) % 800, for: key, hash: hash(key), version: 1)
            #expect(cache.bytes <= budget)
            #expect(cache.count <= cache.slotCount)
            if cache.value(for: key, hash: hash(key), version: 1) != nil { kept += 1 }
        }
        // Most new answers are kept, by evicting older ones of their set (a big one is not kept
        // when its set alone cannot make room), and recent keys are still there.
        #expect(kept > 75_000)
        #expect((99_990..<100_000).filter { cache.value(for: $0, hash: hash($0), version: 1) != nil }.count >= 5)
        // An answer bigger than the whole budget is not kept, and does not empty the cache.
        let before = cache.count
        cache.insert([], bytes: budget + 1, for: -1, hash: hash(-1), version: 1)
        #expect(cache.value(for: -1, hash: hash(-1), version: 1) == nil)
        #expect(cache.count <= before && cache.bytes <= budget)
    }

    @Test func aFullSetGivesUpItsLeastRecentlyUsedAnswer() {
        // One set: every key competes for the same 4 slots.
        var cache = AnswerCache<Int, Int>(budgetBytes: 700, typicalBytes: 100)
        #expect(cache.slotCount == 4)
        for key in 0..<4 { cache.insert(key, bytes: 10, for: key, version: 1) }
        // 0 is used again, so 1 is now the least recently used.
        #expect(cache.value(for: 0, version: 1) == 0)
        cache.insert(4, bytes: 10, for: 4, version: 1)
        #expect(cache.value(for: 1, version: 1) == nil)
        #expect([0, 2, 3, 4].allSatisfy { cache.value(for: $0, version: 1) == $0 })
    }

    @Test func keepsNothingWithoutABudget() {
        var cache = AnswerCache<String, Int>(budgetBytes: 0, typicalBytes: 100)
        cache.insert(1, bytes: 1, for: "u", version: 1)
        #expect(cache.value(for: "u", version: 1) == nil)
        #expect(cache.slotCount == 0 && cache.bytes == 0)
    }
}

@Suite("Serving answer cache")
struct ServingAnswerCacheTests {
    typealias Answer = ServingAnswerCache.Answer

    func key(_ user: String, k: Int = 10) -> ServingAnswerCache.Key {
        .init(op: .recommend, domain: 0, k: k, excludeSeen: true, subject: user)
    }

    @Test func computesOncePerRequestAndVersion() {
        let cache = ServingAnswerCache(budgetMiB: 1)
        var computed = 0
        func ask(_ key: ServingAnswerCache.Key, version: Int) -> [UInt8]? {
            cache.answer(key, version: version) {
                computed += 1
                return Answer(strategy: .personal, items: Array("[\(computed)]".utf8))
            }?.items
        }
        #expect(ask(key("u1"), version: 1) == Array("[1]".utf8))
        #expect(ask(key("u1"), version: 1) == Array("[1]".utf8))
        #expect(computed == 1)
        // Another k is another answer; a new version computes again.
        #expect(ask(key("u1", k: 5), version: 1) == Array("[2]".utf8))
        #expect(ask(key("u1"), version: 2) == Array("[3]".utf8))
        #expect(ask(key("u1"), version: 2) == Array("[3]".utf8))
        guard case .object(let summary) = cache.summary else { Issue.record("summary is an object"); return }
        #expect(summary["hits"] == .integer(2) && summary["misses"] == .integer(3))
        // Version 1's answer for k 5 is dropped only if it shares a stripe with the key that
        // brought version 2 there (stripes follow the process's seeded hash).
        #expect([.integer(1), .integer(2)].contains(summary["entries"]), "\(summary)")
    }

    @Test func keepsNeitherThePopularityFallbackNorAnythingWhenOff() {
        let cache = ServingAnswerCache(budgetMiB: 1)
        var computed = 0
        func askThrice(_ user: String, _ strategy: ServingModel.Strategy) {
            for _ in 0..<3 {
                _ = cache.answer(key(user), version: 1) {
                    computed += 1
                    return Answer(strategy: strategy, items: [])
                }
            }
        }
        askThrice("unknown", .popular)
        #expect(computed == 3)
        cache.update(budgetMiB: 0)
        askThrice("u1", .personal)
        #expect(computed == 6)
        // An answer the model does not have (unknown item) is not an answer to keep.
        cache.update(budgetMiB: 1)
        #expect(cache.answer(key("u1"), version: 1) { nil } == nil)
        #expect(cache.answer(key("u1"), version: 1) { Answer(strategy: .personal, items: [1]) }?.items == [1])
    }
}

extension ServingAnswerCacheTests {
    /// Several threads ask while the version moves on under them: every answer they get is
    /// the one computed for their own key and version, never a kept answer of another.
    @Test func servesEveryThreadTheAnswerOfItsOwnVersionUnderConcurrency() async {
        let cache = ServingAnswerCache(budgetMiB: 1)
        let wrong = await withTaskGroup(of: Int.self) { group in
            for thread in 0..<4 {
                group.addTask {
                    var generator = SplitMix64(seed: UInt64(thread))
                    var wrong = 0
                    for step in 0..<20_000 {
                        // Versions only grow for each caller, as the published model's do.
                        let version = step / 2_000
                        let user = "u\(generator.next() % 500)"
                        let expected = Array("\(user)@\(version)".utf8)
                        let answer = cache.answer(self.key(user), version: version) {
                            Answer(strategy: .personal, items: expected)
                        }
                        if answer?.items != expected { wrong += 1 }
                    }
                    return wrong
                }
            }
            return await group.reduce(0, +)
        }
        #expect(wrong == 0)
        guard case .object(let summary) = cache.summary, case .integer(let hits)? = summary["hits"] else {
            Issue.record("summary has hits")
            return
        }
        #expect(hits > 0, "repeated users within a version are served from the cache")
    }
}
