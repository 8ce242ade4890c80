import Dispatch

/// Distillation: a learner snapshot (the teacher) → an immutable `ServingModel`.
extension Learner {
    /// Builds serving version `version` from this learner. Pure: reads the learner only, so it
    /// runs on any thread while the writer goes on with its own copy.
    public func distill(version: Int, options: DistillOptions = DistillOptions()) -> ServingModel {
        let start = DispatchTime.now().uptimeNanoseconds
        let (teacher, refits) = refitted(options: options)
        return teacher.distillTeacher(version: version, options: options, refits: refits, start: start)
    }

    /// `distill` once the target domains are refitted: this learner is the teacher.
    private func distillTeacher(version: Int, options: DistillOptions, refits: [Int: DomainRefit], start: UInt64) -> ServingModel {
        let k = max(1, min(options.dimension, dimension))
        func model(_ served: [ServedDomain]) -> ServingModel {
            ServingModel(
                version: version, appliedEvents: appliedEvents, clockMillis: clockMillis, dimension: k,
                teacherDimension: dimension, domains: served, buildNanos: DispatchTime.now().uptimeNanoseconds - start,
                users: users, shareUserVectors: configuration.shareUserVectors)
        }
        var served = domains.indices.map { distillDomain($0, dimension: k, options: options, refit: refits[$0]) }
        guard served.contains(where: { $0.index != nil }) else { return model(served) }
        // The index's recall needs a built model (its user rows and exact scan).
        let unmeasured = model(served)
        let sample = Self.evenlySpaced((0..<users.rowLimit).filter { users.isLive(Int32($0)) }, options.indexRecallUsers)
        for d in served.indices { served[d].index?.recallAt10 = unmeasured.indexRecall(domain: d, users: sample) }
        return model(served)
    }

    private func distillDomain(_ d: Int, dimension k: Int, options: DistillOptions, refit: DomainRefit?) -> ServedDomain {
        let state = domains[d]
        let spec = configuration.domains[d]
        let itemCount = state.items.rowLimit
        let userCount = users.rowLimit
        var liveItems = RowSet(capacity: itemCount)
        for row in 0..<itemCount where state.items.isLive(Int32(row)) { liveItems.insert(row) }
        var personal = RowSet(capacity: userCount)
        var personalRows: [Int] = []
        for row in 0..<userCount where users.isLive(Int32(row)) && userRecords[row, domain: d, UserColumn.ratings] > 0 {
            personal.insert(row)
            personalRows.append(row)
        }

        // Projection from the Gram matrices of (a sample of) this domain's users and items.
        let liveItemRows = (0..<itemCount).filter { liveItems.contains($0) }
        let userSample = personalRows.isEmpty ? (0..<userCount).filter { users.isLive(Int32($0)) } : personalRows
        let projection = LowRankProjection(
            userGram: gram(userRecords.table, rows: Self.evenlySpaced(userSample, options.gramSample)),
            itemGram: gram(state.itemRecords.table, rows: Self.evenlySpaced(liveItemRows, options.gramSample)), rank: k)
        let userTransform = projection.userTransform.values.map(Float.init)
        let itemTransform = projection.itemTransform.values.map(Float.init)

        var studentItems = [Float](repeating: 0, count: itemCount * k)
        var itemBias = [Float](repeating: -.infinity, count: itemCount)
        for row in liveItemRows {
            project(state.itemRecords.vector(row), itemTransform, k, into: &studentItems, at: row * k)
            itemBias[row] = Float(state.itemRecords[row, ItemColumn.bias])
        }
        let itemRows = studentItems.withUnsafeBufferPointer { buffer in
            Int8Rows(dimension: k, count: itemCount) { buffer.baseAddress! + $0 * k }
        }
        let itemNorms = (0..<itemCount).map { row in itemRows.row(row).reduce(0) { $0 + $1 * $1 }.squareRoot() }

        let transfer = spec.isTarget && configuration.shareUserVectors ? fitTransfer(target: d, options: options, refit: refit) : nil
        var userRows = [Float](repeating: 0, count: userCount * k)
        var userBias = [Float](repeating: 0, count: userCount)
        // A cold user's row: (I + Δ)·p projected, one product with the folded transform.
        let transferTransform = transfer?.projecting(userTransform: projection.userTransform).values.map(Float.init) ?? userTransform
        for row in 0..<userCount where users.isLive(Int32(row)) {
            if personal.contains(row) {
                project(userRecords.vector(row), userTransform, k, into: &userRows, at: row * k)
                userBias[row] = Float(userRecords[row, domain: d, UserColumn.bias])
            } else if let transfer {
                project(userRecords.vector(row), transferTransform, k, into: &userRows, at: row * k)
                userBias[row] = Float(transfer.bias(self, user: row))
            } else {
                project(userRecords.vector(row), userTransform, k, into: &userRows, at: row * k)
            }
        }

        var popularity = TopRows(k: min(options.popularItems, liveItemRows.count))
        for row in liveItemRows {
            popularity.offer(score: state.itemRecords[row, ItemColumn.popularity], row: Int32(row), ids: state.items)
        }
        let popular = popularity.sortedRows(ids: state.items).map {
            ($0.row, state.popularityClock.count($0.score, nowMillis: clockMillis))
        }

        let lists: ListTable
        var listItems = studentItems
        if configuration.ranking.isEnabled {
            (lists, listItems) = distillRanking(
                domain: d, dimension: k, options: options, users: userSample, items: liveItemRows, transfer: transfer)
        } else {
            lists = ListTable(
                itemRows: itemRows, itemBias: itemBias, userRows: userRows, isRanking: false, userBase: (Float(state.mean), userBias))
        }
        let index = options.indexClusters > 0
            ? ClusterIndex(
                items: listItems, bias: lists.itemBias, live: liveItemRows, hash: { state.items.hash(of: $0) }, dimension: k,
                clusters: options.indexClusters, probe: options.indexProbe)
            : nil

        let studentBytes = itemRows.byteCount + itemCount * 4 + userCount * (k + 1) * 4
            + (lists.isRanking ? lists.itemRows.byteCount + itemCount * 4 + userCount * k * 4 : 0)
        let teacherBytes = (itemCount + userCount) * (dimension + 1) * 4 + (lists.isRanking ? itemCount * (dimension + 1) * 4 : 0)
        let fidelity = measureFidelity(
            domain: d, users: Self.evenlySpaced(personalRows, options.fidelityUsers), items: liveItemRows,
            studentItems: itemRows, studentItemBias: itemBias, studentUsers: userRows, lists: lists, dimension: k,
            retainedEnergy: projection.retainedEnergy, bytes: (studentBytes, teacherBytes))
        return ServedDomain(
            name: spec.name, ratingRange: spec.ratingRange, isTarget: spec.isTarget, mean: state.mean,
            items: state.items, liveItems: liveItems, itemRows: itemRows, itemBias: itemBias, lists: lists, index: index,
            itemNorms: itemNorms,
            userRows: userRows, userBias: userBias, personal: personal, seen: state.seen,
            seenLimit: configuration.seenItemsPerUser, popular: popular, fidelity: fidelity, transfer: transfer?.choice,
            refit: refit?.choice)
    }

