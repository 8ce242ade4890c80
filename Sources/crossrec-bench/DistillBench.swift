import ArgumentParser
import Dispatch
import Foundation
import RecModel
import Replication
import Synchronization

/// Distillation of a big model: build time of a serving model, the ingest stall it causes
/// (the daemon's cut: the writer pre-copies the model a slice per safe point, then the copy
/// is distilled on another thread), the student's size and fidelity, and the time of one
/// `recommend` on the student against the teacher (the learner) for the same users.
struct DistillBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distill", abstract: "Distill time, ingest stall, student size/fidelity, query time student vs teacher.")

    @Option(help: "Users of the model (every one rates in the source domain).") var users = 1_000_000
    @Option(help: "Teacher dimension.") var dimension = 64
    @Option(help: "Student dimension k'.") var studentDimension = 16
    @Option(help: "Items per domain.") var items = 100_000
    @Option(help: "Fraction of the users who also rate in the target domain.") var overlap = 0.2
    @Option(help: "Ratings per user in the source domain.") var ratingsPerUser = 5
    @Option(help: "Queries timed on the student and on the teacher.") var queries = 500
    @Option(help: "Repetitions; medians are reported.") var repeats = 3
    @Option(help: "Clusters of the approximate top-k index (0: exact scan).") var indexClusters = 0
    @Option(help: "Clusters a query scans through the index.") var indexProbe = 8
    @Option(help: "Events, of those between two builds, that rate a source item new to the catalog (one new item each).")
    var newItems = 0
    @Option(help: "Latent tastes of generated ratings, as in bench feed (0: the planted (user % 7, item % 7) pattern).")
    var tastes = 0
    @Option(help: "Zipf exponent of item popularity with --tastes (0: uniform items).") var zipf = 0.0
    @Option(help: "Sweeps of the target domain's refit at each build (0: none).") var refitSweeps = DistillOptions().refitSweeps
    @Option(help: "Sweeps of the joint refit of both domains at each build (0: none).") var jointRefitSweeps = DistillOptions().jointRefitSweeps
    @Option(help: "L2 penalty per rating of the joint refit's CMF model, judged at each build (0: never).")
    var jointRefitCmfRegularization = DistillOptions().jointRefitCMFRegularization
    @Option(help: "Latest source ratings kept for the joint refit.") var refitSourceRatings = LearnerConfiguration(domains: []).recentSourceRatings
    @Option(help: "Rank of the PureSVD part of the ranking (0: the ranking head alone).")
    var rankingImplicitRank = DistillOptions().rankingImplicitRank
    @Option(help: "Cold-start methods to judge (repeat; one method: no held-out judging).")
    var transferMethod: [String] = DistillOptions.allTransferMethods

    func validate() throws {
        if let unknown = DistillOptions.unknownTransferMethod(in: transferMethod) { throw ValidationError(unknown) }
        guard jointRefitCmfRegularization >= 0 else { throw ValidationError("--joint-refit-cmf-regularization wants 0 or more") }
        guard newItems >= 0, newItems <= 49 * 2_048 else { throw ValidationError("--new-items wants 0 to 100352") }
        guard jointRefitSweeps >= 0, refitSourceRatings >= 0 else { throw ValidationError("--joint-refit-sweeps and --refit-source-ratings want 0 or more") }
    }

    func run() throws {
        var configuration = LearnerConfiguration(domains: [
            DomainSpec(name: "source", ratingRange: 1...5), DomainSpec(name: "target", ratingRange: 1...5, isTarget: true),
        ])
        configuration.dimension = dimension
        configuration.recentSourceRatings = refitSourceRatings
        var learner = Learner(configuration: configuration)
        var generator = SplitMix64(seed: 11)
        var structured = GeneratedRatings(users: users, items: items, tastes: tastes, zipf: zipf, seed: 11)
        // Planted taste: a user's rating depends on (user % 7, item % 7) in both domains,
        // so the factors and the transfer map have something to learn; or with --tastes,
        // bench feed's ratings (the user drawn here, the item and rating there).
        func event(domain: Int, user: UInt64) -> Rating {
            var item = generator.next() % UInt64(items)
            var value = Double((user % 7 + item % 7) % 5 + 1)
            if tastes > 0 {
                let drawn = structured.next(user: Int(user))
                (item, value) = (UInt64(drawn.item), drawn.value)
            }
            return Rating(domain: domain, user: "user-\(user)", item: "\(domain == 0 ? "s" : "t")-\(item)", value: value,
                timestampMillis: 1_700_000_000_000)
        }
        let buildStart = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<ratingsPerUser {
            for user in 0..<UInt64(users) { learner.apply(event(domain: 0, user: user)) }
        }
        let overlapping = UInt64(Double(users) * overlap)
        for _ in 0..<ratingsPerUser {
            for user in 0..<overlapping { learner.apply(event(domain: 1, user: user)) }
        }
        print(String(format: "teacher: %d users × %d d, %d items per domain, %d events, built in %.1f s", learner.userCount,
            dimension, items, learner.appliedEvents, Double(DispatchTime.now().uptimeNanoseconds - buildStart) / 1e9))

        var options = DistillOptions()
        options.dimension = studentDimension
        options.indexClusters = indexClusters
        options.indexProbe = indexProbe
        options.refitSweeps = refitSweeps
        options.jointRefitSweeps = jointRefitSweeps
        options.jointRefitCMFRegularization = jointRefitCmfRegularization
        options.transferMethods = transferMethod
        options.rankingImplicitRank = max(0, rankingImplicitRank)
        let batches = (0..<100).map { _ in (0..<2_048).map { _ in event(domain: 0, user: generator.next() % UInt64(users)) } }
        var buildSeconds: [Double] = [], plainMax: [Double] = [], duringMax: [Double] = []
        var plainMean: [Double] = [], duringMean: [Double] = [], precopyCounts: [Double] = []
        var model: ServingModel?
        for version in 1...repeats {
            let plain = applyTimed(batches, to: &learner)
            plainMax.append(plain.max()!)
            plainMean.append(plain.reduce(0, +) / Double(plain.count))
            // The daemon's cut, then the build on another thread while ingest goes on.
            let built = Mutex<ServingModel?>(nil)
            let (during, precopyBatches) = applyThroughCut(batches, to: &learner) { copy in
                Thread { [options] in
                    let served = copy.distill(version: version, options: options)
                    built.withLock { $0 = served }
                }.start()
            } finished: { built.withLock { $0 != nil } }
            precopyCounts.append(Double(precopyBatches))
            duringMax.append(during.max()!)
            duringMean.append(during.reduce(0, +) / Double(during.count))
            model = built.withLock { $0 }
            buildSeconds.append(Double(model!.buildNanos) / 1e9)
        }
        guard let model else { return }
        print(String(format: "distill (build of the serving model, concurrent with ingest): median %.2f s (%@)",
            median(buildSeconds), buildSeconds.map { String(format: "%.2f", $0) }.joined(separator: ", ")))
        print(String(format: "snapshot: pre-copied by the writer over %.0f batches (median), %.1f ms of copying per safe point",
            median(precopyCounts), Double(Learner.snapshotStepNanos) / 1e6))
        print(String(format: "ingest batch of 2048 events, from the start of the pre-copy to the end of the build: max %.2f ms (without: %.2f ms, max over 100), mean %.2f ms (without: %.2f ms) (medians)",
            median(duringMax), median(plainMax), median(duringMean), median(plainMean)))
        if let joint = model.jointRefit {
            print("joint refit: \(joint.model) over \(joint.ratings) ratings, \(joint.users) users solved; held-out RMSE "
                + (joint.validationRMSE.isEmpty ? "-" : joint.validationRMSE.sorted { $0.key < $1.key }
                    .map { String(format: "%@ %.4f", $0.key, $0.value) }.joined(separator: ", ") + " on \(joint.validationUsers) users"))
        }
        for domain in model.domains {
            let fidelity = domain.fidelity
            print(String(format: "%@: student %.1f MB vs teacher %.1f MB (ratio %.2f); score RMSE %.4f, top-10 overlap %.3f, energy %.3f; transfer %@",
                domain.name, Double(fidelity.studentBytes) / 1e6, Double(fidelity.teacherBytes) / 1e6,
                Double(fidelity.studentBytes) / Double(fidelity.teacherBytes), fidelity.scoreRMSE, fidelity.top10Overlap,
                fidelity.retainedEnergy, domain.transfer.map { "\($0.method), judged on \($0.validationUsers) held-out users" } ?? "-"))
        }
        try ReplicationTiming(repeats: repeats).run(model: model)
        let light = measureDeltaAtRate(batches: batches, learner: &learner, options: options, version: model.version)
        timeIngestWhilePublishing(model, patch: light, batches: batches, learner: &learner)
        try timeQueries(learner: learner, model: model, overlapping: overlapping)
    }

    /// What replicas would receive between two builds 10 s apart at 10 000 events/s: a build,
    /// 100 352 events (49 batches, at the cut's time), then a full build and a light version on
    /// the first (Learner+LightDistill.swift) as patches of it, and a replica's work on the
    /// light one's patch; all on this thread.
    /// Returns the light version and its base.
    @discardableResult
    private func measureDeltaAtRate(
        batches: [[Rating]], learner: inout Learner, options: DistillOptions, version: Int
    ) -> (version: ServingModel, base: ServingModel)? {
        // One event a second after the others before the cut: the users seen since are those
        // of the batches (a user last seen at the cut's very millisecond counts as seen).
        let later = learner.clockMillis + 1_000
        var tick = batches[0][0]
        tick.timestampMillis = later
        learner.apply(tick)
        let baseModel = learner.distill(version: version + 1, options: options)
        let base = baseModel.encoded()
        // Every (events / newItems)-th event rates an item the catalog did not have.
        let stride = newItems > 0 ? 49 * 2_048 / newItems : Int.max
        var touched: [Rating] = []
        for (index, var event) in batches.prefix(49).joined().enumerated() {
            event.timestampMillis = later
            if index % stride == stride - 1, index / stride < newItems { event.item = "s-new-\(index / stride)" }
            learner.apply(event)
            touched.append(event)
        }
        // The rows a per-row delta would carry at most: those the events touched.
        let users = Set(touched.map(\.user)).count
        let items = Set(touched.map { "\($0.domain) \($0.item)" }).count
        let allItems = learner.configuration.domains.indices.reduce(0) { $0 + learner.statistics(domain: $1).items }
        print(String(format: "those events touch %d users (%.1f %% of %d) and %d items (%.1f %% of %d)",
            users, Double(users) / Double(learner.userCount) * 100, learner.userCount, items,
            Double(items) / Double(allItems) * 100, allItems))
        let full = learner.distill(version: version + 2, options: options)
        let fullBytes = ModelChunks.measure(full).bytes
        let fullPatch = full.patch(from: baseModel)?.count
        print(String(format: "full build after those events: built in %.2f s, %.1f MB; as a patch of the first: %@",
            Double(full.buildNanos) / 1e9, Double(fullBytes) / 1e6,
            fullPatch.map { String(format: "%.1f MB (%.1f %%: every row moves with new projections)", Double($0) / 1e6, Double($0) / Double(fullBytes) * 100) } ?? "none"))
        let light: ServingModel
        switch learner.distillLight(version: version + 2, base: baseModel, options: options) {
        case .success(let model): light = model
        case .failure(let refusal):
            print("light version: none, a full build is needed: \(refusal)")
            return nil
        }
        if let index = light.domains[0].indexSummary, let baseIndex = baseModel.domains[0].indexSummary {
            print(String(format: "source index: %d new items placed by the light version; recall@10 %.3f (its base: %.3f)",
                newItems, index.recallAt10 ?? .nan, baseIndex.recallAt10 ?? .nan))
        }
        let lightEncoding = ModelChunks.measure(light)
        // What replicas receive between full versions, and their work on it.
        var started = DispatchTime.now().uptimeNanoseconds
        func lap() -> Double {
            let now = DispatchTime.now().uptimeNanoseconds
            defer { started = now }
            return Double(now - started) / 1e6
        }
        guard let patch = light.patch(from: baseModel) else {
            print("patch: none (the versions differ in shape)")
            return nil
        }
        let made = lap()
        guard let replicaBase = try? ServingModel.decoded(base) else { return nil }
        _ = lap()
        guard let patched = try? replicaBase.applying(patch: patch) else {
            print("patch: refused by the base it was made from")
            return nil
        }
        let applied = lap()
        let checksum = ModelChunks.measure(patched).checksum
        let checked = lap()
        print(String(format: "light version on the first build: built in %.2f s; its patch %.1f MB (%.2f %% of %.1f MB), made in %.0f ms; on a replica's decoded base: applied in %.0f ms, its encoding's CRC-32C streamed in %.0f ms (%@ the learner's)",
            Double(light.buildNanos) / 1e9, Double(patch.count) / 1e6, Double(patch.count) / Double(lightEncoding.bytes) * 100,
            Double(lightEncoding.bytes) / 1e6, made, applied, checked, checksum == lightEncoding.checksum ? "equal to" : "DIFFERENT from"))
        return (light, baseModel)
    }

    /// Ingest with a publisher at work: the learner's batches timed alone, then while another
    /// thread encodes the model and cuts it into checksummed chunks over and over (what
    /// `replication.topic` adds after each build, without the broker), alternated.
    private func timeIngestWhilePublishing(
        _ model: ServingModel, patch light: (version: ServingModel, base: ServingModel)?, batches: [[Rating]], learner: inout Learner
    ) {
        // Ten passes over the batches (about 2 M events) per measurement: a few encodings long.
        func ingest() -> Double { (0..<10).reduce(0.0) { total, _ in total + applyTimed(batches, to: &learner).reduce(0, +) } }
        func publish(_ work: @escaping @Sendable () -> Void) -> Double {
            let stop = Atomic<Bool>(false)
            let done = DispatchSemaphore(value: 0)
            Thread {
                // Nice 10, as the daemon's publisher runs (DedicatedThread.backgroundNice); who = 0: this thread.
                _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
                while !stop.load(ordering: .relaxed) { work() }
                done.signal()
            }.start()
            defer {
                stop.store(true, ordering: .relaxed)
                done.wait()
            }
            return ingest()
        }
        var alone: [Double] = [], whole: [Double] = [], patches: [Double] = []
        for _ in 0..<repeats {
            alone.append(ingest())
            whole.append(publish { _ = ModelChunks.split(model.encoded(), version: model.version, publishedUnixMillis: 0) })
            if let light {
                // What the publisher does for a light version: the patch, the version's
                // checksum for the manifest, the chunks.
                patches.append(publish {
                    guard let patch = light.version.patch(from: light.base) else { return }
                    _ = ModelChunks.measure(light.version)
                    _ = ModelChunks.split(patch, version: light.version.version, publishedUnixMillis: 0)
                })
            }
        }
        let events = Double(10 * batches.reduce(0) { $0 + $1.count })
        print(String(format: "ingest of %.0f events while a thread publishes whole versions over and over: %.2f M events/s vs %.2f M alone (ratio %.2f, medians)",
            events, events / median(whole) / 1e3, events / median(alone) / 1e3, median(alone) / median(whole)))
        guard !patches.isEmpty else { return }
        print(String(format: "the same, publishing the light version's patch over and over: %.2f M events/s (ratio %.2f, medians)",
            events / median(patches) / 1e3, median(alone) / median(patches)))
    }

    /// recommend top-10 with exclude_seen for the same users, one core: student vs teacher.
    private func timeQueries(learner: Learner, model: ServingModel, overlapping: UInt64) throws {
        var generator = SplitMix64(seed: 12)
        let userIDs = (0..<queries).map { _ in "user-\(generator.next() % max(1, overlapping))" }
        var studentTimes: [Double] = [], teacherTimes: [Double] = []
        var checksum = 0
        for _ in 0..<repeats {
            var start = DispatchTime.now().uptimeNanoseconds
            for user in userIDs { checksum &+= model.recommend(user: user, domain: 1, k: 10, excludeSeen: true).items.count }
            studentTimes.append(Double(DispatchTime.now().uptimeNanoseconds - start) / Double(queries) / 1e3)
            start = DispatchTime.now().uptimeNanoseconds
            for user in userIDs { checksum &+= learner.recommend(user: user, domain: 1, k: 10, excludeSeen: true).items.count }
            teacherTimes.append(Double(DispatchTime.now().uptimeNanoseconds - start) / Double(queries) / 1e3)
        }
        guard checksum > 0 else { throw ValidationError("no recommendation was returned") }
        if let index = model.domains[1].indexSummary {
            print(String(format: "target index: %d clusters, %d probed, recall@10 %.3f (the student's exact top 10 as truth)",
                index.clusters, index.probe, index.recallAt10 ?? .nan))
        }
        print(String(format: "recommend k=10 exclude_seen over %d target items, one core: student (int8, d=%d) median %.0f µs, teacher (float, d=%d) median %.0f µs (ratio %.1f×)",
            items, studentDimension, median(studentTimes), dimension, median(teacherTimes), median(teacherTimes) / median(studentTimes)))
    }
}
