/// Bounded memory: ids idle past the expiry, and the least recently seen ids beyond the caps,
/// are evicted between two events (the safe point: the writer holds no row pointer there).
extension Learner {
    /// Fraction of a full table evicted at once when a cap is hit, so that the O(n) scan is
    /// paid once per n/16 inserts rather than on every insert.
    static let evictionFraction = 16

    /// Evicts users and items not seen since `clockMillis - idleExpiryMillis`.
    mutating func expireIdle() {
        eventsSinceSweep = 0
        let cutoff = clockMillis - configuration.idleExpiryMillis
        evictUsers { lastSeen in lastSeen < cutoff }
        for d in domains.indices { evictItems(domain: d) { lastSeen in lastSeen < cutoff } }
    }

    mutating func evictLeastRecentUsers() {
        let threshold = Self.evictionThreshold(count: users.rowLimit, live: { users.key(of: Int32($0)) != nil }) {
            userRecords.lastSeen($0)
        }
        evictUsers { $0 <= threshold }
    }

    mutating func evictLeastRecentItems(domain d: Int) {
        let items = domains[d].items
        let records = domains[d].itemRecords
        let threshold = Self.evictionThreshold(count: items.rowLimit, live: { items.key(of: Int32($0)) != nil }) {
            records.lastSeen($0)
        }
        evictItems(domain: d) { $0 <= threshold }
    }

    /// A last-seen time at or below which about 1/`evictionFraction` of the live rows fall,
    /// estimated from evenly spaced rows (deterministic: no random sampling).
    static func evictionThreshold(count: Int, live: (Int) -> Bool, lastSeen: (Int) -> Int64) -> Int64 {
        let step = max(1, count / 4_096)
        var samples: [Int64] = []
        for row in stride(from: 0, to: count, by: step) where live(row) { samples.append(lastSeen(row)) }
        guard !samples.isEmpty else { return .min }
        samples.sort()
        return samples[min(samples.count - 1, samples.count / evictionFraction)]
    }

    /// Removes a user everywhere: id, vector (re-seeded if the row is reused), per-domain
    /// biases and seen lists.
    mutating func evictUser(row: Int32) {
        users.remove(row: row)
        if lastUserRow == row { lastUserRow = -1 }
        twins.remove(user: Int(row))
        let record = userRecords.writable(Int(row))
        for d in domains.indices {
            let scalars = record.scalars(domain: d)
            if scalars[UserColumn.ratings] > 0 { domains[d].usersWithRatings -= 1 }
            scalars.update(repeating: 0, count: UserColumn.count)
            domains[d].seen.remove(row: row)
        }
    }

    private mutating func evictUsers(where shouldEvict: (Int64) -> Bool) {
        var evicted: [Int32] = []
        users.forEach { row, _ in if shouldEvict(userRecords.lastSeen(Int(row))) { evicted.append(row) } }
        for row in evicted { evictUser(row: row) }
        evictedUsers += evicted.count
    }

    private mutating func evictItems(domain d: Int, where shouldEvict: (Int64) -> Bool) {
        var evicted: [Int32] = []
        let records = domains[d].itemRecords
        domains[d].items.forEach { row, _ in if shouldEvict(records.lastSeen(Int(row))) { evicted.append(row) } }
        for row in evicted { domains[d].items.remove(row: row) }
        domains[d].evictedItems += evicted.count
    }
}
