#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A version as the differences from the one before it: what a learner publishes to read
/// replicas between full versions (issue "Scale-out on Kafka"). Light versions
/// (Learner+LightDistill.swift) change the rows of the users seen since their base and the
/// items; a patch carries those rows, the id indexes' changed slots and keys, and the changed
/// seen lists — about the size of the events' rows, where the 64 KiB blocks of two encodings
/// differ almost everywhere (a longer seen list shifts every byte after it).
///
/// Layout: magic "XRPT", format u32, the base's version u64, then the new model's encoding
/// (ServingModel+Encoding.swift) with each large part replaced by its differences from the
/// base's same part (`PartDiffs`, in the order the encoding walks them):
/// - an array: its new count u64, the changed row numbers (u32 array), their elements;
/// - an id index: the new row limit and count, each shard's slots as an array difference, the
///   changed rows' keys (length + 1 u32, or 0 for none) and hashes, the free rows whole;
/// - seen lists: the count of changed rows, then per row (row i32, the count of items dropped
///   from the front u32, the items appended as an array).
/// Applying a patch gives the new model exactly: a replica checks the CRC-32C of its encoding
/// against the one its learner published.
extension ServingModel {
    static let patchMagic: UInt32 = 0x5450_5258  // "XRPT"
    static let patchFormat: UInt32 = 1

    /// This version as a patch of `base`, or nil when the two are not the same shape (other
    /// dimensions, domains, lists or index): then only the whole encoding will do.
    public func patch(from base: ServingModel) -> [UInt8]? {
        guard sameShape(as: base) else { return nil }
        var collector = PartCollector()
        var ignored = ByteSink()
        // ByteSink's appends do not throw; the collector's neither.
        try! base.encode(into: &ignored, parts: &collector)
        var sink = ByteSink()
        try! sink.append(Self.patchMagic)
        try! sink.append(Self.patchFormat)
        try! sink.append(UInt64(base.version))
        var diffs = PartDiffs(base: collector.parts)
        do {
            try encode(into: &sink, parts: &diffs)
        } catch {
            return nil
        }
        return diffs.next == collector.parts.count ? sink.bytes : nil
    }

    /// The version `patch` describes, applied to this one (its base).
    public func applying(patch bytes: [UInt8]) throws(ArchiveError) -> ServingModel {
        var collector = PartCollector()
        var ignored = ByteSink()
        try! encode(into: &ignored, parts: &collector)
        do {
            return try bytes.withUnsafeBytes { raw in
                var reader = ArchiveReader(raw, section: Self.encodingSection)
                guard try reader.read(UInt32.self) == Self.patchMagic else { throw reader.malformed("not a serving model patch") }
                let format = try reader.read(UInt32.self)
                guard format == Self.patchFormat else {
                    throw ArchiveError(.incompatible, "serving model patch format \(format); this build reads \(Self.patchFormat)")
                }
                let base = try reader.readInt()
                guard base == version else { throw reader.malformed("a patch of version \(base), applied to version \(version)") }
                var parts = PatchedParts(base: collector.parts)
                let model = try Self.decode(&reader, parts: &parts)
                try reader.expectEnd()
                guard parts.next == collector.parts.count else { throw reader.malformed("the patch leaves parts of the base unread") }
                return model
            }
        } catch let error as ArchiveError {
            throw error
        } catch {
            throw ArchiveError(.malformed, "\(error)")
        }
    }

    /// Same dimensions, domains and tables: the encodings walk the same parts in the same order.
    func sameShape(as other: ServingModel) -> Bool {
        dimension == other.dimension && shareUserVectors == other.shareUserVectors && domains.count == other.domains.count
            && zip(domains, other.domains).allSatisfy { a, b in
                a.name == b.name && a.lists.isRanking == b.lists.isRanking && (a.lists.userBase == nil) == (b.lists.userBase == nil)
                    && (a.index == nil) == (b.index == nil)
            }
    }
}

