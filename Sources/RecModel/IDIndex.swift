/// String id ↔ dense row index, collision-free (keys are compared in full), with rows of
/// removed ids reused.
///
/// 256 independent open-addressing shards (linear probing, backward-shift deletion): when one
/// fills up only that shard is rehashed, so the worst growth pause is 1/256 of the table.
/// Keys live in fixed-size chunks that never move. All hashing is `StableHash`, so the
/// assignment of rows is a pure function of the sequence of inserts and removals.
public struct IDIndex: Sendable {
    static let shardBits = 8
    static let keysPerChunk = 4_096

    /// A slot: 0 = empty, else `tag << 32 | (row + 1)` where `tag` is 32 bits of the hash.
    struct Shard: Sendable {
        var slots: [UInt64] { didSet { mask = slots.count - 1 } }
        var count: Int
        /// `slots.count − 1`, next to the buffer's address: a probe computes its slot's
        /// address from the shard alone, without first loading the buffer's header.
        private(set) var mask: Int

        init(slots: [UInt64] = Array(repeating: 0, count: 16), count: Int = 0) {
            self.slots = slots
            self.count = count
            mask = slots.count - 1
        }
    }

    var shards: [Shard] = Array(repeating: Shard(), count: 1 << shardBits)
    var keyChunks: [[String?]] = []
    var hashes = ChunkedMatrix<UInt64>(width: 1, fill: 0)
    var freeRows: [Int32] = []
    /// Live ids.
    public internal(set) var count = 0
    /// One past the highest row ever handed out: parameter tables must cover `0..<rowLimit`.
    public internal(set) var rowLimit = 0

    public init() {}

    @inline(__always)
    static func shardIndex(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: hash >> 56) }
    @inline(__always)
    static func tag(_ hash: UInt64) -> UInt64 { (hash >> 16) & 0xFFFF_FFFF }

    public func key(of row: Int32) -> String? {
        let index = Int(row)
        guard index < rowLimit else { return nil }
        return keyChunks[index / Self.keysPerChunk][index % Self.keysPerChunk]
    }

    public func hash(of row: Int32) -> UInt64 { hashes[Int(row), 0] }

    /// True when `row` holds an id (rows of removed ids are free until reused).
    @inline(__always)
    public func isLive(_ row: Int32) -> Bool {
        let index = Int(row)
        return keyChunks[index / Self.keysPerChunk].withUnsafeBufferPointer { $0[index % Self.keysPerChunk] != nil }
    }

    @inline(__always)
    public func find(_ key: String, hash: UInt64) -> Int32? {
        probe(hash) { row in keyChunks[Int(row) / Self.keysPerChunk][Int(row) % Self.keysPerChunk] == key }
    }

    /// The row of the live id with this stable hash, when exactly that hash is stored (seen
    /// lists keep hashes, not ids; a 64-bit collision between two live ids is not expected).
    public func row(ofHash hash: UInt64) -> Int32? {
        probe(hash) { row in hashes[Int(row), 0] == hash }
    }

    /// Walks the probe run of `hash`: the first row whose slot tag matches and that `matches`
    /// accepts, or nil at the first empty slot.
    @inline(__always)
    private func probe(_ hash: UInt64, _ matches: (Int32) -> Bool) -> Int32? {
        let tag = Self.tag(hash)
        let shard = Self.shardIndex(hash)
        let mask = shards[shard].mask
        return shards[shard].slots.withUnsafeBufferPointer { slots in
            var position = Int(truncatingIfNeeded: hash) & mask
            while true {
                let slot = slots[position]
                if slot == 0 { return nil }
                if slot >> 32 == tag {
                    let row = Int32(truncatingIfNeeded: slot & 0xFFFF_FFFF) - 1
                    if matches(row) { return row }
                }
                position = (position + 1) & mask
            }
        }
    }

    /// The row of `key`, inserting it when absent.
    @inline(__always)
    public mutating func findOrInsert(_ key: String, hash: UInt64) -> (row: Int32, inserted: Bool) {
        if let row = find(key, hash: hash) { return (row, false) }
        let row: Int32
        if let reused = freeRows.popLast() {
            row = reused
        } else {
            row = Int32(rowLimit)
            rowLimit += 1
            if rowLimit > keyChunks.count * Self.keysPerChunk {
                keyChunks.append(Array(repeating: nil, count: Self.keysPerChunk))
            }
            hashes.reserve(rows: rowLimit)
        }
        keyChunks[Int(row) / Self.keysPerChunk][Int(row) % Self.keysPerChunk] = key
        hashes[Int(row), 0] = hash
        insertSlot(row: row, hash: hash)
        count += 1
        return (row, true)
    }

    /// Forgets the id at `row`; the row is handed out again by a later insert.
    public mutating func remove(row: Int32) {
        guard key(of: row) != nil else { return }
        let hash = hashes[Int(row), 0]
        let shardIndex = Self.shardIndex(hash)
        let mask = shards[shardIndex].slots.count - 1
        let wanted = Self.tag(hash) << 32 | UInt64(row + 1)
        var hole = Int(truncatingIfNeeded: hash) & mask
        while shards[shardIndex].slots[hole] != wanted { hole = (hole + 1) & mask }
        // Backward-shift deletion: pull later entries of the probe run into the hole.
        var next = hole
        while true {
            next = (next + 1) & mask
            let slot = shards[shardIndex].slots[next]
            if slot == 0 { break }
            let home = Int(truncatingIfNeeded: hashes[Int(slot & 0xFFFF_FFFF) - 1, 0]) & mask
            let distanceToHole = (hole - home) & mask
            let distanceToNext = (next - home) & mask
            if distanceToHole <= distanceToNext {
                shards[shardIndex].slots[hole] = slot
                hole = next
            }
        }
        shards[shardIndex].slots[hole] = 0
        shards[shardIndex].count -= 1
        keyChunks[Int(row) / Self.keysPerChunk][Int(row) % Self.keysPerChunk] = nil
        freeRows.append(row)
        count -= 1
    }

    private mutating func insertSlot(row: Int32, hash: UInt64) {
        let shardIndex = Self.shardIndex(hash)
        if (shards[shardIndex].count + 1) * 4 > shards[shardIndex].slots.count * 3 { grow(shardIndex) }
        let mask = shards[shardIndex].slots.count - 1
        var position = Int(truncatingIfNeeded: hash) & mask
        while shards[shardIndex].slots[position] != 0 { position = (position + 1) & mask }
        shards[shardIndex].slots[position] = Self.tag(hash) << 32 | UInt64(row + 1)
        shards[shardIndex].count += 1
    }

    private mutating func grow(_ shardIndex: Int) {
        let old = shards[shardIndex].slots
        var slots = [UInt64](repeating: 0, count: old.count * 2)
        let mask = slots.count - 1
        for slot in old where slot != 0 {
            var position = Int(truncatingIfNeeded: hashes[Int(slot & 0xFFFF_FFFF) - 1, 0]) & mask
            while slots[position] != 0 { position = (position + 1) & mask }
            slots[position] = slot
        }
        shards[shardIndex].slots = slots
    }

    /// Every live (row, key), in row order.
    public func forEach(_ body: (Int32, String) throws -> Void) rethrows {
        for row in 0..<rowLimit {
            if let key = keyChunks[row / Self.keysPerChunk][row % Self.keysPerChunk] { try body(Int32(row), key) }
        }
    }
}
