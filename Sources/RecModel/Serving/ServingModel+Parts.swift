/// The large parts of a serving model's encoding — arrays of rows, id indexes, seen lists —
/// written whole (`WholeParts`, the encoding replicas receive for a full version) or as their
/// differences from a base version's parts (`PartDiffs`, ServingModel+Patch.swift). Both walk
/// the model in the same order, so a patch is the encoding with its large parts replaced by
/// their differences.
protocol PartWriter {
    /// An array of rows of `rowWidth` elements (its count is a multiple of it).
    mutating func array<T: BitwiseCopyable>(_ array: [T], rowWidth: Int, into sink: inout some ArchiveSink) throws
    mutating func index(_ index: IDIndex, into sink: inout some ArchiveSink) throws
    /// Seen lists of user rows below `users`.
    mutating func seen(_ seen: SeenLists, users: Int, into sink: inout some ArchiveSink) throws
}

protocol PartReader {
    mutating func array<T: BitwiseCopyable>(_ reader: inout ArchiveReader, of: T.Type, rowWidth: Int) throws(ArchiveError) -> [T]
    mutating func index(_ reader: inout ArchiveReader) throws(ArchiveError) -> IDIndex
    mutating func seen(_ reader: inout ArchiveReader, users: Int) throws(ArchiveError) -> SeenLists
}

struct WholeParts: PartWriter {
    func array<T: BitwiseCopyable>(_ array: [T], rowWidth: Int, into sink: inout some ArchiveSink) throws {
        try sink.append(array: array)
    }

    func index(_ index: IDIndex, into sink: inout some ArchiveSink) throws { try index.archive(into: &sink) }

    /// The count of non-empty lists, then (row, list) by ascending row: row i32, count u64,
    /// the items. Staged 64 KiB at a time: three sink calls a user were most of the time of a
    /// 1 M-user version's encoding and checksum (perf of the learner and the replica).
    func seen(_ seen: SeenLists, users: Int, into sink: inout some ArchiveSink) throws {
        try sink.append(UInt64(seen.count))
        let staging = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 8)
        defer { staging.deallocate() }
        var used = 0
        try seen.forEach { row, list in
            let bytes = 12 + list.count * MemoryLayout<UInt64>.stride
            if used + bytes > staging.count {
                try sink.append(UnsafeRawBufferPointer(rebasing: staging[..<used]))
                used = 0
            }
            guard bytes <= staging.count else {
                try sink.append(row)
                return try sink.append(array: list)
            }
            staging.storeBytes(of: row.littleEndian, toByteOffset: used, as: Int32.self)
            staging.storeBytes(of: UInt64(list.count).littleEndian, toByteOffset: used + 4, as: UInt64.self)
            list.withUnsafeBytes { (staging.baseAddress! + used + 12).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            used += bytes
        }
        try sink.append(UnsafeRawBufferPointer(rebasing: staging[..<used]))
    }
}

struct WholePartsReader: PartReader {
    func array<T: BitwiseCopyable>(_ reader: inout ArchiveReader, of type: T.Type, rowWidth: Int) throws(ArchiveError) -> [T] {
        try reader.readArray(of: type)
    }

    func index(_ reader: inout ArchiveReader) throws(ArchiveError) -> IDIndex { try IDIndex.restore(from: &reader) }

    func seen(_ reader: inout ArchiveReader, users: Int) throws(ArchiveError) -> SeenLists {
        try Learner.restoreSeen(&reader, users: users)
    }
}
