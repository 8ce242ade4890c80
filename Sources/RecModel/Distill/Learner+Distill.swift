import Dispatch

/// Distillation: a learner snapshot (the teacher) → an immutable `ServingModel`.
extension Learner {
    /// Builds serving version `version` from this learner. Pure: reads the learner only, so it
    /// runs on any thread while the writer goes on with its own copy.
    public func distill(version: Int, options: DistillOptions = DistillOptions()) -> ServingModel {
        do {
            return try build(version: version, options: options)
        } catch {
            preconditionFailure("a build without a cancellation cannot be cancelled")
        }
    }

    /// `distill`, stopped early when `cancellation` is set (BuildCancellation.swift): then it
    /// throws, and no model is returned.
    public func distill(
        version: Int, options: DistillOptions = DistillOptions(), cancellation: BuildCancellation
    ) throws(BuildCancelled) -> ServingModel {
        var options = options
        options.cancellation = cancellation
        return try build(version: version, options: options)
    }

    private func build(version: Int, options: DistillOptions) throws(BuildCancelled) -> ServingModel {
        let start = DispatchTime.now().uptimeNanoseconds
        let (teacher, refits, joint) = try refitted(version: version, options: options)
        let model = try teacher.distillTeacher(
            version: version, options: options, refits: refits, joint: joint, online: userRecords, start: start)
        // A loop that ended early leaves a model that must not be served.
        try options.checkCancelled()
        return model
    }

    /// `distill` once the domains are refitted: this learner is the teacher. `online` holds the
    /// user vectors as learned online, which the ranking head's item vectors were learned
    /// against: the lists score with those, not with the refit's.
    private func distillTeacher(
        version: Int, options: DistillOptions, refits: [Int: DomainRefit], joint jointRefit: JointChoice?, online: UserRecords,
        start: UInt64
    ) throws(BuildCancelled) -> ServingModel {
        let k = max(1, min(options.dimension, dimension))
        var bases: [DomainBasis] = []
        let jointItems = jointRefit.flatMap { jointBasis($0, options: options) }
        func model(_ served: [ServedDomain]) -> ServingModel {
            ServingModel(
                version: version, appliedEvents: appliedEvents, clockMillis: clockMillis, dimension: k,
                teacherDimension: dimension, domains: served, buildNanos: DispatchTime.now().uptimeNanoseconds - start,
                users: users, shareUserVectors: configuration.shareUserVectors, jointRefit: jointRefit,
                basis: ServingBasis(
                    version: version, studentDimension: k, teacherDimension: dimension, domains: bases, joint: jointItems))
        }
        let joint = jointImplicitFactors(options: options)
        var served: [ServedDomain] = []
        for d in domains.indices {
            try options.checkCancelled()
            // The joint refit solves the items of every domain, the target refit its own.
            let (domain, basis) = try distillDomain(
                d, dimension: k, options: options, refit: refits[d], refitted: jointRefit != nil || refits[d] != nil, joint: joint,
                online: online)
            served.append(domain)
            bases.append(basis)
        }
        try measureIndexRecall(&served, options: options, model: model)
        return model(served)
    }

    /// Each cluster index's recall@10 against the exact scan, on `indexRecallUsers` users
    /// spread over the live ones; `model` builds the served model from the domains.
    func measureIndexRecall(
        _ served: inout [ServedDomain], options: DistillOptions, model: ([ServedDomain]) -> ServingModel
    ) throws(BuildCancelled) {
        guard served.contains(where: { $0.index != nil }) else { return }
        // The index's recall needs a built model (its user rows and exact scan).
        let unmeasured = model(served)
        let sample = Self.evenlySpaced((0..<users.rowLimit).filter { users.isLive(Int32($0)) }, options.indexRecallUsers)
        for d in served.indices {
            try options.checkCancelled()
            served[d].index?.recallAt10 = unmeasured.indexRecall(domain: d, users: sample)
        }
    }

