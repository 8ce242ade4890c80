/// Erasing a user on request, for good: a tombstone keeps a Kafka replay from bringing them back.
extension Learner {
    /// Erases the user everywhere (shared vector, every domain's biases and seen items) and
    /// records a tombstone: later events of this user are skipped. Returns whether the user was
    /// known.
    @discardableResult
    public mutating func forget(user: String) -> Bool {
        tombstones.insert(StableHash.hash(user))
        var known = false
        let keys = configuration.shareUserVectors ? [user] : domains.indices.map { Self.perDomainKey(user, $0) }
        for key in keys {
            if let row = users.find(key, hash: StableHash.hash(key)) {
                evictUser(row: row)
                known = true
            }
        }
        // Their ratings kept for the refit go too (checkpoints hold that buffer).
        let hashes = Set(keys.map { StableHash.hash($0) })
        for d in domains.indices { domains[d].recent.remove(users: hashes) }
        return known
    }

    /// Users forgotten so far.
    public var tombstoneCount: Int { tombstones.count }

    /// True when `user` was forgotten.
    public func isForgotten(user: String) -> Bool {
        !tombstones.isEmpty && tombstones.contains(StableHash.hash(user))
    }
}
