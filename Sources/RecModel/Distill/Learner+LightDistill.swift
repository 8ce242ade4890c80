import Dispatch

/// Light versions: a served version patched with what moved since it, through the basis of the
/// full version it descends from (ServingBasis.swift). No refit, no new projections, no new
/// transfer maps or PureSVD factors: the users seen since the base's cut get new rows, every
/// item gets its rows again (the ranking head's negatives move most items between builds, and
/// items are few next to users), and every other row keeps its bytes.
///
/// Rows computed as a full build computes them, from the learner's online parameters:
/// - a user's rating row: p·U (with ratings in the domain), p·(I + Δ)ᵀU and the transfer's
///   bias scaled by the cold shrinkage (a cold user of a target domain), else p·U;
/// - an item's rating row: q·V, except that where the full build's items came from a refit
///   the base's rows are kept (only items new since then are projected);
/// - the ranking rows: the head's part plus PureSVD's, for users from their seen lists now.
/// The fidelity, transfer and refit reports, the joint refit's choice and the cluster index's
/// centroids are the full version's; new items join the index in the padding after the
/// nearest clusters with room, and its recall is measured again.
extension Learner {
    /// A light version `version` on top of `base`, or why a full build is needed.
    public func distillLight(version: Int, base: ServingModel, options: DistillOptions = DistillOptions()) -> Result<ServingModel, LightRefusal> {
        do {
            return try buildLight(version: version, base: base, options: options)
        } catch {
            preconditionFailure("a build without a cancellation cannot be cancelled")
        }
    }

    /// `distillLight`, stopped when `cancellation` is set (between domains, and before it
    /// returns): then it throws, and no model is returned.
    public func distillLight(
        version: Int, base: ServingModel, options: DistillOptions = DistillOptions(), cancellation: BuildCancellation
    ) throws(BuildCancelled) -> Result<ServingModel, LightRefusal> {
        var options = options
        options.cancellation = cancellation
        return try buildLight(version: version, base: base, options: options)
    }

    private func buildLight(
        version: Int, base: ServingModel, options: DistillOptions
    ) throws(BuildCancelled) -> Result<ServingModel, LightRefusal> {
        let start = DispatchTime.now().uptimeNanoseconds
        // The base is an earlier state of this learner's index (its rows only grow), or a full
        // build is needed.
        guard let basis = base.basis else { return .failure(.noBasis) }
        guard basis.teacherDimension == dimension, basis.domains.count == domains.count,
            base.domains.count == domains.count, base.shareUserVectors == configuration.shareUserVectors,
            base.users.rowLimit <= users.rowLimit
        else { return .failure(.otherShape) }
        let changedUsers = usersChanged(since: base)
        let folded = basis.joint.map { foldIn(changedUsers.live, joint: $0) } ?? [:]
        // PureSVD's user parts are joint (every domain's seen lists): computed once, used by
        // every domain's lists (aligned with the changed users).
        let (seen, items) = (domains.map(\.seen), domains.map(\.items))
        let parts = basis.domains.lazy.compactMap { $0.ranking?.implicit }.first.map { implicit in
            changedUsers.live.map { ImplicitRanking.userPart(implicit.joint, seen: seen, items: items, user: Int32($0)) }
        }
        var served: [ServedDomain] = []
        for d in domains.indices {
            try options.checkCancelled()
            guard let domain = lightDomain(
                d, base: base.domains[d], basis: basis.domains[d], k: basis.studentDimension, users: changedUsers, folded: folded,
                implicitParts: parts, options: options)
            else { return .failure(.indexFull(domain: configuration.domains[d].name)) }
            served.append(domain)
        }
        func model(_ served: [ServedDomain]) -> ServingModel {
            ServingModel(
                version: version, appliedEvents: appliedEvents, clockMillis: clockMillis, dimension: basis.studentDimension,
                teacherDimension: dimension, domains: served, buildNanos: DispatchTime.now().uptimeNanoseconds - start, users: users,
                shareUserVectors: configuration.shareUserVectors, jointRefit: base.jointRefit, basis: basis)
        }
        // Every item row moved, and new items joined the clusters: the recall is measured again.
        try measureIndexRecall(&served, options: options, model: model)
        try options.checkCancelled()
        return .success(model(served))
    }

