/// The most recent ratings of a domain, kept for the refits at distillation (JointRefit.swift,
/// Learner+Refit.swift): a ring of (user hash, item hash, rating), oldest overwritten first.
///
/// Ids are kept as hashes, not rows: rows are reused after eviction, a hash names the same id
/// whenever it comes back, and an entry whose user or item is gone is simply skipped.
///
/// Isolation: part of the learner's value. Entries live in a ChunkedMatrix, so a snapshot
/// shares them copy-on-write and the writer then copies one chunk per 256 events it appends.
struct RecentRatings: Sendable {
    /// Most entries held (0: nothing is recorded).
    let capacity: Int
    /// (user hash, item hash, rating's bit pattern) per entry.
    private(set) var entries = ChunkedMatrix<UInt64>(width: 3, fill: 0)
    private(set) var count = 0
    /// Where the next entry goes.
    private var next = 0

    init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    mutating func append(user: UInt64, item: UInt64, value: Double) {
        guard capacity > 0 else { return }
        entries.reserve(rows: next + 1)
        let row = entries.mutableRow(next)
        row[0] = user
        row[1] = item
        row[2] = value.bitPattern
        next = next + 1 == capacity ? 0 : next + 1
        count = min(count + 1, capacity)
    }

    /// Every entry, oldest first.
    func forEach(_ body: (_ user: UInt64, _ item: UInt64, _ value: Double) throws -> Void) rethrows {
        let start = count < capacity ? 0 : next
        for offset in 0..<count {
            let row = entries.row((start + offset) % capacity)
            try body(row[0], row[1], Double(bitPattern: row[2]))
        }
    }

    /// Drops the entries of these users (`forget`), keeping the others in order.
    mutating func remove(users: Set<UInt64>) {
        guard count > 0 else { return }
        var kept = RecentRatings(capacity: capacity)
        forEach { user, item, value in
            if !users.contains(user) { kept.append(user: user, item: item, value: value) }
        }
        self = kept
    }

    // MARK: Snapshots

    mutating func precopy(_ operation: PrecopyOperation) -> Bool {
        entries.precopy(operation)
    }

    mutating func finishPrecopy() -> RecentRatings {
        var snapshot = self
        snapshot.entries = entries.finishPrecopy()
        return snapshot
    }
}

extension RecentRatings {
    /// Entry count, ring position of the next entry, then the ring's rows raw.
    func archive(into sink: inout some ArchiveSink) throws {
        try sink.append(UInt64(count))
        try sink.append(UInt64(next))
        try entries.archive(rows: count, into: &sink)
    }

    /// What `archive` wrote, into a ring of `capacity` (the configured one: when it is smaller
    /// than the archived count, the newest entries are kept).
    static func restore(capacity: Int, from reader: inout ArchiveReader) throws(ArchiveError) -> RecentRatings {
        let count = try reader.read(UInt64.self)
        let next = try reader.read(UInt64.self)
        let (stored, rows) = try ChunkedMatrix<UInt64>.restore(width: 3, fill: 0, from: &reader)
        guard UInt64(rows) == count, next <= count else { throw reader.malformed("\(rows) rows for \(count) entries, next \(next)") }
        var ratings = RecentRatings(capacity: capacity)
        // The same capacity: the ring as it was, so that it archives to the same bytes.
        if count > 0, Int(count) == capacity || (next == count && Int(count) < capacity) {
            ratings.entries = stored
            ratings.count = Int(count)
            ratings.next = Int(next) % capacity
            return ratings
        }
        // Another capacity: oldest first, from `next` to the end of the ring, then from its start.
        for row in Array(Int(next)..<rows) + Array(0..<Int(next)) {
            let entry = stored.row(row)
            ratings.append(user: entry[0], item: entry[1], value: Double(bitPattern: entry[2]))
        }
        return ratings
    }
}

extension Learner {
    /// Ratings held in domain `d`'s ring for the refits.
    public func recentRatingCount(domain d: Int) -> Int { domains[d].recent.count }
}
