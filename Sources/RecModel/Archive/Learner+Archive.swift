/// The learner's whole state as archive sections, and back. A restored learner is
/// indistinguishable from the one archived: the next events update it bit for bit as they
/// would have updated the original.
extension Learner {
    public func archive(into sink: inout some ArchiveSink) throws {
        try sink.beginSection(ArchiveSection(kind: ArchiveSection.configuration))
        try archiveFingerprint(into: &sink)

        try sink.beginSection(ArchiveSection(kind: ArchiveSection.counters))
        for value in [clockMillis, Int64(eventsSinceSweep), Int64(evictedUsers), Int64(appliedEvents), Int64(skippedForgotten)] {
            try sink.append(value)
        }
        try sink.beginSection(ArchiveSection(kind: ArchiveSection.tombstones))
        try sink.append(array: tombstones.sorted())

        try sink.beginSection(ArchiveSection(kind: ArchiveSection.userIndex))
        try users.archive(into: &sink)
        try sink.beginSection(ArchiveSection(kind: ArchiveSection.userParameters))
        try userRecords.archiveVectorsAndLastSeen(rows: users.rowLimit, into: &sink)
        try sink.beginSection(ArchiveSection(kind: ArchiveSection.userOptimizer))
        try userRecords.archiveAccumulators(rows: users.rowLimit, into: &sink)
        try sink.beginSection(ArchiveSection(kind: ArchiveSection.userTwins))
        try twins.slots.archive(rows: users.rowLimit, into: &sink)
        try twins.rows.archive(rows: twins.rowLimit, into: &sink)
        try sink.append(array: twins.freeRows)

        for (d, state) in domains.enumerated() {
            let instance = UInt16(d)
            try sink.beginSection(ArchiveSection(kind: ArchiveSection.itemIndex, instance: instance))
            try state.items.archive(into: &sink)
            try sink.beginSection(ArchiveSection(kind: ArchiveSection.itemParameters, instance: instance))
            try sink.append(state.mean)
            for value in [state.events, state.usersWithRatings, state.evictedItems] { try sink.append(Int64(value)) }
            try state.itemRecords.archive(rows: state.items.rowLimit, into: &sink)
            try sink.beginSection(ArchiveSection(kind: ArchiveSection.userDomainParameters, instance: instance))
            try userRecords.archiveScalars(domain: d, rows: users.rowLimit, into: &sink)
            try sink.beginSection(ArchiveSection(kind: ArchiveSection.popularity, instance: instance))
            try state.popularityClock.archive(into: &sink)
            try sink.beginSection(ArchiveSection(kind: ArchiveSection.seen, instance: instance))
            try sink.append(UInt64(state.seen.count))
            try state.seen.forEach { row, list in
                try sink.append(row)
                try sink.append(array: list)
            }
            try sink.beginSection(ArchiveSection(kind: ArchiveSection.metrics, instance: instance))
            try state.metrics.archive(into: &sink)
            try sink.beginSection(ArchiveSection(kind: ArchiveSection.recentRatings, instance: instance))
            try state.recent.archive(into: &sink)
            try sink.beginSection(ArchiveSection(kind: ArchiveSection.rankingHead, instance: instance))
            try state.itemRecords.archiveRanking(rows: state.items.rowLimit, into: &sink)
        }
    }

    /// What a checkpoint must share with the running configuration to be loaded: dimension,
    /// seed, sharing of user vectors, and the domains by name, in order.
    private func archiveFingerprint(into sink: inout some ArchiveSink) throws {
        try sink.append(UInt32(dimension))
        try sink.append(configuration.seed)
        try sink.append(configuration.shareUserVectors)
        try sink.append(UInt32(configuration.domains.count))
        for domain in configuration.domains { try sink.append(domain.name) }
    }