/// A large part of a model, as the encoding met it.
enum ModelPart {
    case array(Any, rowWidth: Int)
    case index(IDIndex)
    case seen(SeenLists)
}

/// Records the parts of a model, in encoding order, and writes nothing.
struct PartCollector: PartWriter {
    var parts: [ModelPart] = []

    mutating func array<T: BitwiseCopyable>(_ array: [T], rowWidth: Int, into sink: inout some ArchiveSink) throws {
        parts.append(.array(array, rowWidth: rowWidth))
    }

    mutating func index(_ index: IDIndex, into sink: inout some ArchiveSink) throws { parts.append(.index(index)) }

    mutating func seen(_ seen: SeenLists, users: Int, into sink: inout some ArchiveSink) throws { parts.append(.seen(seen)) }
}

/// A part of the new model whose base part has another type or row width.
struct PartMismatch: Error {}

/// Writes each part as its differences from the base's part at the same place.
struct PartDiffs: PartWriter {
    let base: [ModelPart]
    var next = 0

    init(base: [ModelPart]) { self.base = base }

    private mutating func take() throws -> ModelPart {
        guard next < base.count else { throw PartMismatch() }
        defer { next += 1 }
        return base[next]
    }

    mutating func array<T: BitwiseCopyable>(_ array: [T], rowWidth: Int, into sink: inout some ArchiveSink) throws {
        guard case .array(let any, let width) = try take(), width == rowWidth, let old = any as? [T] else { throw PartMismatch() }
        let stride = MemoryLayout<T>.stride * rowWidth
        var rows: [UInt32] = []
        var values: [T] = []
        old.withUnsafeBytes { old in
            array.withUnsafeBytes { new in
                for row in 0..<array.count / rowWidth {
                    let start = row * stride
                    if start + stride <= old.count, memcmp(old.baseAddress! + start, new.baseAddress! + start, stride) == 0 { continue }
                    rows.append(UInt32(row))
                }
            }
        }
        values.reserveCapacity(rows.count * rowWidth)
        for row in rows { values.append(contentsOf: array[Int(row) * rowWidth..<(Int(row) + 1) * rowWidth]) }
        try sink.append(UInt64(array.count))
        try sink.append(array: rows)
        try sink.append(array: values)
    }

    mutating func index(_ index: IDIndex, into sink: inout some ArchiveSink) throws {
        guard case .index(let old) = try take() else { throw PartMismatch() }
        try index.appendDifferences(from: old, into: &sink)
    }

    mutating func seen(_ seen: SeenLists, users: Int, into sink: inout some ArchiveSink) throws {
        guard case .seen(let old) = try take() else { throw PartMismatch() }
        var changed: [Int32] = []
        for chunk in 0..<max(old.chunks.count, seen.chunks.count) {
            // Chunks the two versions share are the same buffers: most compare at once.
            if chunk < old.chunks.count, chunk < seen.chunks.count, old.chunks[chunk] == seen.chunks[chunk] { continue }
            for slot in 0..<1 << SeenLists.rowsPerChunkShift {
                let row = Int32(chunk << SeenLists.rowsPerChunkShift + slot)
                if old[row] != seen[row] { changed.append(row) }
            }
        }
        try sink.append(UInt64(changed.count))
        for row in changed {
            let (before, after) = (old[row] ?? [], seen[row] ?? [])
            // Lists grow at the end and, at their limit, lose their oldest items: the new list
            // is usually the old one less a few first items plus a few new ones.
            var drop = before.count
            if after.starts(with: before) {
                drop = 0
            } else if let first = after.first, let position = before.firstIndex(of: first), after.starts(with: before[position...]) {
                drop = position
            }
            try sink.append(row)
            try sink.append(UInt32(drop))
            try sink.append(array: Array(after[(before.count - drop)...]))
        }
    }
}

/// Reads each part as differences and applies them to the base's part at the same place.
struct PatchedParts: PartReader {
    let base: [ModelPart]
    var next = 0

    init(base: [ModelPart]) { self.base = base }