    /// `count` rows spread evenly over `rows` (all of them when there are fewer).
    static func evenlySpaced(_ rows: [Int], _ count: Int) -> [Int] {
        guard rows.count > count, count > 0 else { return rows }
        return (0..<count).map { rows[$0 * rows.count / count] }
    }

    /// The ranking head's student: its own low-rank projection of the teacher's c_i + p_u·w_i
    /// (the user rows differ from the rating student's, as the item side does), int8 item
    /// rows, float biases. Users without ratings here get their shared vector through the
    /// transfer's vector map when the domain has one (`bridge`: (I + Δ)·p), as for ratings.
    /// Returns the table and the float item rows (the cluster index is built from them).
    private func distillRanking(
        domain d: Int, dimension k: Int, options: DistillOptions, users userSample: [Int], items liveItemRows: [Int],
        transfer: TransferMap?
    ) -> (ListTable, [Float]) {
        let state = domains[d]
        let (itemCount, userCount) = (state.items.rowLimit, users.rowLimit)
        let projection = LowRankProjection(
            userGram: gram(userRecords.table, rows: Self.evenlySpaced(userSample, options.gramSample)),
            itemGram: gram(state.itemRecords.table, rows: Self.evenlySpaced(liveItemRows, options.gramSample), offset: state.itemRecords.rankOffset),
            rank: k)
        let userTransform = projection.userTransform.values.map(Float.init)
        let itemTransform = projection.itemTransform.values.map(Float.init)
        var studentItems = [Float](repeating: 0, count: itemCount * k)
        var itemBias = [Float](repeating: -.infinity, count: itemCount)
        for row in liveItemRows {
            let rank = state.itemRecords.rank(row)
            project(rank, itemTransform, k, into: &studentItems, at: row * k)
            itemBias[row] = rank[dimension]
        }
        let itemRows = studentItems.withUnsafeBufferPointer { buffer in
            Int8Rows(dimension: k, count: itemCount) { buffer.baseAddress! + $0 * k }
        }
        let transferTransform = transfer?.projecting(userTransform: projection.userTransform).values.map(Float.init) ?? userTransform
        var userRows = [Float](repeating: 0, count: userCount * k)
        for row in 0..<userCount where users.isLive(Int32(row)) {
            let cold = userRecords[row, domain: d, UserColumn.ratings] == 0
            project(userRecords.vector(row), cold ? transferTransform : userTransform, k, into: &userRows, at: row * k)
        }
        return (ListTable(itemRows: itemRows, itemBias: itemBias, userRows: userRows, isRanking: true, userBase: nil), studentItems)
    }

    private func gram(_ matrix: ChunkedMatrix<Float>, rows: [Int], offset: Int = 0) -> SmallMatrix {
        var result = SmallMatrix(rows: dimension, columns: dimension)
        var row = [Double](repeating: 0, count: dimension)
        for index in rows {
            let source = matrix.row(index) + offset
            for j in 0..<dimension { row[j] = Double(source[j]) }
            row.withUnsafeBufferPointer { result.addOuter($0.baseAddress!) }
        }
        return result
    }

    /// target[offset..<offset+k] = source (1 × d) · transform (d × k, row-major).
    @inline(__always)
    private func project(_ source: UnsafePointer<Float>, _ transform: [Float], _ k: Int, into target: inout [Float], at offset: Int) {
        // Unchecked: this runs for every live user of every domain (1 M × 64 × 16 per domain).
        transform.withUnsafeBufferPointer { transform in
            target.withUnsafeMutableBufferPointer { target in
                precondition(offset + k <= target.count && transform.count == dimension * k)
                let out = target.baseAddress! + offset
                for j in 0..<dimension {
                    let value = source[j]
                    guard value != 0 else { continue }
                    let weights = transform.baseAddress! + j * k
                    for column in 0..<k { out[column] += value * weights[column] }
                }
            }
        }
    }
}