    /// Rebuilds a learner from its sections, under `configuration` (hyper-parameters may differ
    /// from the archived ones; the fingerprint may not).
    public init(
        restoring sections: [ArchiveSection: UnsafeRawBufferPointer], configuration: LearnerConfiguration
    ) throws(ArchiveError) {
        self.init(configuration: configuration)
        func reader(_ kind: UInt16, _ instance: Int = 0) throws(ArchiveError) -> ArchiveReader {
            let section = ArchiveSection(kind: kind, instance: UInt16(instance))
            guard let bytes = sections[section] else { throw ArchiveError(.missingSection, "section \(section) is missing") }
            return ArchiveReader(bytes, section: section)
        }
        var fingerprint = try reader(ArchiveSection.configuration)
        try Self.checkFingerprint(&fingerprint, against: configuration)

        var counters = try reader(ArchiveSection.counters)
        clockMillis = try counters.read()
        eventsSinceSweep = Int(try counters.read(Int64.self))
        evictedUsers = Int(try counters.read(Int64.self))
        appliedEvents = Int(try counters.read(Int64.self))
        skippedForgotten = Int(try counters.read(Int64.self))
        try counters.expectEnd()
        var tombstoneReader = try reader(ArchiveSection.tombstones)
        tombstones = Set(try tombstoneReader.readArray(of: UInt64.self))
        try tombstoneReader.expectEnd()

        var userIndex = try reader(ArchiveSection.userIndex)
        users = try IDIndex.restore(from: &userIndex)
        try userIndex.expectEnd()
        var userParameters = try reader(ArchiveSection.userParameters)
        let userVectors: ChunkedMatrix<Float> = try restoreMatrix(&userParameters, width: dimension, fill: 0, rows: users.rowLimit)
        let userLastSeen: ChunkedMatrix<Int64> = try restoreMatrix(&userParameters, width: 1, fill: 0, rows: users.rowLimit)
        try userParameters.expectEnd()
        var userOptimizer = try reader(ArchiveSection.userOptimizer)
        let userAccumulators: ChunkedMatrix<Float> = try restoreMatrix(&userOptimizer, width: 1, fill: 0, rows: users.rowLimit)
        try userOptimizer.expectEnd()
        var userScalars: [ChunkedMatrix<Double>] = []
        if sections[ArchiveSection(kind: ArchiveSection.userTwins)] != nil {
            var twinReader = try reader(ArchiveSection.userTwins)
            twins.slots = try restoreMatrix(&twinReader, width: 1, fill: 0, rows: users.rowLimit)
            let (rows, stored) = try ChunkedMatrix<Float>.restore(width: dimension + 1, fill: 0, from: &twinReader)
            twins.rows = rows
            twins.rowLimit = stored
            twins.freeRows = try twinReader.readArray(of: Int32.self)
            try twinReader.expectEnd()
            if let problem = twins.inconsistency(users: users.rowLimit) { throw twinReader.malformed(problem) }
        } else {
            twins.slots.reserve(rows: users.rowLimit)
        }

        for d in domains.indices {
            var itemIndex = try reader(ArchiveSection.itemIndex, d)
            domains[d].items = try IDIndex.restore(from: &itemIndex)
            try itemIndex.expectEnd()
            let items = domains[d].items.rowLimit
            var parameters = try reader(ArchiveSection.itemParameters, d)
            domains[d].mean = try parameters.readDouble()
            domains[d].events = Int(try parameters.read(Int64.self))
            domains[d].usersWithRatings = Int(try parameters.read(Int64.self))
            domains[d].evictedItems = Int(try parameters.read(Int64.self))
            domains[d].itemRecords = ItemRecords(
                dimension: dimension, rows: items,
                vectors: try restoreMatrix(&parameters, width: dimension, fill: 0, rows: items),
                scalars: try restoreMatrix(&parameters, width: ItemColumn.count, fill: 0, rows: items),
                lastSeen: try restoreMatrix(&parameters, width: 1, fill: 0, rows: items))
            try parameters.expectEnd()
            var scalars = try reader(ArchiveSection.userDomainParameters, d)
            userScalars.append(try restoreMatrix(&scalars, width: UserColumn.count, fill: 0, rows: users.rowLimit))
            try scalars.expectEnd()
            var popularity = try reader(ArchiveSection.popularity, d)
            domains[d].popularityClock = try DecayClock.restore(
                halfLifeMillis: configuration.popularityHalfLifeMillis, from: &popularity)
            try popularity.expectEnd()
            var seen = try reader(ArchiveSection.seen, d)
            domains[d].seen = try Self.restoreSeen(&seen, users: users.rowLimit)
            try seen.expectEnd()
            var metrics = try reader(ArchiveSection.metrics, d)
            domains[d].metrics = try PrequentialMetrics.restore(window: configuration.metricsWindow, from: &metrics)
            try metrics.expectEnd()
            if sections[ArchiveSection(kind: ArchiveSection.recentRatings, instance: UInt16(d))] != nil {
                var recent = try reader(ArchiveSection.recentRatings, d)
                domains[d].recent = try RecentRatings.restore(capacity: domains[d].recent.capacity, from: &recent)
                try recent.expectEnd()
            }
            if sections[ArchiveSection(kind: ArchiveSection.rankingHead, instance: UInt16(d))] != nil {
                var ranking = try reader(ArchiveSection.rankingHead, d)
                let matrix: ChunkedMatrix<Float> = try restoreMatrix(
                    &ranking, width: dimension + RankingHead.scalarCount, fill: 0, rows: items)
                try ranking.expectEnd()
                domains[d].itemRecords.restoreRanking(matrix, rows: items)
            } else {
                // Written before the head: it starts where a new item's would.
                domains[d].items.forEach { row, _ in
                    seedRanking(domains[d].itemRecords.writable(Int(row)).rank, idHash: domains[d].items.hash(of: row), domain: d)
                }
            }
        }
        userRecords = UserRecords(
            dimension: dimension, rows: users.rowLimit, vectors: userVectors, lastSeen: userLastSeen,
            accumulators: userAccumulators, scalars: userScalars)
    }

