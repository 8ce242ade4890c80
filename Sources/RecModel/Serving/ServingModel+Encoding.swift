/// A serving model as bytes, and back: what a learner would publish to read replicas (issue
/// "Scale-out on Kafka"). The bytes are a pure function of the model: maps are written in key
/// order, so one model always encodes to the same bytes and a decoded model re-encodes to them.
///
/// Layout (little-endian, the archive's field encodings: ArchiveSink): magic "XRSM", format
/// u32, then the model's header, the user index, and each domain in order. No I/O here:
/// chunking, checksums and transport belong to the publisher.
extension ServingModel {
    static let encodingMagic: UInt32 = 0x4D53_5258  // "XRSM"
    static let encodingFormat: UInt32 = 2
    static let encodingSection = ArchiveSection(kind: 0x40)

    public func encoded() -> [UInt8] {
        var sink = ByteSink()
        // ByteSink's appends do not throw.
        try! encode(into: &sink)
        return sink.bytes
    }

    /// The bytes of `encoded()`, handed to `sink` as they are made (a checksum of them needs
    /// no copy of the whole model).
    public func encode(into sink: inout some ArchiveSink) throws {
        var parts = WholeParts()
        try encode(into: &sink, parts: &parts)
    }

    public static func decoded(_ bytes: [UInt8]) throws(ArchiveError) -> ServingModel {
        do {
            return try bytes.withUnsafeBytes { raw in
                var reader = ArchiveReader(raw, section: encodingSection)
                var parts = WholePartsReader()
                let model = try decode(&reader, parts: &parts)
                try reader.expectEnd()
                return model
            }
        } catch let error as ArchiveError {
            throw error
        } catch {
            throw ArchiveError(.malformed, "\(error)")
        }
    }

    /// The encoding, its large parts written by `parts` (whole, or as differences from a base
    /// version's: ServingModel+Patch.swift).
    func encode(into sink: inout some ArchiveSink, parts: inout some PartWriter) throws {
        try sink.append(Self.encodingMagic)
        try sink.append(Self.encodingFormat)
        try sink.append(UInt64(version))
        try sink.append(UInt64(appliedEvents))
        try sink.append(clockMillis)
        try sink.append(UInt32(dimension))
        try sink.append(UInt32(teacherDimension))
        try sink.append(buildNanos)
        try sink.append(shareUserVectors)
        try sink.append(jointRefit != nil)
        if let jointRefit {
            try sink.append(jointRefit.model)
            try appendNamed(jointRefit.validationRMSE, to: &sink)
            try sink.append(UInt64(jointRefit.validationUsers))
            try sink.append(UInt64(jointRefit.ratings))
            try sink.append(UInt64(jointRefit.users))
            try sink.append(UInt64(jointRefit.judgedVersion))
        }
        try parts.index(users, into: &sink)
        try sink.append(UInt32(domains.count))
        for domain in domains { try domain.encode(into: &sink, parts: &parts, users: users.rowLimit) }
    }

    static func decode(_ reader: inout ArchiveReader, parts: inout some PartReader) throws(ArchiveError) -> ServingModel {
        guard try reader.read(UInt32.self) == encodingMagic else { throw reader.malformed("not a serving model") }
        let format = try reader.read(UInt32.self)
        // Format 1 lacks the joint refit's report (a replica upgraded before its learner reads it).
        guard format == encodingFormat || format == 1 else {
            throw ArchiveError(.incompatible, "serving model format \(format); this build reads 1 and \(encodingFormat)")
        }
        let version = try reader.readInt()
        let appliedEvents = try reader.readInt()
        let clockMillis = try reader.read(Int64.self)
        let dimension = Int(try reader.read(UInt32.self))
        let teacherDimension = Int(try reader.read(UInt32.self))
        guard dimension >= 1, dimension <= 1 << 16, teacherDimension >= 1 else {
            throw reader.malformed("dimensions \(dimension) and \(teacherDimension)")
        }
        let buildNanos = try reader.read(UInt64.self)
        let shared = try reader.readBool()
        var jointRefit: JointChoice?
        if format >= 2, try reader.readBool() {
            let model = try reader.readString()
            let validation = try readNamed(&reader, what: "joint refit models")
            jointRefit = JointChoice(
                model: model, validationRMSE: validation, validationUsers: try reader.readInt(),
                ratings: try reader.readInt(), users: try reader.readInt(),
                judgedVersion: try reader.readInt())
        }
        let users = try parts.index(&reader)
        let count = Int(try reader.read(UInt32.self))
        guard count >= 1, count <= 1_024 else { throw reader.malformed("\(count) domains") }
        var domains: [ServedDomain] = []
        for _ in 0..<count { domains.append(try ServedDomain.decode(&reader, parts: &parts, dimension: dimension, users: users.rowLimit)) }
        return ServingModel(
            version: version, appliedEvents: appliedEvents, clockMillis: clockMillis, dimension: dimension,
            teacherDimension: teacherDimension, domains: domains, buildNanos: buildNanos, users: users, shareUserVectors: shared,
            jointRefit: jointRefit)
    }
}

