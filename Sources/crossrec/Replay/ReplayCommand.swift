import ArgumentParser
import CLISupport
import Foundation
import KafkaIngest
import RecModel

/// `crossrec replay`: prequential evaluation of the learner on rating files, offline.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Stream rating files through the learner in time order and print prequential metrics.",
        discussion: """
            Each event is predicted before the learner sees it (test-then-train). Events are sorted by \
            time, then user, then item. Domains come from --domain (one per file), else from the domain \
            column, else all events form one domain named "default".
            """
    )

    @Argument(help: "Rating files (CSV or TSV).") var files: [String]
    @Option(name: .customLong("domain"), help: "Domain of each file, in order (repeat once per file).")
    var fileDomains: [String] = []
    @Option(help: "Columns, e.g. user=0,item=1,rating=2,time=3,domain=4 (time optional).")
    var columns = "user=0,item=1,rating=2,time=3"
    @Option(help: "Field delimiter: tab or comma (default: detected).") var delimiter: String?
    @Flag(inversion: .prefixedNo, help: "First line is a header (default: detected).") var header: Bool?
    @Option(help: "Rating range min:max of every domain.") var ratingRange = "1:5"
    @OptionGroup var model: ModelOptions
    @OptionGroup var distill: DistillArguments
    @Option(help: "Domain loss weights, e.g. books=2,movies=1.") var lossWeights: String?
    @Flag(help: "Print JSON instead of a table.") var json = false
    @Flag(inversion: .prefixedNo, help: "Show a progress bar on a terminal.") var progress = true
    @Option(help: "Held-out ratings (same columns) to predict after the replay: prints their RMSE and MAE.")
    var predict: String?
    @Option(help: "With --predict: write each held-out rating's prediction here (TSV: user, item, rating, prediction clamped to the range, strategy; sorted by time, then user, then item, as the replay sorts events).")
    var predictions: String?
    @Option(help: "Target domains (repeat): they get a compact student and cold-start transfer.")
    var target: [String] = []
    @Option(help: "Learn the whole stream this many times from scratch and report the median time (the results are identical: the learner is deterministic).")
    var repeats = 1
    @Option(help: "Rank every Nth event whose user is known in its domain before learning it: prequential HR@10, NDCG@10, MRR (0: off; not timed).")
    var rankEvery = 100
    @Option(help: "Write the prequential curve here (CSV: per domain and window of events, window and cumulative RMSE/MAE, HR@10 and NDCG@10 of the window's ranked events).")
    var curve: String?
    @Option(help: "Events of one domain per point of --curve.") var curveWindow = 10_000
    @Option(help: "Temporal split: learn this fraction of the stream (time order), then judge top-N lists of the users with ratings on both sides.")
    var split: Double?
    @Option(help: "With --split: write each warm user's served list here (domain, user, then the items, tab-separated).")
    var lists: String?
    @Option(help: "With --split or --predict: serve a light version (no refit, the basis of the full version before it) built on a full version of the learner after this fraction of the learned events; the reports add that full version's figures as served-base.")
    var lightFrom: Double?

    func validate() throws {
        if let split, !(split > 0 && split < 1) { throw ValidationError("--split wants a fraction between 0 and 1, e.g. 0.8") }
        if lists != nil, split == nil { throw ValidationError("--lists needs --split") }
        if let lightFrom {
            guard lightFrom > 0 && lightFrom < 1 else { throw ValidationError("--light-from wants a fraction between 0 and 1, e.g. 0.9") }
            guard split != nil || predict != nil else { throw ValidationError("--light-from needs --split or --predict") }
        }
        if predictions != nil, predict == nil { throw ValidationError("--predictions needs --predict") }
        guard repeats >= 1 else { throw ValidationError("--repeats wants at least 1") }
        guard rankEvery >= 0 else { throw ValidationError("--rank-every wants 0 or more") }
        guard curveWindow >= 1 else { throw ValidationError("--curve-window wants at least 1 event") }
    }

    func run() throws {
        // A path that cannot be written is said before the replay, not after it.
        for (option, path) in [("--curve", curve), ("--predictions", predictions)] {
            if let path, !FileManager.default.createFile(atPath: path, contents: nil) {
                throw ValidationError("\(option): cannot write \(path)")
            }
        }
        let events = try loadEvents()
        guard !events.isEmpty else { throw ValidationError("no ratings found in \(files.joined(separator: ", "))") }
        var runner = ReplayRunner(
            configuration: try learnerConfiguration(domains: events.domainNames), showProgress: progress && !json && repeats == 1)
        runner.rankEvery = rankEvery
        runner.curveWindow = curve == nil ? nil : curveWindow
        let limit = split.map { Int(Double(events.count) * $0) }
        runner.snapshotAt = lightFrom.map { Int(Double(limit ?? events.count) * $0) }
        var (report, learner, snapshot) = runner.run(events, limit: limit)
        if repeats > 1 {
            // The repeats only time the learner: the ranking samples of the first run stand.
            let ranking = report.domains.map(\.ranking)
            let curvePoints = report.curve
            runner.rankEvery = 0
            runner.curveWindow = nil
            var times = [report.seconds]
            for _ in 1..<repeats {
                (report, learner, snapshot) = runner.run(events, limit: limit)
                times.append(report.seconds)
            }
            report.runSeconds = times
            report.seconds = times.sorted()[times.count / 2]
            for d in report.domains.indices { report.domains[d].ranking = ranking[d] }
            report.curve = curvePoints
        }
        if let curve, let points = report.curve {
            do {
                try points.csv.write(toFile: curve, atomically: true, encoding: .utf8)
            } catch {
                throw ValidationError("--curve: cannot write \(curve): \(error)")
            }
        }
        if let limit {
            let evaluations = try evaluateSplit(events, at: limit, learner: learner, snapshot: snapshot)
            print(json ? report.json(extra: ["top_n": evaluations.map(\.json)]) : ([report.table()] + evaluations.map(\.text)).joined(separator: "\n"))
            return
        }
        guard let predict else {
            print(json ? report.json() : report.table())
            return
        }
        var heldOut = try loadEvents(files: [predict], domains: fileDomains.isEmpty ? [] : [fileDomains[0]])
        let unknown = heldOut.domainNames.filter { !events.domainNames.contains($0) }
        guard unknown.isEmpty else {
            throw ValidationError(
                "--predict: domain \(unknown.joined(separator: ", ")) is not a training domain (\(events.domainNames.joined(separator: ", ")))")
        }
        heldOut.resolveDomains(against: events.domainNames)
        guard !heldOut.isEmpty else { throw ValidationError("--predict: no ratings found in \(predict)") }
        let (model, base) = try servedModels(learner: learner, snapshot: snapshot)
        let range = learner.configuration.domains[0].ratingRange
        func predicted(by model: ServingModel) -> ColdStartEvaluation {
            ColdStartEvaluation(heldOut.events, range: range) { event in
                model.predict(user: event.user, item: event.item, domain: event.domain).map { ($0.score, $0.strategy.rawValue) }
            }
        }
        let evaluation = predicted(by: model)
        let baseEvaluation = base.map(predicted(by:))
        if let predictions {
            do {
                try evaluation.predictionsTSV(heldOut.events).write(toFile: predictions, atomically: true, encoding: .utf8)
            } catch {
                throw ValidationError("--predictions: cannot write \(predictions): \(error)")
            }
        }
        let served = model.domains.map { domain -> [String: Any] in
            var fields: [String: Any] = [
                "domain": domain.name, "score_rmse": domain.fidelity.scoreRMSE, "top10_overlap": domain.fidelity.top10Overlap,
                "student_bytes": domain.fidelity.studentBytes, "teacher_bytes": domain.fidelity.teacherBytes,
            ]
            if let transfer = domain.transfer {
                fields["transfer"] = [
                    "method": transfer.method, "validation_rmse": transfer.validationRMSE, "training_users": transfer.trainingUsers,
                    "validation_users": transfer.validationUsers,
                ]
            }
            if let refit = domain.refit {
                fields["refit"] = [
                    "regularization": refit.regularization, "ratings": refit.ratings, "items": refit.items, "users": refit.users,
                    "validation_rmse": Dictionary(uniqueKeysWithValues: refit.validationRMSE.map { ("\($0.key)", $0.value) }),
                ]
            }
            return fields
        }
        // The held-out users' lists in each target domain: what they would be shown before
        // their first rating there, against the domain's popular list.
        let coldLists = events.domainNames.enumerated().filter { target.contains($0.element) }.map { d, name in
            var evaluation = TopNEvaluation(
                domain: name, train: events.events.filter { $0.domain == d }, test: heldOut.events.filter { $0.domain == d }, cold: true)
            evaluation.addMostPopular()
            evaluation.add(method: "popular") { _ in model.popular(domain: d, k: 20).map(\.item) }
            evaluation.add(method: "served") { Self.list($0, of: model, domain: d) }
            if let base { evaluation.add(method: "served-base") { Self.list($0, of: base, domain: d) } }
            return evaluation
        }
        print(
            json
                ? report.json(extra: [
                    "cold_start": evaluation.json, "base_cold_start": baseEvaluation?.json ?? NSNull(), "served": served, "cold_top_n": coldLists.map(\.json),
                    "build_seconds": Double(model.buildNanos) / 1e9,
                    "joint_refit": model.jointRefit.map { joint -> [String: Any] in
                        [
                            "model": joint.model, "validation_rmse": joint.validationRMSE, "validation_users": joint.validationUsers,
                            "ratings": joint.ratings, "users": joint.users,
                        ]
                    } ?? NSNull(),
                ])
                : ([report.table(), evaluation.text] + (baseEvaluation.map { ["served-base (the full version under the light one):", $0.text] } ?? [])
                    + [String(format: "serving model built in %.2f s", Double(model.buildNanos) / 1e9)]
                    + coldLists.map(\.text)).joined(separator: "\n"))
    }

    /// The model the replay serves: a full build of the learner; with `--light-from`, a light
    /// version of it on a full build of the snapshot, which is returned too.
    private func servedModels(learner: Learner, snapshot: Learner?) throws -> (served: ServingModel, base: ServingModel?) {
        guard let snapshot else { return (learner.distill(version: 1, options: distill.options), nil) }
        let base = snapshot.distill(version: 1, options: distill.options)
        switch learner.distillLight(version: 2, base: base, options: distill.options) {
        case .success(let light): return (light, base)
        case .failure(let refusal): throw ValidationError("--light-from: no light version of this model: \(refusal)")
        }
    }

    /// The 20 items `model` serves `user` in domain `d` (rated ones left out), as the daemon answers.
    private static func list(_ user: String, of model: ServingModel, domain d: Int) -> [String] {
        model.recommend(user: user, domain: d, k: 20, excludeSeen: true).items.map(\.item)
    }

    /// Top-N figures of the split, per domain: most popular, the learner's own lists, and the
    /// served model's (what the daemon answers); `--lists` gets the served ones.
    private func evaluateSplit(_ events: ReplayEvents, at limit: Int, learner: Learner, snapshot: Learner?) throws -> [TopNEvaluation] {
        let (model, base) = try servedModels(learner: learner, snapshot: snapshot)
        var output = ""
        var evaluations: [TopNEvaluation] = []
        for (d, name) in events.domainNames.enumerated() {
            var evaluation = TopNEvaluation(
                domain: name, train: events.events[..<limit].filter { $0.domain == d },
                test: events.events[limit...].filter { $0.domain == d })
            evaluation.addMostPopular()
            evaluation.add(method: "learner") { user in
                learner.recommend(user: user, domain: d, k: 20, excludeSeen: true).items.map(\.item)
            }
            evaluation.add(method: "served") { user in
                let items = Self.list(user, of: model, domain: d)
                if lists != nil { output += ([name, user] + items).joined(separator: "\t") + "\n" }
                return items
            }
            if let base { evaluation.add(method: "served-base") { Self.list($0, of: base, domain: d) } }
            evaluations.append(evaluation)
        }
        if let lists {
            do {
                try output.write(toFile: lists, atomically: true, encoding: .utf8)
            } catch {
                throw ValidationError("cannot write --lists \(lists): \(error.localizedDescription)")
            }
        }
        return evaluations
    }

    private func loadEvents() throws -> ReplayEvents {
        try loadEvents(files: files, domains: fileDomains)
    }

    private func loadEvents(files: [String], domains fileDomains: [String]) throws -> ReplayEvents {
        guard fileDomains.isEmpty || fileDomains.count == files.count else {
            throw ValidationError("give --domain once per file (\(files.count)) or not at all")
        }
        let reader = RatingFileReader(
            columns: try ReplayEvents.parseColumns(columns), delimiter: try ReplayEvents.parseDelimiter(delimiter),
            hasHeader: header)
        var events = ReplayEvents()
        let showProgress = progress && !json
        for (index, file) in files.enumerated() {
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
            let bar = ProgressBar(total: size, label: "loading \((file as NSString).lastPathComponent)", enabled: showProgress)
            let result = try reader.read(path: file) { done, _ in bar.update(done) }
            bar.finish()
            for rejected in result.rejected.prefix(5) { FileHandle.standardError.write(Data("\(file): \(rejected.reason)\n".utf8)) }
            if result.rejected.count > 5 {
                FileHandle.standardError.write(Data("\(file): \(result.rejected.count) lines skipped in all\n".utf8))
            }
            events.append(result.lines, domain: fileDomains.isEmpty ? nil : fileDomains[index])
        }
        ProgressBar.step("sorting \(events.count) events by time", enabled: showProgress) { events.sortByTime() }
        return events
    }

    private func learnerConfiguration(domains: [String]) throws -> LearnerConfiguration {
        let bounds = ratingRange.split(separator: ":").compactMap { Double($0) }
        guard bounds.count == 2, bounds[0] < bounds[1] else { throw ValidationError("--rating-range wants min:max") }
        var weights: [String: Double] = [:]
        for pair in (lossWeights ?? "").split(separator: ",") {
            let parts = pair.split(separator: "=")
            guard parts.count == 2, let weight = Double(parts[1]), weight > 0 else {
                throw ValidationError("--loss-weights wants name=weight pairs")
            }
            weights[String(parts[0])] = weight
        }
        // A misspelt domain would silently keep its default: name the ones the files have.
        let known = domains.joined(separator: ", ")
        for name in weights.keys.sorted() where !domains.contains(name) {
            throw ValidationError("--loss-weights: no domain \(name) in the files (domains: \(known))")
        }
        for name in target where !domains.contains(name) {
            throw ValidationError("--target: no domain \(name) in the files (domains: \(known))")
        }
        var configuration = LearnerConfiguration(domains: domains.map {
            DomainSpec(name: $0, ratingRange: bounds[0]...bounds[1], lossWeight: weights[$0] ?? 1, isTarget: target.contains($0))
        })
        model.apply(to: &configuration)
        return configuration
    }
}