    private func restoreMatrix<T: BitwiseCopyable>(
        _ reader: inout ArchiveReader, width: Int, fill: T, rows: Int
    ) throws(ArchiveError) -> ChunkedMatrix<T> {
        let (matrix, stored) = try ChunkedMatrix<T>.restore(width: width, fill: fill, from: &reader)
        guard stored == rows else { throw reader.malformed("\(stored) rows stored for \(rows) ids") }
        return matrix
    }

    static func restoreSeen(_ reader: inout ArchiveReader, users: Int) throws(ArchiveError) -> SeenLists {
        let count = try reader.readCount(elementBytes: 12)
        var seen = SeenLists()
        for _ in 0..<count {
            let row = try reader.read(Int32.self)
            guard row >= 0, Int(row) < users else { throw reader.malformed("seen list of row \(row) beyond \(users) users") }
            let list = try reader.readArray(of: UInt64.self)
            guard !list.isEmpty, seen[row] == nil else { throw reader.malformed("seen list of row \(row) empty or repeated") }
            seen.update(row: row) { $0 = list }
        }
        return seen
    }

    /// Throws `incompatible`, naming every difference, when the archive cannot be loaded here.
    static func checkFingerprint(_ reader: inout ArchiveReader, against configuration: LearnerConfiguration) throws(ArchiveError) {
        let dimension = Int(try reader.read(UInt32.self))
        let seed = try reader.read(UInt64.self)
        let shared = try reader.readBool()
        let domainCount = Int(try reader.read(UInt32.self))
        guard domainCount <= reader.remaining / 4 else { throw ArchiveError(.truncated, "\(reader.section): \(domainCount) domains") }
        var names: [String] = []
        for _ in 0..<domainCount { names.append(try reader.readString()) }
        try reader.expectEnd()
        var differences: [String] = []
        if dimension != configuration.dimension {
            differences.append("model.dimension is \(configuration.dimension), checkpoint has \(dimension)")
        }
        if seed != configuration.seed { differences.append("model.seed is \(configuration.seed), checkpoint has \(seed)") }
        if shared != configuration.shareUserVectors {
            differences.append("user vectors shared across domains: \(configuration.shareUserVectors), checkpoint: \(shared)")
        }
        let configured = configuration.domains.map(\.name)
        if names != configured {
            differences.append("domains are [\(configured.joined(separator: ", "))], checkpoint has [\(names.joined(separator: ", "))]")
        }
        guard differences.isEmpty else {
            throw ArchiveError(.incompatible, "checkpoint written under another configuration: " + differences.joined(separator: "; "))
        }
    }
}
