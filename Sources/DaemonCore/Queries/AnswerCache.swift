/// Answers kept for the model version they were computed on, within a byte budget.
///
/// For handlers whose answers are a pure function of (request, published model version): an
/// answer is served only for the version it was computed on, and the first insert under a
/// newer version empties the cache (versions only grow). A `forget` publishes a new version,
/// so no answer computed before it is served after it.
///
/// Set-associative: a key can live in one of `ways` slots of its set; a full set gives up its
/// least recently used slot. Inserting past the byte budget evicts in the key's set only, and
/// when that does not make room the answer is not kept: the budget is never exceeded and no
/// insertion scans the whole cache.
///
/// Isolation: none; a value type, guarded by its owner (`ServingAnswerCache`: one per stripe,
/// under the stripe's `Mutex`).
struct AnswerCache<Key: Hashable, Value> {
    /// Slots per set.
    static var ways: Int { 4 }

    struct Slot {
        var key: Key
        var hash: Int
        var value: Value
        var bytes: Int
        var lastUse: UInt64
    }

    /// The version every kept answer belongs to (nil: none yet).
    private(set) var version: Int?
    let budgetBytes: Int
    /// The slot table plus the kept answers' bytes as `insert` was told them: at most the budget.
    private(set) var bytes = 0
    private(set) var count = 0
    private var slots: [Slot?]
    private let setMask: Int
    private var tick: UInt64 = 0

    /// - Parameters:
    ///   - budgetBytes: the most the slot table and the kept answers may take.
    ///   - typicalBytes: an answer's usual size, beyond its slot; sets the number of slots, so
    ///     that a full table of typical answers fits the budget. Too small a budget for one
    ///     set of typical answers keeps nothing.
    init(budgetBytes: Int, typicalBytes: Int) {
        self.budgetBytes = max(0, budgetBytes)
        let perSet = Self.ways * (MemoryLayout<Slot?>.stride + max(1, typicalBytes))
        var sets = self.budgetBytes >= perSet ? 1 : 0
        while sets > 0, sets * 2 * perSet <= self.budgetBytes { sets *= 2 }
        setMask = max(0, sets - 1)
        slots = Array(repeating: nil, count: sets * Self.ways)
        bytes = slots.count * MemoryLayout<Slot?>.stride
    }

    /// The slots the cache has (kept answers are at most this many).
    var slotCount: Int { slots.count }

    /// The answer kept for `key` under `version`, nil if none. `hash` is `key.hashValue`, taken
    /// by the caller once per request (it also picks the stripe).
    mutating func value(for key: Key, hash: Int, version: Int) -> Value? {
        guard !slots.isEmpty, version == self.version else { return nil }
        let first = (hash & setMask) * Self.ways
        // Compared in place: copying a slot out would retain its key and value.
        for index in first..<first + Self.ways where slots[index]?.hash == hash && slots[index]?.key == key {
            tick &+= 1
            slots[index]!.lastUse = tick
            return slots[index]!.value
        }
        return nil
    }

    /// Keeps `value` (`bytes` long) for `key` under `version`, if it fits the budget. A new
    /// version drops every answer of the old one first.
    mutating func insert(_ value: Value, bytes: Int, for key: Key, hash: Int, version: Int) {
        guard !slots.isEmpty else { return }
        // Versions only grow: an answer computed on an older one, by a request that began
        // before the swap, is not kept.
        if let current = self.version, version < current { return }
        if version != self.version { removeAll(newVersion: version) }
        let first = (hash & setMask) * Self.ways
        var target = first
        for index in first..<first + Self.ways {
            guard let slot = slots[index] else {
                target = index
                break
            }
            if slot.hash == hash, slot.key == key {
                target = index
                break
            }
            if slot.lastUse < slots[target]!.lastUse { target = index }
        }
        // The slot taken is freed first; past the budget, the set's other answers go, oldest
        // first, and if that is not enough this one is not kept.
        evict(target)
        while self.bytes + bytes > budgetBytes, let oldest = oldestOccupied(from: first) { evict(oldest) }
        guard self.bytes + bytes <= budgetBytes else { return }
        tick &+= 1
        slots[target] = Slot(key: key, hash: hash, value: value, bytes: bytes, lastUse: tick)
        self.bytes += bytes
        count += 1
    }

    /// Drops every answer and keeps answers of `newVersion` from now on.
    mutating func removeAll(newVersion: Int?) {
        if count > 0 {
            for index in slots.indices { slots[index] = nil }
        }
        bytes = slots.count * MemoryLayout<Slot?>.stride
        count = 0
        version = newVersion
    }

    private mutating func evict(_ index: Int) {
        guard let slot = slots[index] else { return }
        bytes -= slot.bytes
        count -= 1
        slots[index] = nil
    }

    private func oldestOccupied(from first: Int) -> Int? {
        var oldest: Int?
        for index in first..<first + Self.ways {
            guard let slot = slots[index] else { continue }
            if oldest.map({ slot.lastUse < slots[$0]!.lastUse }) ?? true { oldest = index }
        }
        return oldest
    }
}

extension AnswerCache: Sendable where Key: Sendable, Value: Sendable {}
extension AnswerCache.Slot: Sendable where Key: Sendable, Value: Sendable {}