/// Learner hyper-parameters shared by `replay` and the benchmarks.
struct ModelOptions: ParsableArguments {
    @Option(help: "Embedding dimension k.") var dimension = 32
    @Option(help: "Seed of the initial vectors.") var seed: UInt64 = 42
    @Option(help: "Vector optimizer: sgd or adagrad.") var optimizer: String?
    @Option(help: "Learning rate of the vectors.") var learningRate: Double?
    @Option(help: "SGD learning rate of the biases.") var biasLearningRate: Double?
    @Option(help: "L2 regularization of the vectors.") var regularization: Double?
    @Option(help: "L2 regularization of the biases.") var biasRegularization: Double?
    @Option(help: "Standard deviation of the initial vectors.") var initScale: Double?
    @Option(help: "Latest ratings kept per target domain for the refit at distillation (0: none).")
    var refitRatings: Int?
    @Option(help: "Latest ratings kept per other domain for the joint refit at distillation (0: none).")
    var refitSourceRatings: Int?
    @Option(help: "Most recent items remembered per user and domain, which lists exclude.") var seenItems: Int?
    @Option(help: "Negatives sampled per event by the ranking head (0: no head; lists ranked by predicted rating).")
    var rankNegatives: Int?
    @Option(help: "AdaGrad rate of the ranking head's item vectors.") var rankLearningRate: Double?
    @Option(help: "SGD rate of the ranking head's item biases.") var rankBiasLearningRate: Double?
    @Option(help: "L2 penalty of the ranking head's item vectors.") var rankRegularization: Double?
    @Option(help: "λ: the ranking gradient's share on the shared user vector.") var rankUserWeight: Double?
    @Option(help: "SGD rate of the ranking gradient on the user vector.") var rankUserLearningRate: Double?