extension ServedDomain {
    fileprivate func encode(into sink: inout some ArchiveSink, parts: inout some PartWriter, users: Int) throws {
        try sink.append(name)
        try sink.append(ratingRange.lowerBound)
        try sink.append(ratingRange.upperBound)
        try sink.append(isTarget)
        try sink.append(mean)
        try parts.index(items, into: &sink)
        try parts.array(liveItems.words, rowWidth: 1, into: &sink)
        try itemRows.encode(into: &sink, parts: &parts)
        try parts.array(itemBias, rowWidth: 1, into: &sink)
        try sink.append(lists.isRanking)
        if lists.isRanking {
            try lists.itemRows.encode(into: &sink, parts: &parts)
            try parts.array(lists.itemBias, rowWidth: 1, into: &sink)
            try parts.array(lists.userRows, rowWidth: itemRows.dimension, into: &sink)
        }
        try sink.append(lists.userBase != nil)
        if let base = lists.userBase {
            try sink.append(base.mean.bitPattern)
            try parts.array(base.bias, rowWidth: 1, into: &sink)
        }
        try sink.append(index != nil)
        if let index { try index.encode(into: &sink, parts: &parts) }
        try parts.array(itemNorms, rowWidth: 1, into: &sink)
        try parts.array(userRows, rowWidth: itemRows.dimension, into: &sink)
        try parts.array(userBias, rowWidth: 1, into: &sink)
        try parts.array(personal.words, rowWidth: 1, into: &sink)
        try parts.seen(seen, users: users, into: &sink)
        try sink.append(UInt64(seenLimit))
        try sink.append(array: popular.map(\.row))
        try sink.append(array: popular.map(\.count))
        try sink.append(fidelity.scoreRMSE)
        try sink.append(fidelity.top10Overlap)
        try sink.append(UInt64(fidelity.sampledUsers))
        try sink.append(fidelity.retainedEnergy)
        try sink.append(UInt64(fidelity.studentBytes))
        try sink.append(UInt64(fidelity.teacherBytes))
        try sink.append(transfer != nil)
        if let transfer {
            try sink.append(transfer.method)
            try appendNamed(transfer.validationRMSE, to: &sink)
            try sink.append(UInt64(transfer.trainingUsers))
            try sink.append(UInt64(transfer.validationUsers))
        }
        try sink.append(refit != nil)
        if let refit {
            try sink.append(refit.regularization)
            let penalties = refit.validationRMSE.keys.sorted()
            try sink.append(array: penalties)
            try sink.append(array: penalties.map { refit.validationRMSE[$0]! })
            try sink.append(UInt64(refit.ratings))
            try sink.append(UInt64(refit.items))
            try sink.append(UInt64(refit.users))
        }
    }

