/// The item hashes a user rated, as a throw-away open-addressing set for one query.
///
/// Why: `recommend` used to turn each seen hash into an item row (one probe of the item index
/// per entry, a cache miss each) and sort the rows, for every query: with 1 000 seen items
/// that cost more than scoring 100 000 rows. Candidates are few, so the query now asks
/// "is this candidate's hash among the seen ones?" instead, and the set costs one pass over
/// the list. Stable hashes are already uniformly mixed, so the low bits are the slot.
struct SeenHashSet: ~Copyable {
    private let slots: UnsafeMutablePointer<UInt64>
    private let mask: Int
    /// 0 marks an empty slot, so a hash of 0 is remembered apart.
    private var containsZero = false
    /// No hash at all (then no candidate needs its hash read).
    let isEmpty: Bool

    /// A set of `hashes` (duplicates allowed: re-ratings take several list entries).
    init(_ hashes: ArraySlice<UInt64>) {
        var capacity = 16
        while capacity < 2 * hashes.count { capacity <<= 1 }
        mask = capacity - 1
        isEmpty = hashes.isEmpty
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: 0, count: capacity)
        for hash in hashes {
            if hash == 0 {
                containsZero = true
                continue
            }
            var position = Int(truncatingIfNeeded: hash) & mask
            while slots[position] != 0, slots[position] != hash { position = (position + 1) & mask }
            slots[position] = hash
        }
    }

    deinit { slots.deallocate() }

    @inline(__always)
    func contains(_ hash: UInt64) -> Bool {
        if hash == 0 { return containsZero }
        var position = Int(truncatingIfNeeded: hash) & mask
        while true {
            let slot = slots[position]
            if slot == hash { return true }
            if slot == 0 { return false }
            position = (position + 1) & mask
        }
    }
}