    private func distillDomain(
        _ d: Int, dimension k: Int, options: DistillOptions, refit: DomainRefit?, refitted: Bool, joint: JointImplicitFactors?,
        online: UserRecords
    ) throws(BuildCancelled) -> (ServedDomain, DomainBasis)
    {
        let state = domains[d]
        let spec = configuration.domains[d]
        let itemCount = state.items.rowLimit
        let userCount = users.rowLimit
        let (liveItems, liveItemRows) = liveItems(domain: d)
        let (personal, personalRows) = personalUsers(domain: d)

        // Projection from the Gram matrices of (a sample of) this domain's users and items.
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

        try options.checkCancelled()
        let transfer = spec.isTarget && configuration.shareUserVectors ? fitTransfer(target: d, options: options, refit: refit) : nil
        var userRows = [Float](repeating: 0, count: userCount * k)
        var userBias = [Float](repeating: 0, count: userCount)
        // A cold user's row: (I + Δ)·p projected, one product with the folded transform.
        let transferTransform = transfer?.projecting(userTransform: projection.userTransform).values.map(Float.init) ?? userTransform
        for row in 0..<userCount where users.isLive(Int32(row)) {
            studentUserRow(
                row, domain: d, k: k, personal: personal.contains(row), vector: userRecords.vector(row), biases: nil,
                transforms: (userTransform, transferTransform), transfer: transfer, options: options, into: &userRows, bias: &userBias)
        }

        let popular = popularList(domain: d, live: liveItemRows, options: options)

        let lists: ListTable
        var listItems = studentItems
        var implicit: ImplicitRanking?
        var rankingBasis: RankingBasis?
        if configuration.ranking.isEnabled {
            try options.checkCancelled()
            (lists, listItems, implicit, rankingBasis) = distillRanking(
                domain: d, dimension: k, options: options, users: userSample, items: liveItemRows, transfer: transfer, joint: joint,
                online: online)
        } else {
            lists = ListTable(
                itemRows: itemRows, itemBias: itemBias, userRows: userRows, isRanking: false, userBase: (Float(state.mean), userBias))
        }
        try options.checkCancelled()
        let index = options.indexClusters > 0
            ? ClusterIndex(
                items: listItems, bias: lists.itemBias, live: liveItemRows, hash: { state.items.hash(of: $0) }, dimension: k,
                clusters: options.indexClusters, probe: options.indexProbe)
            : nil

        let studentBytes = itemRows.byteCount + itemCount * 4 + userCount * (k + 1) * 4
            + (lists.isRanking ? lists.itemRows.byteCount + itemCount * 4 + userCount * k * 4 : 0)
        let teacherBytes = (itemCount + userCount) * (dimension + 1) * 4 + (lists.isRanking ? itemCount * (dimension + 1) * 4 : 0)
        try options.checkCancelled()
        let fidelity = measureFidelity(
            domain: d, users: Self.evenlySpaced(personalRows, options.fidelityUsers), items: liveItemRows,
            studentItems: itemRows, studentItemBias: itemBias, studentUsers: userRows, lists: lists, implicit: implicit, dimension: k,
            retainedEnergy: projection.retainedEnergy, bytes: (studentBytes, teacherBytes), online: online)
        let served = ServedDomain(
            name: spec.name, ratingRange: spec.ratingRange, isTarget: spec.isTarget, mean: state.mean,
            items: state.items, liveItems: liveItems, itemRows: itemRows, itemBias: itemBias, lists: lists, index: index,
            itemNorms: itemNorms,
            userRows: userRows, userBias: userBias, personal: personal, seen: state.seen,
            seenLimit: configuration.seenItemsPerUser, popular: popular, fidelity: fidelity, transfer: transfer?.choice,
            refit: refit?.choice)
        let basis = DomainBasis(
            userTransform: userTransform, itemTransform: itemTransform, coldTransform: transferTransform, transfer: transfer,
            keepsItemRows: refitted, ranking: rankingBasis)
        return (served, basis)
    }