    func validate() throws {
        if let optimizer, LearnerConfiguration.Optimizer(rawValue: optimizer) == nil {
            throw ValidationError(
                "--optimizer: \(optimizer) is not one of \(LearnerConfiguration.Optimizer.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let rankNegatives, !(0...RankingHead.maxNegatives).contains(rankNegatives) {
            throw ValidationError("--rank-negatives wants 0 to \(RankingHead.maxNegatives)")
        }
        if let seenItems, seenItems < 0 { throw ValidationError("--seen-items wants 0 or more") }
        if let refitSourceRatings, refitSourceRatings < 0 { throw ValidationError("--refit-source-ratings wants 0 or more") }
    }

    func apply(to configuration: inout LearnerConfiguration) {
        configuration.dimension = dimension
        configuration.seed = seed
        if let optimizer, let value = LearnerConfiguration.Optimizer(rawValue: optimizer) { configuration.optimizer = value }
        if let learningRate { configuration.learningRate = learningRate }
        if let biasLearningRate { configuration.biasLearningRate = biasLearningRate }
        if let regularization { configuration.regularization = regularization }
        if let biasRegularization { configuration.biasRegularization = biasRegularization }
        if let initScale { configuration.initScale = initScale }
        if let refitRatings { configuration.recentTargetRatings = max(0, refitRatings) }
        if let refitSourceRatings { configuration.recentSourceRatings = refitSourceRatings }
        if let seenItems { configuration.seenItemsPerUser = seenItems }
        if let rankNegatives { configuration.ranking.negatives = rankNegatives }
        if let rankLearningRate { configuration.ranking.learningRate = rankLearningRate }
        if let rankBiasLearningRate { configuration.ranking.biasLearningRate = rankBiasLearningRate }
        if let rankRegularization { configuration.ranking.regularization = rankRegularization }
        if let rankUserWeight { configuration.ranking.userWeight = rankUserWeight }
        if let rankUserLearningRate { configuration.ranking.userLearningRate = rankUserLearningRate }
    }
}

/// Distillation settings of `replay --predict` and the benchmarks.
struct DistillArguments: ParsableArguments {
    @Option(help: "Student dimension k'.") var studentDimension = 16
    @Option(help: "Ridge penalty of the transfer map.") var transferRidge = 1.0
    @Option(help: "Sweeps of the refit of target domains on their latest ratings (0: no refit).")
    var refitSweeps = DistillOptions().refitSweeps
    @Option(help: "Candidate L2 penalty of refitted item vectors (repeat: held-out users choose among them; default 20).")
    var refitRegularization: [Double] = []
    @Option(help: "L2 penalty of a refitted item bias.") var refitItemBiasRegularization = DistillOptions().refitItemBiasRegularization
    @Option(help: "L2 penalty of a refitted user bias.") var refitUserBiasRegularization = DistillOptions().refitUserBiasRegularization
    @Option(help: "Sweeps of the joint refit of every domain on its latest ratings (0: none).")
    var jointRefitSweeps = DistillOptions().jointRefitSweeps
    @Option(help: "L2 penalty per rating of the joint refit's vectors.") var jointRefitRegularization = DistillOptions().jointRefitRegularization
    @Option(help: "L2 penalty per rating of the joint refit's CMF model, judged against the other at each build (0: never).")
    var jointRefitCmfRegularization = DistillOptions().jointRefitCMFRegularization
    @Option(help: "Cold-start method held-out users may choose (repeat: shared, shared+bias, bridge; default all).")
    var transferMethod: [String] = []
    @Option(help: "Ratings c: a cold user's bias and vector are scaled by n / (n + c), n their ratings elsewhere (0: none).")
    var coldShrinkage = DistillOptions().coldShrinkage
    @Option(help: "Ridge penalty of the cold-start bridge's correction matrix.") var bridgeRegularization = DistillOptions().bridgeRegularization
    @Option(help: "Ridge penalty of the cold-start bridge's bias weights.") var bridgeBiasRegularization = DistillOptions().bridgeBiasRegularization
    @Option(help: "Rank of the PureSVD factors of the seen lists blended into the ranking (0: the ranking head alone).")
    var rankingImplicitRank = DistillOptions().rankingImplicitRank
    @Option(help: "Weight of that blend (1: the spread of the head's scores).") var rankingImplicitWeight = DistillOptions().rankingImplicitWeight

