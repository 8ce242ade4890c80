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

    /// The count of non-empty lists, then (row, list) by ascending row.
    func seen(_ seen: SeenLists, users: Int, into sink: inout some ArchiveSink) throws {
        try sink.append(UInt64(seen.count))
        try seen.forEach { row, list in
            try sink.append(row)
            try sink.append(array: list)
        }
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