    /// Domain `d`'s live item rows, as a set and in order.
    func liveItems(domain d: Int) -> (set: RowSet, rows: [Int]) {
        let items = domains[d].items
        var set = RowSet(capacity: items.rowLimit)
        var rows: [Int] = []
        for row in 0..<items.rowLimit where items.isLive(Int32(row)) {
            set.insert(row)
            rows.append(row)
        }
        return (set, rows)
    }

    /// The live users with ratings in domain `d`, as a set and in order.
    func personalUsers(domain d: Int) -> (set: RowSet, rows: [Int]) {
        var set = RowSet(capacity: users.rowLimit)
        var rows: [Int] = []
        for row in 0..<users.rowLimit where users.isLive(Int32(row)) && userRecords[row, domain: d, UserColumn.ratings] > 0 {
            set.insert(row)
            rows.append(row)
        }
        return (set, rows)
    }

    /// A user's row and bias in domain `d`'s rating student, as every build computes them
    /// (full and light): with ratings in the domain, p·U and their bias; cold in a domain with
    /// a transfer, p·(I + Δ)ᵀU and the transfer's bias, both scaled by the cold shrinkage; else
    /// p·U and no bias. `vector` is the teacher's p; `biases` the teacher's per-domain biases
    /// when they are not this learner's (a light version's folded users). The row is zeroed first.
    func studentUserRow(
        _ row: Int, domain d: Int, k: Int, personal: Bool, vector: UnsafePointer<Float>, biases: [Double]?,
        transforms: (user: [Float], cold: [Float]), transfer: TransferMap?, options: DistillOptions,
        into rows: inout [Float], bias: inout [Float]
    ) {
        for j in row * k..<(row + 1) * k { rows[j] = 0 }
        if personal {
            project(vector, transforms.user, k, into: &rows, at: row * k)
            bias[row] = Float(biases?[d] ?? userRecords[row, domain: d, UserColumn.bias])
        } else if let transfer {
            project(vector, transforms.cold, k, into: &rows, at: row * k)
            let features = transferFeatures(user: row, target: d, vector: vector, biases: biases)
            let shrink = Float(coldShrink(user: row, target: d, ratings: options.coldShrinkage))
            bias[row] = Float(transfer.bias(features: features, dimension: dimension)) * shrink
            if shrink != 1 { for j in row * k..<(row + 1) * k { rows[j] *= shrink } }
        } else {
            project(vector, transforms.user, k, into: &rows, at: row * k)
            bias[row] = 0
        }
    }