    /// User rows a light version recomputes against `base`: rows live now that are new, hold
    /// another id, or were seen at or after the base's cut (lastSeen is the learner's clock,
    /// which only rises), and the base's rows that are free now (they become zeros).
    func usersChanged(since base: ServingModel) -> (live: [Int], freed: [Int]) {
        var live: [Int] = [], freed: [Int] = []
        let baseLimit = base.users.rowLimit
        for row in 0..<users.rowLimit {
            let r = Int32(row)
            let wasLive = row < baseLimit && base.users.isLive(r)
            if users.isLive(r) {
                if !wasLive || base.users.hash(of: r) != users.hash(of: r) || userRecords.lastSeen(row) >= base.clockMillis {
                    live.append(row)
                }
            } else if row < baseLimit {
                // Free now: zeros, whether the base still served it or only kept its bytes
                // (a forgotten user's version keeps their rows, unreachable).
                freed.append(row)
            }
        }
        return (live, freed)
    }

    private func lightDomain(
        _ d: Int, base: ServedDomain, basis: DomainBasis, k: Int, users changed: (live: [Int], freed: [Int]),
        folded: [Int: FoldedUser], implicitParts: [[Double]?]?, options: DistillOptions
    ) -> ServedDomain? {  // nil: the index has no room left for a new item
        let state = domains[d]
        let spec = configuration.domains[d]
        let itemCount = state.items.rowLimit, userCount = users.rowLimit
        let (liveItems, liveItemRows) = liveItems(domain: d)
        // Items that are not the base's (new, or a row that now holds another id).
        let baseItemLimit = base.items.rowLimit
        func isNew(_ row: Int) -> Bool {
            row >= baseItemLimit || !base.items.isLive(Int32(row)) || base.items.hash(of: Int32(row)) != state.items.hash(of: Int32(row))
        }
        let personal = personalUsers(domain: d).set

        // Rating item rows: every live item (or only new ones over refitted rows), zeros for freed rows.
        let freedItems = (0..<min(baseItemLimit, itemCount)).filter { base.items.isLive(Int32($0)) && !state.items.isLive(Int32($0)) }
        let projected = basis.keepsItemRows ? liveItemRows.filter(isNew) : liveItemRows
        var itemSource = [Float](repeating: 0, count: (projected.count + freedItems.count) * k)
        var itemBias = Self.resized(base.itemBias, to: itemCount, filler: -.infinity)
        for (index, row) in projected.enumerated() {
            project(state.itemRecords.vector(row), basis.itemTransform, k, into: &itemSource, at: index * k)
            itemBias[row] = Float(state.itemRecords[row, ItemColumn.bias])
        }
        for row in freedItems { itemBias[row] = -.infinity }
        let itemRows = base.itemRows.updated(count: itemCount, changed: projected + freedItems, source: itemSource)
        var itemNorms = Self.resized(base.itemNorms, to: itemCount, filler: 0)
        for row in projected + freedItems { itemNorms[row] = itemRows.row(row).reduce(0) { $0 + $1 * $1 }.squareRoot() }

        // Rating user rows of the changed users; zeros for freed rows.
        var userRows = Self.resized(base.userRows, to: userCount * k, filler: 0)
        var userBias = Self.resized(base.userBias, to: userCount, filler: 0)
        for row in changed.freed {
            for j in row * k..<(row + 1) * k { userRows[j] = 0 }
            userBias[row] = 0
        }
        for row in changed.live {
            // The teacher's vector: folded into the full build's solution, or online.
            let user = folded[row]
            func write(_ vector: UnsafePointer<Float>) {
                studentUserRow(
                    row, domain: d, k: k, personal: personal.contains(row), vector: vector, biases: user?.biases,
                    transforms: (basis.userTransform, basis.coldTransform), transfer: basis.transfer, options: options,
                    into: &userRows, bias: &userBias)
            }
            if let user { user.vector.withUnsafeBufferPointer { write($0.baseAddress!) } } else { write(userRecords.vector(row)) }
        }

        let lists: ListTable
        if let ranking = basis.ranking, base.lists.isRanking {
            lists = lightRanking(
                d, base: base.lists, basis: ranking, k: k, items: liveItemRows, freedItems: freedItems, users: changed,
                implicitParts: implicitParts)
        } else {
            lists = ListTable(itemRows: itemRows, itemBias: itemBias, userRows: userRows, isRanking: false, userBase: (Float(state.mean), userBias))
        }
        // New items go to the padding of their nearest clusters; when that is full, a full build regroups.
        var index: ClusterIndex?
        if let baseIndex = base.index {
            guard let updated = baseIndex.updated(
                rows: lists.itemRows, bias: lists.itemBias, placing: liveItemRows.filter(isNew), hash: { state.items.hash(of: $0) })
            else { return nil }
            index = updated
        }
        return ServedDomain(
            name: spec.name, ratingRange: spec.ratingRange, isTarget: spec.isTarget, mean: state.mean,
            items: state.items, liveItems: liveItems, itemRows: itemRows, itemBias: itemBias, lists: lists, index: index,
            itemNorms: itemNorms, userRows: userRows, userBias: userBias, personal: personal, seen: state.seen,
            seenLimit: configuration.seenItemsPerUser, popular: popularList(domain: d, live: liveItemRows, options: options),
            fidelity: base.fidelity, transfer: base.transfer, refit: base.refit)
    }