    fileprivate static func decode(
        _ reader: inout ArchiveReader, parts: inout some PartReader, dimension k: Int, users: Int
    ) throws(ArchiveError) -> ServedDomain {
        let name = try reader.readString()
        let low = try reader.readDouble(), high = try reader.readDouble()
        guard low < high else { throw reader.malformed("domain \(name): rating range \(low)...\(high)") }
        let isTarget = try reader.readBool()
        let mean = try reader.readDouble()
        let items = try parts.index(&reader)
        let liveItems = RowSet(words: try parts.array(&reader, of: UInt64.self, rowWidth: 1))
        let itemRows = try Int8Rows.decode(&reader, parts: &parts)
        let itemBias = try parts.array(&reader, of: Float.self, rowWidth: 1)
        guard itemRows.dimension == k, itemRows.count == items.rowLimit, itemBias.count == items.rowLimit else {
            throw reader.malformed("domain \(name): item rows do not match its \(items.rowLimit) items")
        }
        let isRanking = try reader.readBool()
        var listRows = itemRows, listBias = itemBias, listUsers: [Float] = []
        if isRanking {
            listRows = try Int8Rows.decode(&reader, parts: &parts)
            listBias = try parts.array(&reader, of: Float.self, rowWidth: 1)
            listUsers = try parts.array(&reader, of: Float.self, rowWidth: k)
        }
        var userBase: (mean: Float, bias: [Float])?
        if try reader.readBool() {
            let mean = Float(bitPattern: try reader.read(UInt32.self))
            userBase = (mean, try parts.array(&reader, of: Float.self, rowWidth: 1))
        }
        let index = try reader.readBool() ? try ClusterIndex.decode(&reader, parts: &parts) : nil
        let itemNorms = try parts.array(&reader, of: Float.self, rowWidth: 1)
        let userRows = try parts.array(&reader, of: Float.self, rowWidth: k)
        let userBias = try parts.array(&reader, of: Float.self, rowWidth: 1)
        guard userRows.count == users * k, userBias.count == users else {
            throw reader.malformed("domain \(name): user rows do not match the \(users) users")
        }
        // Every row a query follows must exist: these come from a topic anyone allowed to
        // produce can write, and a replica must refuse them rather than trap on a query.
        guard listRows.dimension == k, listRows.count == items.rowLimit, listBias.count == items.rowLimit,
            !isRanking || listUsers.count == users * k, userBase.map({ $0.bias.count == users }) ?? true,
            itemNorms.count == items.rowLimit
        else { throw reader.malformed("domain \(name): lists or norms do not match its items and users") }
        if let index, let problem = index.inconsistency(items: items.rowLimit, dimension: k) {
            throw reader.malformed("domain \(name): cluster index: \(problem)")
        }
        if !isRanking { listUsers = userRows }
        let personal = RowSet(words: try parts.array(&reader, of: UInt64.self, rowWidth: 1))
        let seen = try parts.seen(&reader, users: users)
        let seenLimit = try reader.readInt()
        let popularRows = try reader.readArray(of: Int32.self)
        let popularCounts = try reader.readArray(of: Double.self)
        guard popularRows.count == popularCounts.count, popularRows.allSatisfy({ $0 >= 0 && Int($0) < items.rowLimit }) else {
            throw reader.malformed("domain \(name): popular list")
        }
        let fidelity = Fidelity(
            scoreRMSE: try reader.readDouble(), top10Overlap: try reader.readDouble(), sampledUsers: try reader.readInt(),
            retainedEnergy: try reader.readDouble(), studentBytes: try reader.readInt(),
            teacherBytes: try reader.readInt())
        var transfer: TransferChoice?
        if try reader.readBool() {
            let method = try reader.readString()
            let validation = try readNamed(&reader, what: "domain \(name): transfer candidates")
            transfer = TransferChoice(
                method: method, validationRMSE: validation, trainingUsers: try reader.readInt(),
                validationUsers: try reader.readInt())
        }
        var refit: RefitChoice?
        if try reader.readBool() {
            let regularization = try reader.readDouble()
            let penalties = try reader.readArray(of: Double.self)
            let errors = try reader.readArray(of: Double.self)
            guard penalties.count == errors.count else { throw reader.malformed("domain \(name): refit candidates") }
            refit = RefitChoice(
                regularization: regularization, validationRMSE: Dictionary(uniqueKeysWithValues: zip(penalties, errors)),
                ratings: try reader.readInt(), items: try reader.readInt(), users: try reader.readInt())
        }
        return ServedDomain(
            name: name, ratingRange: low...high, isTarget: isTarget, mean: mean, items: items, liveItems: liveItems,
            itemRows: itemRows, itemBias: itemBias,
            lists: ListTable(itemRows: listRows, itemBias: listBias, userRows: listUsers, isRanking: isRanking, userBase: userBase),
            index: index, itemNorms: itemNorms, userRows: userRows, userBias: userBias, personal: personal, seen: seen,
            seenLimit: seenLimit, popular: zip(popularRows, popularCounts).map { (row: $0, count: $1) }, fidelity: fidelity,
            transfer: transfer, refit: refit)
    }
}

