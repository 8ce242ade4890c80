import KafkaIngest
import RecModel
import Yams

/// Every key of the configuration file, in the order of the documented file. A key marked
/// `reload: true` is applied by a reload (SIGHUP); any other change waits for a restart.
extension Configuration {
    /// The sections in file order, with the comment above each.
    static let sections: [(name: String, note: [String])] = [
        ("domains", ["Rating domains, one Kafka topic each. At least one is required."]),
        ("kafka", []),
        ("model", []),
        ("socket", []),
        ("paths", []),
        (
            "http",
            [
                "Optional HTTP listener for Prometheus and probes: GET /metrics, /healthz (200 while the",
                "process serves), /readyz (200 when health is ready, else 503). No authentication: bind",
                "it to localhost or a private address (docs/OPERATIONS.md, \"Metrics over HTTP\").",
            ]
        ),
        (
            "distill",
            [
                "The serving model: an immutable compact student per domain (int8 rows of `dimension`),",
                "rebuilt from the learner off the ingest thread and swapped in atomically. Target domains",
                "also get a cold-start transfer map for users who rated only elsewhere. All keys reload live.",
            ]
        ),
        ("checkpoint", ["Model + Kafka offsets, written atomically to paths.state_dir; restored at start."]),
        (
            "replication",
            [
                "Read replicas over Kafka (docs/OPERATIONS.md, \"Read replicas\"). A learner with a topic",
                "publishes every serving version there: whole at least every full_every versions, as a",
                "patch of the version before between. A replica (mode: replica; no domains, no checkpoints) follows",
                "the topic and answers the read operations on its own socket as the learner would.",
            ]
        ),
        ("log", []),
    ]

    /// The keys of one entry of `domains`.
    static var domainSchema: [ConfigKey<Domain>] {
        [
            .string("", "name", \.name, "domain name used in queries and stats (unique)"),
            .string("", "topic", \.topic, "Kafka topic (unique)"),
            .choice("", "format", \.format, "json: {\"user\":..,\"item\":..,\"rating\":..,\"ts\":..} | csv: user,item,rating[,ts]"),
            ConfigKey.field(
                "", "rating_range", \Domain.ratingBounds, "ratings outside are rejected (reason rating_out_of_range)",
                parse: { (node, path, reader) throws(ConfigError) in
                    let bounds = try reader.sequence(node, path)
                    guard bounds.count == 2 else { throw reader.error(path, node, "expected [min, max]") }
                    let low = try reader.double(bounds[0], path + "[0]", -1e9...1e9)
                    let high = try reader.double(bounds[1], path + "[1]", -1e9...1e9)
                    guard low < high else { throw reader.error(path, node, "min must be below max") }
                    return [low, high]
                }, render: { "[\(yamlNumber($0[0])), \(yamlNumber($0[1]))]" }),
            .double("", "loss_weight", \.lossWeight, 0.000_001...1_000, "λ_d: weight of this domain's loss on the shared user vectors"),
            .bool("", "target", \.target, "serve this domain with a compact distilled model"),
            .int("", "max_items", \.maxItems, 1...1_000_000_000, "least recently rated items are evicted beyond this"),
        ]
    }

    /// The domains the documented file shows.
    static var exampleDomains: [Domain] {
        var books = Domain(name: "books", topic: "ratings.books")
        books.target = true
        return [Domain(name: "movies", topic: "ratings.movies"), books]
    }

    /// Every key of every section but `domains`.
    static var schema: [ConfigKey<Configuration>] {
        kafkaKeys + modelKeys + socketKeys + pathKeys + httpKeys + distillKeys + checkpointKeys + replicationKeys + logKeys
    }