    func validate() throws {
        guard (0...256).contains(rankingImplicitRank) else { throw ValidationError("--ranking-implicit-rank must be in 0...256") }
        guard rankingImplicitWeight >= 0, rankingImplicitWeight.isFinite else { throw ValidationError("--ranking-implicit-weight must be ≥ 0") }
        guard jointRefitSweeps >= 0 else { throw ValidationError("--joint-refit-sweeps wants 0 or more") }
        guard jointRefitRegularization > 0, jointRefitRegularization.isFinite else {
            throw ValidationError("--joint-refit-regularization must be > 0")
        }
        guard jointRefitCmfRegularization >= 0, jointRefitCmfRegularization.isFinite else {
            throw ValidationError("--joint-refit-cmf-regularization must be ≥ 0")
        }
        guard coldShrinkage >= 0, coldShrinkage.isFinite else { throw ValidationError("--cold-shrinkage must be ≥ 0") }
        if let unknown = DistillOptions.unknownTransferMethod(in: transferMethod) { throw ValidationError(unknown) }
    }

    var options: DistillOptions {
        var options = DistillOptions()
        options.dimension = studentDimension
        options.transferRidge = transferRidge
        options.refitSweeps = max(0, refitSweeps)
        options.refitItemBiasRegularization = max(0.001, refitItemBiasRegularization)
        options.refitUserBiasRegularization = max(0, refitUserBiasRegularization)
        if !transferMethod.isEmpty { options.transferMethods = transferMethod }
        options.coldShrinkage = coldShrinkage
        options.bridgeRegularization = max(0, bridgeRegularization)
        options.bridgeBiasRegularization = max(0, bridgeBiasRegularization)
        if !refitRegularization.isEmpty { options.refitRegularizations = refitRegularization.map { max(0.001, $0) } }
        options.rankingImplicitRank = rankingImplicitRank
        options.rankingImplicitWeight = rankingImplicitWeight
        options.jointRefitSweeps = jointRefitSweeps
        options.jointRefitRegularization = jointRefitRegularization
        options.jointRefitCMFRegularization = jointRefitCmfRegularization
        return options
    }
}
