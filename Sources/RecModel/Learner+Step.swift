/// One event's step inside its domain: predict, record the error, then move the biases and
/// both vectors. `Learner.apply` finds the rows and hands over the user's record, writable.
///
/// Why a method of `DomainState`: the step writes the item's record, the seen list and the
/// metrics of its domain, and reaching each through `domains[d]` checked the uniqueness of
/// the domain array every time. Here the domain is borrowed once.
extension Learner {
    /// The hyper-parameters of a step, copied out of the configuration once.
    struct StepRates {
        let dimension: Int
        let optimizer: LearnerConfiguration.Optimizer
        let learningRate: Float
        let regularization: Float
        let limit: Float
        let biasRate: Double
        let biasRegularization: Double
        let seenItemsPerUser: Int

        init(_ configuration: LearnerConfiguration) {
            dimension = configuration.dimension
            optimizer = configuration.optimizer
            learningRate = Float(configuration.learningRate)
            regularization = Float(configuration.regularization)
            limit = Float(configuration.parameterLimit)
            biasRate = configuration.biasLearningRate
            biasRegularization = configuration.biasRegularization
            seenItemsPerUser = configuration.seenItemsPerUser
        }
    }

    /// The rows and values of one event.
    struct Step {
        let user: Int
        let item: Int
        let itemHash: UInt64
        let value: Double
        let timeMillis: Int64
        let clockMillis: Int64
    }
}

extension Learner.DomainState {
    typealias UserColumn = Learner.UserColumn
    typealias ItemColumn = Learner.ItemColumn

    /// Test-then-train on one event of this domain; returns the clipped prediction.
    @inline(__always)
    mutating func learn(
        _ step: Learner.Step, bounds: Learner.Bounds, rates: Learner.StepRates, user userRecord: UserRecords.Writable,
        userScalars user: UnsafeMutablePointer<Double>, twins: inout UserTwins
    ) -> Double {
        let (u, i, value) = (step.user, step.item, step.value)
        let (low, high, weight) = (bounds.low, bounds.high, bounds.weight)
        let itemRecord = itemRecords.writable(i)
        let (item, q, p) = (itemRecord.scalars, itemRecord.vector, userRecord.vector)
        itemRecord.lastSeen.pointee = step.clockMillis
        let dot = Double(VectorMath.kernelDot(p, q, rates.dimension))
        let raw = mean + user[UserColumn.bias] + item[ItemColumn.bias] + dot
        let baselineRaw = mean + user[UserColumn.baselineBias] + item[ItemColumn.baselineBias]
        let prediction = min(max(raw, low), high)
        metrics.record(error: prediction - value, baselineError: min(max(baselineRaw, low), high) - value)

        // Errors are clamped to the rating span, which with the parameter limit keeps every
        // parameter finite whatever in-range input arrives.
        let span = high - low
        let gradient = weight * min(max(value - raw, -span), span)
        let baselineGradient = weight * min(max(value - baselineRaw, -span), span)
        let (biasRate, biasReg) = (rates.biasRate, rates.biasRegularization)
        user[UserColumn.bias] = clamp(user[UserColumn.bias] + biasRate * (gradient - biasReg * user[UserColumn.bias]), span)
        user[UserColumn.baselineBias] = clamp(
            user[UserColumn.baselineBias] + biasRate * (baselineGradient - biasReg * user[UserColumn.baselineBias]), span)
        if user[UserColumn.ratings] == 0 { usersWithRatings += 1 }
        user[UserColumn.ratings] += 1
        item[ItemColumn.bias] = clamp(item[ItemColumn.bias] + biasRate * (gradient - biasReg * item[ItemColumn.bias]), span)
        item[ItemColumn.baselineBias] = clamp(
            item[ItemColumn.baselineBias] + biasRate * (baselineGradient - biasReg * item[ItemColumn.baselineBias]), span)
        item[ItemColumn.ratings] += 1
        item[ItemColumn.popularity] += popularityTerm(atMillis: step.timeMillis)

        switch bounds.twins {
        case .none: break
        case .create: twins.ensure(user: u, vector: p, accumulator: userRecord.accumulator.pointee, dimension: rates.dimension)
        case .step:
            if let twin = twins.row(ofUser: u) {
                twins.step(twin, item: q, base: raw - dot, value: value, span: span, weight: weight, rates: rates)
            }
        }
        switch rates.optimizer {
        case .sgd:
            VectorMath.sgdStep(
                p, q, rates.dimension, gradient: Float(gradient), learningRate: rates.learningRate,
                regularization: rates.regularization, limit: rates.limit)
        case .adagrad:
            var accumulatorQ = Float(item[ItemColumn.accumulator])
            VectorMath.adagradStep(
                p, q, rates.dimension, gradient: Float(gradient), learningRate: rates.learningRate,
                regularization: rates.regularization, limit: rates.limit, accumulatorP: &userRecord.accumulator.pointee,
                accumulatorQ: &accumulatorQ)
            item[ItemColumn.accumulator] = Double(accumulatorQ)
        }

        events += 1
        mean += (value - mean) / Double(events)
        remember(itemHash: step.itemHash, user: Int32(u), limit: rates.seenItemsPerUser)
        return prediction
    }

    /// What a rating at `time` adds to its item's popularity score (rescales the domain's
    /// scores first when the decay clock needs it).
    @inline(__always)
    private mutating func popularityTerm(atMillis time: Int64) -> Double {
        if let term = popularityClock.term(atMillis: time) { return term }
        let factor = popularityClock.rebase(to: time)
        for row in 0..<items.rowLimit { itemRecords[row, ItemColumn.popularity] *= factor }
        return popularityClock.term(atMillis: time) ?? 1
    }

    @inline(__always)
    private func clamp(_ value: Double, _ limit: Double) -> Double { min(max(value, -limit), limit) }

    /// Appends to the user's seen list. Re-ratings are not searched for (that scan would cost
    /// more than the SGD step): a repeated item only takes an extra slot. The list holds up to
    /// twice the bound and is cut back to the newest `limit` when it passes it, so trimming is
    /// amortized O(1).
    @inline(__always)
    private mutating func remember(itemHash: UInt64, user: Int32, limit: Int) {
        guard limit > 0 else { return }
        seen.update(row: user) { list in
            // Grown 4× at a time (from 4, up to the list's bound) instead of Swift's 2×: an
            // active user's list is reallocated 5 times instead of 9 on its way to the bound,
            // and a user with a few ratings holds no more than before.
            if list.count == list.capacity { list.reserveCapacity(min(2 * limit, max(4, list.count * 4))) }
            list.append(itemHash)
            if list.count >= 2 * limit { list.removeFirst(list.count - limit) }
        }
    }
}