    private static var kafkaKeys: [ConfigKey<Configuration>] {
        [
            .string(
                "kafka", "bootstrap", \.kafka.bootstrap, example: "localhost:9092",
                "bootstrap.servers; \"dev\" (the default) starts the embedded development broker"),
            .string("kafka", "group_id", \.kafka.groupID, "consumer group"),
            .word(
                "kafka", "auto_offset_reset", \.kafka.autoOffsetReset, ["earliest", "latest"],
                "where a partition with no checkpoint and no committed offset starts"),
            .int("kafka", "session_timeout_ms", \.kafka.sessionTimeoutMs, 1_000...3_600_000, "consumer group session timeout"),
            .optionalString(
                "kafka", "dead_letter_topic", \.kafka.deadLetterTopic, reload: true,
                "rejected messages are produced here, reason in header crossrec.reason (never a domain topic)"),
            .int("kafka", "dev_broker_partitions", \.kafka.devBrokerPartitions, 1...1_024, "partitions per topic of the embedded dev broker"),
            .int(
                "kafka", "max_buffered_records", \.kafka.maxBufferedRecords, 1_000...100_000_000,
                "consumed but not yet applied; partitions pause above it"),
            .int("kafka", "batch_size", \.kafka.batchSize, 1...1_000_000, "records handed to the learner at once"),
            .int(
                "kafka", "reject_logs_per_second", \.kafka.rejectLogsPerSecond, 0...100_000,
                "rejection log lines per second; the rest are counted"),
            ConfigKey.field(
                "kafka", "properties", \Configuration.kafka.properties, "passed to librdkafka unchanged (e.g. security.protocol: SSL)",
                parse: { (node, path, reader) throws(ConfigError) in try reader.properties(node, path) },
                render: { $0.isEmpty ? "{}" : "{" + $0.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}" }),
        ]
    }

    private static var modelKeys: [ConfigKey<Configuration>] {
        [
            .int("model", "dimension", \.model.dimension, 1...1_024, "k, length of user and item vectors"),
            ConfigKey.field(
                "model", "seed", \Configuration.model.seed, "seed of the initial vectors (a pure function of id and seed)",
                parse: { (node, path, reader) throws(ConfigError) in UInt64(try reader.int(node, path, 0...Int.max)) },
                render: { "\($0)" }),
            .word(
                "model", "optimizer", \.model.optimizer, LearnerConfiguration.Optimizer.allCases.map(\.rawValue),
                "adagrad (one accumulator per row) | sgd"),
            .double("model", "learning_rate", \.model.learningRate, 0.000_001...10, "rate of the rating head's vectors"),
            .double("model", "bias_learning_rate", \.model.biasLearningRate, 0...10, "rate of the rating biases"),
            .double("model", "regularization", \.model.regularization, 0...100, "L2 penalty of the vectors"),
            .double("model", "bias_regularization", \.model.biasRegularization, 0...100, "L2 penalty of the biases"),
            .double("model", "init_scale", \.model.initScale, 0...10, "standard deviation of the initial vectors"),
            .int(
                "model", "max_users", \.model.maxUsers, 1...1_000_000_000,
                "users are shared by all domains; least recently seen evicted beyond"),
            .double(
                "model", "idle_expiry_seconds", \.model.idleExpirySeconds, 0...1e10,
                "evict ids unseen for this long (event time); 0 = never"),
            .double(
                "model", "popularity_half_life_seconds", \.model.popularityHalfLifeSeconds, 1...1e10,
                "decay of item popularity (7 days)"),
            .int(
                "model", "seen_items_per_user", \.model.seenItemsPerUser, 0...100_000,
                "rated items remembered per user and domain: lists never show them (8-16 bytes each)"),
            .int("model", "metrics_window", \.model.metricsWindow, 1...10_000_000, "events in the sliding prequential window"),
            .int(
                "model", "refit_ratings", \.model.refitRatings, 0...100_000_000,
                "latest ratings kept per target domain (24 bytes each) for distill.refit_sweeps; checkpointed"),
            .int(
                "model", "refit_source_ratings", \.model.refitSourceRatings, 0...100_000_000,
                "latest ratings kept per other domain when one is a target (24 bytes each), for joint_refit_sweeps; checkpointed"),
            .int(
                "model", "ranking_negatives", \.model.ranking.negatives, 0...RankingHead.maxNegatives,
                note: [
                    "The ranking head orders recommend's lists: every rating is also an interaction, learned by a",
                    "sampled softmax against items drawn uniformly from the domain (docs/ARCHITECTURE.md).",
                ],
                "negatives per event; 0 = no head, lists ranked by predicted rating"),
            .double(
                "model", "ranking_learning_rate", \.model.ranking.learningRate, 0.000_001...10,
                "AdaGrad rate of the items' ranking vectors and biases"),
            .double("model", "ranking_regularization", \.model.ranking.regularization, 0...100, "L2 penalty of the ranking vectors"),
            .double(
                "model", "ranking_user_weight", \.model.ranking.userWeight, 0...100,
                "lambda: share of the ranking gradient on the shared user vector"),
            .double("model", "ranking_user_learning_rate", \.model.ranking.userLearningRate, 0...10, "SGD rate of that share"),
        ]
    }

    private static var socketKeys: [ConfigKey<Configuration>] {
        [
            .optionalString(
                "socket", "path", \.socket.path, example: "/run/crossrec/crossrecd.sock", "default: crossrecd.sock in paths.run_dir"),
            ConfigKey.field(
                "socket", "mode", \Configuration.socket.mode, "file mode of the socket: who may connect",
                parse: { (node, path, reader) throws(ConfigError) in
                    // Octal, as chmod takes it: "0660" (quoted or not).
                    let text = try reader.string(node, path)
                    guard let mode = UInt32(text, radix: 8), mode <= 0o777 else {
                        throw reader.error(path, node, "expected an octal file mode such as 0660")
                    }
                    return mode
                }, render: { "\"0" + String($0, radix: 8) + "\"" }),
            .int("socket", "max_line_bytes", \.socket.maxLineBytes, 64...16_777_216, reload: true, "longer request lines get too_large"),
            .int("socket", "max_k", \.socket.maxK, 1...1_000_000, reload: true, "largest k of recommend/similar/popular"),
            .int("socket", "max_connections", \.socket.maxConnections, 1...1_000_000, reload: true, "more get overloaded"),
            .int(
                "socket", "idle_timeout_seconds", \.socket.idleTimeoutSeconds, 1...86_400, reload: true,
                "closed after this long with no request sent, no answer taken"),
            ConfigKey.field(
                "socket", "admin_uids", \Configuration.socket.adminUIDs, reload: true,
                "besides root and the daemon's user, who may run forget",
                parse: { (node, path, reader) throws(ConfigError) in
                    try reader.sequence(node, path).enumerated().map { (index, item) throws(ConfigError) in
                        UInt32(try reader.int(item, "\(path)[\(index)]", 0...Int(UInt32.max)))
                    }
                }, render: { "[" + $0.map { "\($0)" }.joined(separator: ", ") + "]" }),
            .int(
                "socket", "answer_cache_mib", \.socket.answerCacheMiB, 0...1_048_576, reload: true,
                "recommend/similar answers kept until the next model version; 0 = off"),
        ]
    }

    private static var pathKeys: [ConfigKey<Configuration>] {
        [
            .string("paths", "run_dir", \.paths.runDirectory, "socket, dev broker address file"),
            .string("paths", "state_dir", \.paths.stateDirectory, "checkpoints"),
        ]
    }

    private static var httpKeys: [ConfigKey<Configuration>] {
        [
            ConfigKey.field(
                "http", "listen", \Configuration.http.listen, example: "127.0.0.1:9464", "host:port; unset = no HTTP listener",
                parse: { (node, path, reader) throws(ConfigError) in
                    if reader.isNull(node) { return nil }
                    let text = try reader.string(node, path)
                    guard Configuration.HTTP(listen: text).address != nil else {
                        throw reader.error(path, node, "expected host:port, e.g. 127.0.0.1:9464 or [::1]:9464")
                    }
                    return text
                }, render: { $0 }),
        ]
    }

    private static var distillKeys: [ConfigKey<Configuration>] {
        [
            .double("distill", "interval_seconds", \.distill.intervalSeconds, 0.1...86_400, reload: true, "a new version at least this often (while events arrive)"),
            .int(
                "distill", "every_events", \.distill.everyEvents, 0...1_000_000_000, reload: true,
                "or after this many applied events, whichever comes first; 0 = interval only"),
            .int(
                "distill", "full_every", \.distill.fullEvery, 1...1_000_000, reload: true,
                note: [
                    "Light versions: between full builds (refits, projections, transfer maps, PureSVD), a",
                    "version recomputes only the users seen since the previous one and every item, through",
                    "the last full build's projections and maps; the rows of users nobody touched keep their",
                    "bytes. About a tenth of a full build's time at 1 M users, nearly its quality",
                    "(docs/BENCHMARKS.md, light versions). New items take free slots of the cluster index.",
                    "After a forget or a restart, an interval without events, a reload that changed the",
                    "distill options, or when the cluster index has no room left for a new item, the next",
                    "build is full.",
                ],
                "every this many versions, a full build; 1 = every version"),
            .int("distill", "dimension", \.distill.dimension, 1...1_024, reload: true, "k' of the students (at most model.dimension)"),
            .double(
                "distill", "max_score_rmse", \.distill.maxScoreRMSE, 0...100, reload: true,
                "fidelity bound: student vs teacher prediction RMSE above it is flagged in stats and the log"),
            .double("distill", "transfer_ridge", \.distill.transferRidge, 0...1e9, reload: true, "ridge penalty of the transfer map"),
            .double(
                "distill", "validation_fraction", \.distill.validationFraction, 0.01...0.5, reload: true,
                "one slice of overlapping users held out to choose the transfer method"),
            .words(
                "distill", "transfer_methods", \.distill.transferMethods, DistillOptions.allTransferMethods, reload: true,
                note: [
                    "Cold start in target domains: each build judges these methods on held-out users' target",
                    "ratings, predicted through their source-only twins (what a cold user has), and serves",
                    "the best: shared = the shared vector alone; shared+bias = plus a mapped target bias;",
                    "bridge = a corrected vector (I + Δ)·p and a bias fitted on the overlapping users' target",
                    "ratings. Slices are held out in turn until judged_users users have been (or all of them):",
                    "one small slice is too noisy to choose by. At 1 M users × 64 d a build took 11–14 s,",
                    "judging two slices (docs/BENCHMARKS.md).",
                ],
                "the candidates"),
            .int("distill", "judged_users", \.distill.judgedUsers, 1...1_000_000, reload: true, "held-out users the candidates are judged on"),
            .double(
                "distill", "cold_shrinkage", \.distill.coldShrinkage, 0...1e6, reload: true,
                note: [
                    "A cold user's predicted deviation from the item's baseline (their transferred bias and",
                    "vector) is scaled by n / (n + c), n their ratings in the other domains: a user who rated",
                    "little elsewhere stays near the population. c = 5 lowered the cold-start error on the",
                    "validation tasks of both datasets (docs/BENCHMARKS.md, cross-domain section).",
                ],
                "c, in ratings; 0 = no shrinkage"),
            .double(
                "distill", "bridge_regularization", \.distill.bridgeRegularization, 0...1e9, reload: true,
                "ridge penalty of Δ (absolute: summed over the ratings)"),
            .double(
                "distill", "bridge_bias_regularization", \.distill.bridgeBiasRegularization, 0...1e9, reload: true,
                "ridge penalty of the bridge's bias weights"),
            .int(
                "distill", "refit_sweeps", \.distill.refitSweeps, 0...100, reload: true,
                note: [
                    "Target domains: before the student is built, their item vectors and biases (and the",
                    "biases of their users) are solved in batch against the users' shared vectors over the",
                    "latest model.refit_ratings ratings (alternating least squares), so that cold users, who",
                    "have only a shared vector, are served by items fitted to such vectors.",
                ],
                "0 = no refit: the student distills the online parameters"),
            .int(
                "distill", "joint_refit_sweeps", \.distill.jointRefitSweeps, 0...100, reload: true,
                note: [
                    "Every domain: before the targets' refit, the shared user vectors, the users' biases and",
                    "every item are solved jointly in batch (collective MF by alternating least squares) over",
                    "the latest model.refit_ratings and model.refit_source_ratings ratings, starting from the",
                    "online parameters. Only users whose every rating is in those rings are solved. Lowers the",
                    "cold-start error (docs/BENCHMARKS.md, cross-domain section); the lists keep the online vectors.",
                ],
                "0 = none"),
            .double(
                "distill", "joint_refit_regularization", \.distill.jointRefitRegularization, 0.0001...1e6, reload: true,
                "L2 penalty of the joint refit's vectors, per rating of the row (ALS-WR)"),
            .double(
                "distill", "joint_refit_cmf_regularization", \.distill.jointRefitCMFRegularization, 0...1e6, reload: true,
                note: [
                    "The joint refit's other model, CMF's own: one bias per user across domains, every",
                    "penalty per rating (this one), and no target refit after it. A judging build solves",
                    "both models without the target ratings of held-out users (distill.validation_fraction),",
                    "predicts those as cold users, and keeps CMF unless the other is better by more than",
                    "the standard error; stats: model.joint_refit. Judging costs two more joint solves.",
                ],
                "0 = never: the per-domain model and the targets' refit"),
            .int(
                "distill", "joint_refit_judge_every", \.distill.jointRefitJudgeEvery, 1...1_000_000, reload: true,
                "versions a judged choice of the joint refit's model is kept for (1 = every build judges)"),
            .int(
                "distill", "joint_refit_judged_users", \.distill.jointRefitJudgedUsers, 1...1_000_000, reload: true,
                "held-out users the joint models are judged on: slice after slice until this many (two trials a slice)"),
            .doubles(
                "distill", "refit_regularizations", \.distill.refitRegularizations, 0.001...1e9, reload: true,
                note: [
                    "L2 penalty of a refitted item vector (absolute, not per rating). Several values: each",
                    "build takes the one with the lowest error on held-out users' ratings (validation_fraction)",
                    "and reports it in stats; that choice leans toward small values, because those users'",
                    "vectors already learned from the ratings (docs/BENCHMARKS.md, cross-domain section).",
                ],
                "the candidates"),
            .int(
                "distill", "ranking_implicit_rank", \.distill.rankingImplicitRank, 0...256, reload: true,
                note: [
                    "recommend's lists: the ranking head's scores plus, at each build, PureSVD's (the top",
                    "eigenvectors of every domain's rated-item matrix, from the seen lists; users new to the",
                    "domain get it from what they rated elsewhere). Rank 5, weight 3 were chosen on the",
                    "top-N benchmark's validation split; about 2 s of a build at 1 M users (docs/BENCHMARKS.md).",
                ],
                "0 = the ranking head alone"),
            .double(
                "distill", "ranking_implicit_weight", \.distill.rankingImplicitWeight, 0...1_000, reload: true,
                "1 gives the PureSVD part the spread of the head's scores"),
            .int(
                "distill", "index_clusters", \.distill.indexClusters, 0...1_000_000, reload: true,
                note: [
                    "Approximate top-k for large catalogs: items grouped in this many k-means clusters, and a",
                    "`recommend` scans only the index_probe clusters whose centroids score best. stats reports",
                    "the measured recall@10 against the exact scan (model.index). A start for 100 000 items:",
                    "316 clusters (about √items), probe 32.",
                ],
                "0 = exact scan of every item"),
            .int("distill", "index_probe", \.distill.indexProbe, 1...1_000_000, reload: true, "at most index_clusters"),
        ]
    }

    private static var checkpointKeys: [ConfigKey<Configuration>] {
        [
            .double(
                "checkpoint", "interval_seconds", \.checkpoint.intervalSeconds, 0.1...86_400, reload: true,
                "also written on shutdown (SIGTERM) and by `crossrec checkpoint`"),
            .int("checkpoint", "retain", \.checkpoint.retain, 1...1_000, reload: true, "newest checkpoints kept"),
            .choice(
                "checkpoint", "on_unusable", \.checkpoint.onUnusable, reload: true,
                "checkpoints exist but none restores (read at start): refuse (exit 78) | start_empty (health degraded until one is written)"),
        ]
    }

    private static var replicationKeys: [ConfigKey<Configuration>] {
        [
            .choice("replication", "mode", \.replication.mode, "learner | replica"),
            .optionalString(
                "replication", "topic", \.replication.topic, example: "crossrec.models",
                "the model topic, one partition (learner: unset = nothing published; replica: required)"),
            .int(
                "replication", "full_every", \.replication.fullEvery, 1...1_000_000,
                "a whole version at least every this many published versions; 1 = no patches"),
            .double(
                "replication", "max_delta_share", \.replication.maxDeltaShare, 0...1,
                "a patch larger than this share of the whole is sent whole; below 1, a full build's version goes whole unpatched"),
            .int(
                "replication", "chunk_bytes", \.replication.chunkBytes, 1_024...(64 << 20),
                "message size of the chunks: below the broker's message.max.bytes (1 MiB by default)"),
            .double(
                "replication", "max_megabytes_per_second", \.replication.maxMegabytesPerSecond, 0...1_000_000,
                "learner: produce a version's chunks at most this fast (MB/s); 0 = as fast as the broker takes them"),
            .double(
                "replication", "max_lag_seconds", \.replication.maxLagSeconds, 1...86_400,
                "replica: degraded when a newer version waits this long, or the topic is unreachable this long"),
        ]
    }

    private static var logKeys: [ConfigKey<Configuration>] {
        [
            .word(
                "log", "level", \.log.level, ["trace", "debug", "info", "notice", "warning", "error", "critical"], reload: true,
                "trace | debug | info | notice | warning | error | critical"),
            .choice("log", "format", \.log.format, "text | json (one object per line)"),
            .double(
                "log", "stats_interval_seconds", \.log.statsIntervalSeconds, 0...86_400, reload: true,
                "ingest counters and prequential metrics in the log; 0 = never"),
        ]
    }
}

extension Configuration.Domain {
    /// `rating_range` as the file writes it: [min, max].
    var ratingBounds: [Double] {
        get { [ratingMin, ratingMax] }
        set { (ratingMin, ratingMax) = (newValue[0], newValue[1]) }
    }
}