    /// The ranking student's table: every live item's rows again, the changed users' rows.
    private func lightRanking(
        _ d: Int, base: ListTable, basis: RankingBasis, k: Int, items liveItemRows: [Int], freedItems: [Int],
        users changed: (live: [Int], freed: [Int]), implicitParts: [[Double]?]?
    ) -> ListTable {
        let state = domains[d]
        let itemCount = state.items.rowLimit, userCount = users.rowLimit
        var itemSource = [Float](repeating: 0, count: (liveItemRows.count + freedItems.count) * k)
        var itemBias = Self.resized(base.itemBias, to: itemCount, filler: -.infinity)
        for (index, row) in liveItemRows.enumerated() {
            let rank = state.itemRecords.rank(row)
            project(rank, basis.itemHead, k, into: &itemSource, at: index * k)
            if let implicit = basis.implicit, implicit.hasItem(row) {
                implicit.projectItem(row, basis.itemImplicit, k, into: &itemSource, at: index * k)
            }
            itemBias[row] = rank[dimension]
        }
        for row in freedItems { itemBias[row] = -.infinity }
        let itemRows = base.itemRows.updated(count: itemCount, changed: liveItemRows + freedItems, source: itemSource)

        var userRows = Self.resized(base.userRows, to: userCount * k, filler: 0)
        for row in changed.freed {
            for j in row * k..<(row + 1) * k { userRows[j] = 0 }
        }
        for (index, row) in changed.live.enumerated() {
            for j in row * k..<(row + 1) * k { userRows[j] = 0 }
            let cold = userRecords[row, domain: d, UserColumn.ratings] == 0
            project(userRecords.vector(row), cold ? basis.coldHead : basis.userHead, k, into: &userRows, at: row * k)
            if let implicit = basis.implicit, let part = implicitParts?[index] {
                implicit.projectUserPart(part, basis.userImplicit, k, into: &userRows, at: row * k)
            }
        }
        return ListTable(itemRows: itemRows, itemBias: itemBias, userRows: userRows, isRanking: true, userBase: nil)
    }

    /// `array` cut or padded with `filler` to `count` elements.
    static func resized(_ array: [Float], to count: Int, filler: Float) -> [Float] {
        guard array.count != count else { return array }
        var result = Array(array.prefix(count))
        result.append(contentsOf: repeatElement(filler, count: count - result.count))
        return result
    }
}
