import Metrics
import QueryProtocol
import RecModel
import Synchronization

/// `recommend` and `similar` answers of the published model, kept until the next version
/// (`socket.answer_cache_mib`). Both are a pure function of the request and the model version:
/// a kept answer is the one the model would give again, byte for byte. A repeated `recommend`
/// then costs a lookup instead of a scan of every item of the domain.
///
/// Isolation: the answers are shared by the event loops, in stripes of an `AnswerCache` each
/// under its own `Mutex`, held for one lookup or one insert (never while an answer is
/// computed). The model itself is still read without any lock; the stripes only order the
/// query threads among themselves, and with many more stripes than loops they rarely meet.
/// Shared rather than one cache per loop: every new version is missed once per user, not once
/// per user and loop, and a miss is a scan of every item.
final class ServingAnswerCache: Sendable {
    struct Key: Hashable, Sendable {
        var op: QueryRequest.Operation
        var domain: Int
        var k: Int
        var excludeSeen: Bool
        /// The user (`recommend`) or the item (`similar`).
        var subject: String
    }

    /// An answer's `strategy` (nil for `similar`) and its `items`, encoded.
    struct Answer: Sendable {
        var strategy: ServingModel.Strategy?
        var items: [UInt8]

        /// Worth a slot: the popularity fallback (unknown users) is a prefix of a list the
        /// model holds, cheaper to copy again than to keep once per user.
        var isWorthKeeping: Bool { strategy != .popular }
    }

    private final class Stripe: Sendable {
        let cache = Mutex(AnswerCache<Key, Answer>(budgetBytes: 0, typicalBytes: 1))
    }

    /// The heap bytes of a top-10 answer (encoded items, array header): sizes the slot tables.
    /// Bigger answers take more of the budget, so fewer are kept.
    static let typicalAnswerBytes = 400
    static let stripeCount = 64
    private let stripes = (0..<stripeCount).map { _ in Stripe() }
    private let enabled = Atomic<Bool>(false)
    private let hits = Atomic<Int>(0)
    private let misses = Atomic<Int>(0)
    private let hitCounter = Counter(label: "crossrec_answer_cache_lookups_total", dimensions: [("result", "hit")])
    private let missCounter = Counter(label: "crossrec_answer_cache_lookups_total", dimensions: [("result", "miss")])

    init(budgetMiB: Int) {
        update(budgetMiB: budgetMiB)
    }

    /// A new budget (at start and on reload): the kept answers are dropped.
    func update(budgetMiB: Int) {
        let share = (budgetMiB << 20) / Self.stripeCount
        for stripe in stripes {
            stripe.cache.withLock { $0 = AnswerCache(budgetBytes: share, typicalBytes: Self.typicalAnswerBytes) }
        }
        enabled.store(budgetMiB > 0, ordering: .relaxed)
    }

    /// The kept answer of `key` under the model `version` queried, or the one `compute` makes
    /// (kept for the next request, when it fits the budget); nil when `compute` has no answer.
    func answer(_ key: Key, version: Int, compute: () -> Answer?) -> Answer? {
        guard enabled.load(ordering: .relaxed) else { return compute() }
        // The high bits pick the stripe; the cache inside picks its set with the low ones.
        let hash = key.hashValue
        let stripe = stripes[Int(UInt(bitPattern: hash) >> 58) % stripes.count]
        if let kept = stripe.cache.withLock({ $0.value(for: key, hash: hash, version: version) }) {
            hits.add(1, ordering: .relaxed)
            hitCounter.increment()
            return kept
        }
        misses.add(1, ordering: .relaxed)
        missCounter.increment()
        guard let answer = compute() else { return nil }
        guard answer.isWorthKeeping else { return answer }
        // Heap bytes beyond the slot: the items and their array header, and the key's text
        // when it is too long to be stored inline (over 15 UTF-8 bytes).
        let subject = key.subject.utf8.count
        let bytes = answer.items.capacity + 32 + (subject > 15 ? subject + 32 : 0)
        stripe.cache.withLock { $0.insert(answer, bytes: bytes, for: key, hash: hash, version: version) }
        return answer
    }

    /// For `stats`: the budget, what is kept now and how lookups went since the start.
    var summary: JSONValue {
        var (budget, bytes, entries) = (0, 0, 0)
        for stripe in stripes {
            stripe.cache.withLock {
                budget += $0.budgetBytes
                bytes += $0.bytes
                entries += $0.count
            }
        }
        return .object([
            "budget_bytes": .integer(Int64(budget)), "bytes": .integer(Int64(bytes)),
            "entries": .integer(Int64(entries)),
            "hits": .integer(Int64(hits.load(ordering: .relaxed))),
            "misses": .integer(Int64(misses.load(ordering: .relaxed))),
        ])
    }
}
