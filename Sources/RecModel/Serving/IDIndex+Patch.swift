/// An id index as its differences from an earlier state of itself (ServingModel+Patch.swift):
/// the shards' slots as array differences, the keys and hashes of the rows whose id changed,
/// the free rows whole. Applied to the earlier state it gives this index exactly — the same
/// slots, so the same encoding.
extension IDIndex {
    func appendDifferences(from old: IDIndex, into sink: inout some ArchiveSink) throws {
        try sink.append(UInt64(rowLimit))
        try sink.append(UInt64(count))
        var slotDiffs = PartDiffs(base: old.shards.map { .array($0.slots, rowWidth: 1) })
        for shard in shards {
            try sink.append(UInt64(shard.count))
            try slotDiffs.array(shard.slots, rowWidth: 1, into: &sink)
        }
        var changed: [Int32] = []
        for row in 0..<Int32(rowLimit) where Int(row) >= old.rowLimit || old.key(of: row) != key(of: row) { changed.append(row) }
        try sink.append(UInt64(changed.count))
        for row in changed {
            try sink.append(row)
            try sink.append(hash(of: row))
            if var key = key(of: row) {
                try key.withUTF8 { utf8 in
                    try sink.append(UInt32(utf8.count + 1))
                    try sink.append(UnsafeRawBufferPointer(utf8))
                }
            } else {
                try sink.append(UInt32(0))
            }
        }
        try sink.append(array: freeRows)
    }

    func applyingDifferences(_ reader: inout ArchiveReader) throws(ArchiveError) -> IDIndex {
        var index = self
        let (limit, live) = (try reader.read(UInt64.self), try reader.read(UInt64.self))
        // Every new row comes with its key (at least 16 bytes of the patch): a damaged limit
        // cannot make the index allocate more than the patch could fill.
        guard limit >= UInt64(self.rowLimit), limit - UInt64(self.rowLimit) <= UInt64(reader.remaining / 16), live <= limit else {
            throw reader.malformed("patched index: \(live) ids in \(limit) rows")
        }
        let (rowLimit, count) = (Int(limit), Int(live))
        var slotParts = PatchedParts(base: shards.map { .array($0.slots, rowWidth: 1) })
        for shard in index.shards.indices {
            let shardCount = try reader.read(UInt64.self)
            let slots = try slotParts.array(&reader, of: UInt64.self, rowWidth: 1)
            guard slots.count >= 16, slots.count & (slots.count - 1) == 0, shardCount < UInt64(slots.count) else {
                throw reader.malformed("patched index, shard \(shard): \(shardCount) ids in \(slots.count) slots")
            }
            index.shards[shard] = Shard(slots: slots, count: Int(shardCount))
        }
        index.rowLimit = rowLimit
        while index.keyChunks.count * Self.keysPerChunk < rowLimit {
            index.keyChunks.append([String?](repeating: nil, count: Self.keysPerChunk))
        }
        index.hashes.reserve(rows: rowLimit)
        try reader.readRowEntries(entryBytes: 16, below: rowLimit, what: "patched index") { reader, row throws(ArchiveError) in
            let hash = try reader.read(UInt64.self)
            let length = Int(try reader.read(UInt32.self))
            let key = length > 0 ? String(decoding: try reader.take(length - 1), as: UTF8.self) : nil
            index.keyChunks[Int(row) / Self.keysPerChunk][Int(row) % Self.keysPerChunk] = key
            index.hashes[Int(row), 0] = hash
        }
        index.freeRows = try reader.readArray(of: Int32.self)
        index.count = count
        return index
    }
}