    private mutating func take(_ reader: ArchiveReader) throws(ArchiveError) -> ModelPart {
        guard next < base.count else { throw reader.malformed("the patch has more parts than its base") }
        defer { next += 1 }
        return base[next]
    }

    mutating func array<T: BitwiseCopyable>(_ reader: inout ArchiveReader, of type: T.Type, rowWidth: Int) throws(ArchiveError) -> [T] {
        guard case .array(let any, let width) = try take(reader), width == rowWidth, let old = any as? [T] else {
            throw reader.malformed("a patched array does not match its base's part")
        }
        let announced = try reader.read(UInt64.self)
        guard announced <= 1 << 40 else { throw reader.malformed("a patched array of \(announced) elements") }
        let count = Int(announced)
        let rows = try reader.readArray(of: UInt32.self)
        let values = try reader.readArray(of: T.self)
        // Rows ascending and in range, one row of elements each, and every row past the base's
        // end among them (they have no other bytes).
        let baseRows = old.count / rowWidth
        guard count % rowWidth == 0, values.count == rows.count * rowWidth,
            zip(rows, rows.dropFirst()).allSatisfy({ $0 < $1 }), rows.last.map({ Int($0) < count / rowWidth }) ?? true,
            count / rowWidth <= baseRows || rows.filter({ Int($0) >= baseRows }).count == count / rowWidth - baseRows
        else { throw reader.malformed("a patched array's rows do not fit its \(count) elements") }
        let stride = MemoryLayout<T>.stride
        let result = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            old.withUnsafeBytes { old in
                let kept = min(old.count, count * stride)
                if kept > 0 { raw.baseAddress!.copyMemory(from: old.baseAddress!, byteCount: kept) }
                if kept < count * stride { (raw.baseAddress! + kept).initializeMemory(as: UInt8.self, repeating: 0, count: count * stride - kept) }
            }
            values.withUnsafeBytes { values in
                for (index, row) in rows.enumerated() {
                    (raw.baseAddress! + Int(row) * rowWidth * stride).copyMemory(
                        from: values.baseAddress! + index * rowWidth * stride, byteCount: rowWidth * stride)
                }
            }
            initialized = count
        }
        return result
    }

    mutating func index(_ reader: inout ArchiveReader) throws(ArchiveError) -> IDIndex {
        guard case .index(let old) = try take(reader) else { throw reader.malformed("a patched id index does not match its base's part") }
        return try old.applyingDifferences(&reader)
    }

    mutating func seen(_ reader: inout ArchiveReader, users: Int) throws(ArchiveError) -> SeenLists {
        guard case .seen(var seen) = try take(reader) else { throw reader.malformed("patched seen lists do not match their base's part") }
        try reader.readRowEntries(entryBytes: 16, below: users, what: "patched seen lists") { reader, row throws(ArchiveError) in
            let drop = Int(try reader.read(UInt32.self))
            let appended = try reader.readArray(of: UInt64.self)
            let before = seen[row] ?? []
            guard drop <= before.count else { throw reader.malformed("patched seen list of row \(row) drops \(drop) of \(before.count)") }
            seen.update(row: row) { $0 = Array(before[drop...]) + appended }
        }
        // Rows of users gone from the index keep no list.
        return seen
    }
}

extension ArchiveReader {
    /// A count, then as many entries of at least `entryBytes` bytes that each start with a row
    /// (i32), rows strictly ascending and below `limit`; `entry` reads the rest of each.
    mutating func readRowEntries(
        entryBytes: Int, below limit: Int, what: String, _ entry: (inout ArchiveReader, Int32) throws(ArchiveError) -> Void
    ) throws(ArchiveError) {
        let count = try readCount(elementBytes: entryBytes)
        var previous: Int32 = -1
        for _ in 0..<count {
            let row = try read(Int32.self)
            guard row > previous, Int(row) < limit else { throw malformed("\(what): row \(row)") }
            previous = row
            try entry(&self, row)
        }
    }
}