extension Int8Rows {
    /// Values by block of 16 rows (a row's values are spread over its block), scales by row.
    fileprivate func encode(into sink: inout some ArchiveSink, parts: inout some PartWriter) throws {
        try sink.append(UInt32(dimension))
        try sink.append(UInt64(count))
        try parts.array(values, rowWidth: Self.blockBytes(dimension), into: &sink)
        try parts.array(scales, rowWidth: 1, into: &sink)
    }

    fileprivate static func decode(_ reader: inout ArchiveReader, parts: inout some PartReader) throws(ArchiveError) -> Int8Rows {
        let dimension = Int(try reader.read(UInt32.self))
        let count = try reader.readInt()
        guard dimension > 0, dimension <= 1 << 16 else { throw reader.malformed("int8 rows of dimension \(dimension)") }
        let values = try parts.array(&reader, of: Int8.self, rowWidth: blockBytes(dimension))
        let scales = try parts.array(&reader, of: Float.self, rowWidth: 1)
        guard let rows = Int8Rows(dimension: dimension, count: count, values: values, scales: scales) else {
            throw reader.malformed("int8 rows: \(values.count) values and \(scales.count) scales for \(count) × \(dimension)")
        }
        return rows
    }
}

extension ClusterIndex {
    fileprivate func encode(into sink: inout some ArchiveSink, parts: inout some PartWriter) throws {
        try rows.encode(into: &sink, parts: &parts)
        try parts.array(offsets, rowWidth: 1, into: &sink)
        try parts.array(itemAt, rowWidth: 1, into: &sink)
        try parts.array(hashAt, rowWidth: 1, into: &sink)
        try sink.append(array: ranges.map { Int64($0.lowerBound) })
        try sink.append(array: ranges.map { Int64($0.upperBound) })
        try centroids.encode(into: &sink, parts: &parts)
        try sink.append(array: reach)
        try sink.append(UInt64(probe))
        try sink.append(recallAt10 != nil)
        if let recallAt10 { try sink.append(recallAt10) }
    }

    fileprivate static func decode(_ reader: inout ArchiveReader, parts: inout some PartReader) throws(ArchiveError) -> ClusterIndex {
        let rows = try Int8Rows.decode(&reader, parts: &parts)
        let offsets = try parts.array(&reader, of: Float.self, rowWidth: 1)
        let itemAt = try parts.array(&reader, of: Int32.self, rowWidth: 1)
        let hashAt = try parts.array(&reader, of: UInt64.self, rowWidth: 1)
        let lower = try reader.readArray(of: Int64.self), upper = try reader.readArray(of: Int64.self)
        guard lower.count == upper.count, zip(lower, upper).allSatisfy({ 0 <= $0 && $0 <= $1 && Int($1) <= rows.count }),
            offsets.count == rows.count, itemAt.count == rows.count, hashAt.count == rows.count
        else { throw reader.malformed("cluster index: positions do not match its \(rows.count) rows") }
        let centroids = try Int8Rows.decode(&reader, parts: &parts)
        let reach = try reader.readArray(of: Float.self)
        let probe = try reader.readInt()
        let recall = try reader.readBool() ? try reader.readDouble() : nil
        return ClusterIndex(
            rows: rows, offsets: offsets, itemAt: itemAt, hashAt: hashAt, ranges: zip(lower, upper).map { Int($0)..<Int($1) },
            centroids: centroids, reach: reach, probe: probe, recallAt10: recall)
    }
}

/// Bytes in memory, in order (sections are not kept apart: the encoding is one stream).
struct ByteSink: ArchiveSink {
    var bytes: [UInt8] = []
    mutating func beginSection(_ section: ArchiveSection) {}
    mutating func append(_ raw: UnsafeRawBufferPointer) { bytes.append(contentsOf: raw) }
}

/// Held-out errors by candidate name, in name order: a count, then (name, value) pairs.
private func appendNamed(_ errors: [String: Double], to sink: inout some ArchiveSink) throws {
    try sink.append(UInt32(errors.count))
    for name in errors.keys.sorted() {
        try sink.append(name)
        try sink.append(errors[name]!)
    }
}

private func readNamed(_ reader: inout ArchiveReader, what: String) throws(ArchiveError) -> [String: Double] {
    let count = Int(try reader.read(UInt32.self))
    guard count <= 16 else { throw reader.malformed("\(count) \(what)") }
    var errors: [String: Double] = [:]
    for _ in 0..<count { errors[try reader.readString()] = try reader.readDouble() }
    return errors
}