    /// The domain's most popular live items, best first, with their decayed counts at the cut.
    func popularList(domain d: Int, live liveItemRows: [Int], options: DistillOptions) -> [(row: Int32, count: Double)] {
        let state = domains[d]
        var popularity = TopRows(k: min(options.popularItems, liveItemRows.count))
        for row in liveItemRows {
            popularity.offer(score: state.itemRecords[row, ItemColumn.popularity], row: Int32(row), ids: state.items)
        }
        return popularity.sortedRows(ids: state.items).map { ($0.row, state.popularityClock.count($0.score, nowMillis: clockMillis)) }
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
    /// Returns the table, the float item rows (the cluster index is built from them) and the
    /// implicit part of the teacher, when there is one (fidelity compares with all of it).
    private func distillRanking(
        domain d: Int, dimension k: Int, options: DistillOptions, users userSample: [Int], items liveItemRows: [Int],
        transfer: TransferMap?, joint: JointImplicitFactors?, online: UserRecords
    ) -> (ListTable, [Float], ImplicitRanking?, RankingBasis) {
        let state = domains[d]
        let (itemCount, userCount) = (state.items.rowLimit, users.rowLimit)
        // The teacher: [p_u, a·x_u·V] · [w_i, b·v_i] + c_i, the head's score plus, when
        // `rankingImplicitRank` > 0, the weighted PureSVD score of the seen lists.
        let implicit = implicitRanking(joint, domain: d, options: options, users: userSample, items: liveItemRows, online: online)
        let width = dimension + (implicit?.rank ?? 0)
        func itemVector(_ row: Int) -> [Double] {
            let rank = state.itemRecords.rank(row)
            var vector = (0..<dimension).map { Double(rank[$0]) }
            if let implicit { vector += implicit.item(row) }
            return vector
        }
        func userVector(_ row: Int) -> [Double] {
            let shared = online.vector(row)
            var vector = (0..<dimension).map { Double(shared[$0]) }
            if let implicit { vector += implicit.user(row) }
            return vector
        }
        var userGram = SmallMatrix(rows: width, columns: width)
        for row in Self.evenlySpaced(userSample, options.gramSample) { userVector(row).withUnsafeBufferPointer { userGram.addOuter($0.baseAddress!) } }
        var itemGram = SmallMatrix(rows: width, columns: width)
        for row in Self.evenlySpaced(liveItemRows, options.gramSample) { itemVector(row).withUnsafeBufferPointer { itemGram.addOuter($0.baseAddress!) } }
        let projection = LowRankProjection(userGram: userGram, itemGram: itemGram, rank: k)
        // The transforms split by rows: the head's d, then the implicit part's r. The head is
        // projected by the unchecked kernel (this runs for every live user of every domain).
        let itemTransform = projection.itemTransform.values.map(Float.init)
        let userTransform = projection.userTransform.values.map(Float.init)
        let itemHead = Array(itemTransform[..<(dimension * k)])
        let userHead = Array(userTransform[..<(dimension * k)])
        let itemImplicit = Array(itemTransform[(dimension * k)...])
        let userImplicit = Array(userTransform[(dimension * k)...])
        var studentItems = [Float](repeating: 0, count: itemCount * k)
        var itemBias = [Float](repeating: -.infinity, count: itemCount)
        for row in liveItemRows {
            let rank = state.itemRecords.rank(row)
            project(rank, itemHead, k, into: &studentItems, at: row * k)
            if let implicit { implicit.projectItem(row, itemImplicit, k, into: &studentItems, at: row * k) }
            itemBias[row] = rank[dimension]
        }
        let itemRows = studentItems.withUnsafeBufferPointer { buffer in
            Int8Rows(dimension: k, count: itemCount) { buffer.baseAddress! + $0 * k }
        }
        // Cold users (no ratings here): the head's part through the transfer's map, and the
        // implicit part of what they rated elsewhere.
        let headTransform = SmallMatrix(rows: dimension, columns: k, values: Array(projection.userTransform.values.prefix(dimension * k)))
        let transferTransform = (transfer?.projecting(userTransform: headTransform) ?? headTransform).values.map(Float.init)
        var userRows = [Float](repeating: 0, count: userCount * k)
        for row in 0..<userCount where users.isLive(Int32(row)) {
            let cold = userRecords[row, domain: d, UserColumn.ratings] == 0
            project(online.vector(row), cold ? transferTransform : userHead, k, into: &userRows, at: row * k)
            if let implicit { implicit.projectUser(row, userImplicit, k, into: &userRows, at: row * k) }
        }
        let basis = RankingBasis(
            itemHead: itemHead, userHead: userHead, coldHead: transferTransform, itemImplicit: itemImplicit, userImplicit: userImplicit,
            implicit: implicit?.withoutUserParts)
        let table = ListTable(itemRows: itemRows, itemBias: itemBias, userRows: userRows, isRanking: true, userBase: nil)
        return (table, studentItems, implicit, basis)
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
    func project(_ source: UnsafePointer<Float>, _ transform: [Float], _ k: Int, into target: inout [Float], at offset: Int) {
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
