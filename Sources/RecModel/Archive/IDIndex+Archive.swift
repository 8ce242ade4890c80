/// The index exactly as it is: slot tables, keys by row, hashes, free rows in order. Rows of
/// later inserts after a restore are therefore those of an uninterrupted run.
///
/// Layout: row limit u64, live count u64; per shard: count u64, slots (u64 count + u64 each);
/// per row: key length + 1 as u32 (0 = free row) and its UTF-8 bytes; hashes as a matrix;
/// free rows (u64 count + i32 each).
extension IDIndex {
    func archive(into sink: inout some ArchiveSink) throws {
        try sink.append(UInt64(rowLimit))
        try sink.append(UInt64(count))
        for shard in shards {
            try sink.append(UInt64(shard.count))
            try sink.append(array: shard.slots)
        }
        for row in 0..<rowLimit {
            if var key = keyChunks[row / Self.keysPerChunk][row % Self.keysPerChunk] {
                try key.withUTF8 { utf8 in
                    try sink.append(UInt32(utf8.count + 1))
                    try sink.append(UnsafeRawBufferPointer(utf8))
                }
            } else {
                try sink.append(UInt32(0))
            }
        }
        try hashes.archive(rows: rowLimit, into: &sink)
        try sink.append(array: freeRows)
    }

    static func restore(from reader: inout ArchiveReader) throws(ArchiveError) -> IDIndex {
        var index = IDIndex()
        let rowLimit = try reader.readCount(elementBytes: 4)
        let count = try reader.read(UInt64.self)
        for shard in index.shards.indices {
            let shardCount = try reader.read(UInt64.self)
            let slots = try reader.readArray(of: UInt64.self)
            guard slots.count >= 16, slots.count & (slots.count - 1) == 0, shardCount < UInt64(slots.count) else {
                throw reader.malformed("shard \(shard): \(shardCount) ids in \(slots.count) slots")
            }
            index.shards[shard] = Shard(slots: slots, count: Int(shardCount))
        }
        index.rowLimit = rowLimit
        index.keyChunks = (0..<(rowLimit + keysPerChunk - 1) / keysPerChunk).map { _ in
            [String?](repeating: nil, count: keysPerChunk)
        }
        var live = 0
        for row in 0..<rowLimit {
            let length = Int(try reader.read(UInt32.self))
            guard length > 0 else { continue }
            index.keyChunks[row / keysPerChunk][row % keysPerChunk] = String(decoding: try reader.take(length - 1), as: UTF8.self)
            live += 1
        }
        let (hashes, hashRows) = try ChunkedMatrix<UInt64>.restore(width: 1, fill: 0, from: &reader)
        index.hashes = hashes
        index.freeRows = try reader.readArray(of: Int32.self)
        guard live == Int(count), hashRows == rowLimit, live + index.freeRows.count == rowLimit,
            index.freeRows.allSatisfy({ $0 >= 0 && Int($0) < rowLimit && index.key(of: $0) == nil }),
            index.slotsMatchKeys(live: live)
        else {
            throw reader.malformed("inconsistent index: \(live) keys, \(count) recorded, \(rowLimit) rows")
        }
        index.count = live
        return index
    }

    /// True when every live row has exactly one slot, in the shard and with the tag of its hash
    /// (a crafted file could otherwise make a probe or a removal loop forever).
    private func slotsMatchKeys(live: Int) -> Bool {
        var slotted = [Bool](repeating: false, count: rowLimit)
        var total = 0
        for (shardIndex, shard) in shards.enumerated() {
            var occupied = 0
            for slot in shard.slots where slot != 0 {
                let row = Int(slot & 0xFFFF_FFFF) - 1
                guard row < rowLimit, !slotted[row], key(of: Int32(row)) != nil else { return false }
                let hash = hashes[row, 0]
                guard Self.shardIndex(hash) == shardIndex, Self.tag(hash) == slot >> 32 else { return false }
                slotted[row] = true
                occupied += 1
            }
            guard occupied == shard.count else { return false }
            total += occupied
        }
        return total == live
    }
}
