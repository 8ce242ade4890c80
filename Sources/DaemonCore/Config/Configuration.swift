import KafkaIngest
import RecModel

/// Everything `crossrecd` reads from its YAML file, with the production defaults.
/// Every key of the file is a row of the schema (`Configuration+Schema.swift`), which drives
/// parsing (`Configuration+YAML.swift`), reload and the documented configs/crossrecd.yaml.
public struct Configuration: Sendable, Equatable {
    /// One rating domain and the topic that feeds it.
    public struct Domain: Sendable, Equatable {
        public var name: String
        public var topic: String
        public var format: EventFormat = .json
        public var ratingMin: Double = 1
        public var ratingMax: Double = 5
        /// Weight of this domain's loss on the shared user vectors (λ_d).
        public var lossWeight: Double = 1
        /// Served by a compact target model (distillation, cold-start transfer).
        public var target: Bool = false
        public var maxItems: Int = 1_000_000

        public init(name: String, topic: String) {
            self.name = name
            self.topic = topic
        }
    }

    public struct Kafka: Sendable, Equatable {
        /// `bootstrap.servers`, or `dev` for the embedded dev broker.
        public var bootstrap: String = "dev"
        public var groupID: String = "crossrecd"
        public var autoOffsetReset: String = "earliest"
        public var sessionTimeoutMs: Int = 10_000
        public var deadLetterTopic: String?
        /// Partitions per domain topic when the embedded dev broker creates them.
        public var devBrokerPartitions: Int = 4
        public var maxBufferedRecords: Int = 100_000
        public var batchSize: Int = 2_048
        public var rejectLogsPerSecond: Int = 10
        /// Passed to librdkafka unchanged, after ours.
        public var properties: [String: String] = [:]

        public var usesDevBroker: Bool { bootstrap == "dev" }
    }

    public struct Paths: Sendable, Equatable {
        /// Socket and dev-broker address file.
        public var runDirectory: String = "/run/crossrec"
        /// Checkpoints.
        public var stateDirectory: String = "/var/lib/crossrec"

        public var devBrokerAddressFile: String { runDirectory + "/dev-broker.addr" }
    }

    /// The query socket.
    public struct Socket: Sendable, Equatable {
        /// Nil: `crossrecd.sock` in the run directory.
        public var path: String?
        public var mode: UInt32 = 0o660
        public var maxLineBytes = 65_536
        public var maxK = 1_000
        public var maxConnections = 1_024
        public var idleTimeoutSeconds = 300
        /// Memory for `recommend`/`similar` answers kept until the next model version, MiB
        /// (0: every request is computed).
        public var answerCacheMiB = 64
        /// Besides root and the daemon's own user, who may run admin operations (`forget`).
        public var adminUIDs: [UInt32] = []
    }

    /// The optional HTTP listener for Prometheus and probes.
    public struct HTTP: Sendable, Equatable {
        /// `host:port` (`[::1]:9464` for IPv6); nil: no listener.
        public var listen: String?

        /// The host and port of `listen`, when it is set and well formed.
        public var address: (host: String, port: Int)? {
            guard let listen, let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
                (1...65_535).contains(port)
            else { return nil }
            var host = String(listen[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            return host.isEmpty ? nil : (host, port)
        }
    }

    public struct Log: Sendable, Equatable {
        public enum Format: String, Sendable, CaseIterable { case text, json }
        public var level: String = "info"
        public var format: Format = .text
        /// How often ingest counters and prequential metrics are logged, seconds (0: never).
        public var statsIntervalSeconds: Double = 30
    }

    /// Checkpoints of the model and its Kafka offsets, in the state directory.
    public struct Checkpoints: Sendable, Equatable {
        /// Seconds between two checkpoints (one is also written on shutdown and on request).
        public var intervalSeconds: Double = 60
        /// Checkpoints kept; older ones are deleted after each successful write.
        public var retain = 3
        /// What a start does when checkpoints exist but none can be restored (all damaged).
        public var onUnusable = OnUnusable.refuse

        public enum OnUnusable: String, Sendable, CaseIterable {
            /// Stop with exit status 78 and say why: starting empty would resume from the
            /// group's committed offsets and lose the model's history without anyone deciding it.
            case refuse
            /// Start with an empty model; `health` says `degraded` until a checkpoint is written.
            case start_empty
        }
    }

    /// Building the serving model from the learner.
    public struct Distill: Sendable, Equatable {
        /// Seconds between two builds.
        public var intervalSeconds: Double = 10
        /// Applied events that trigger a build before the interval ends (0: interval only).
        public var everyEvents: Int = 1_000_000
        /// A full build every this many versions; light versions between (1: all full).
        public var fullEvery: Int = 6
        /// k' of the students, at most `model.dimension`.
        public var dimension: Int = 16
        /// Fidelity bound on the RMSE of student against teacher predictions.
        public var maxScoreRMSE: Double = 0.25
        public var transferRidge: Double = 1
        public var validationFraction: Double = 0.2
        /// Held-out users the cold-start candidates are judged on (slices held out in turn).
        public var judgedUsers: Int = DistillOptions().judgedUsers
        /// Clusters of the approximate top-k index per domain (0: exact scan of every item).
        public var indexClusters: Int = 0
        /// Clusters a `recommend` scans through the index.
        public var indexProbe: Int = 8
        /// Sweeps of the refit of target domains on their latest ratings (0: no refit).
        public var refitSweeps: Int = 3
        /// Candidate L2 penalties of refitted item vectors; held-out users choose.
        public var refitRegularizations: [Double] = DistillOptions().refitRegularizations
        /// Sweeps of the joint refit of every domain (0: none), and its penalty per rating.
        public var jointRefitSweeps: Int = DistillOptions().jointRefitSweeps
        public var jointRefitRegularization: Double = DistillOptions().jointRefitRegularization
        public var jointRefitCMFRegularization: Double = DistillOptions().jointRefitCMFRegularization
        public var jointRefitJudgeEvery: Int = DistillOptions().jointRefitJudgeEvery
        public var jointRefitJudgedUsers: Int = DistillOptions().jointRefitJudgedUsers
        public var transferMethods: [String] = DistillOptions().transferMethods
        /// Ratings c of the shrinkage n / (n + c) of a cold user's bias and vector.
        public var coldShrinkage: Double = DistillOptions().coldShrinkage
        public var bridgeRegularization: Double = DistillOptions().bridgeRegularization
        public var bridgeBiasRegularization: Double = DistillOptions().bridgeBiasRegularization
        public var rankingImplicitRank: Int = DistillOptions().rankingImplicitRank
        public var rankingImplicitWeight: Double = DistillOptions().rankingImplicitWeight

        public var options: DistillOptions {
            var options = DistillOptions()
            options.dimension = dimension
            options.maxScoreRMSE = maxScoreRMSE
            options.transferRidge = transferRidge
            options.validationFraction = validationFraction
            options.judgedUsers = judgedUsers
            options.indexClusters = indexClusters
            options.indexProbe = indexProbe
            options.refitSweeps = refitSweeps
            options.refitRegularizations = refitRegularizations
            options.jointRefitSweeps = jointRefitSweeps
            options.jointRefitRegularization = jointRefitRegularization
            options.jointRefitCMFRegularization = jointRefitCMFRegularization
            options.jointRefitJudgeEvery = jointRefitJudgeEvery
            options.jointRefitJudgedUsers = jointRefitJudgedUsers
            options.transferMethods = transferMethods
            options.coldShrinkage = coldShrinkage
            options.bridgeRegularization = bridgeRegularization
            options.bridgeBiasRegularization = bridgeBiasRegularization
            options.rankingImplicitRank = rankingImplicitRank
            options.rankingImplicitWeight = rankingImplicitWeight
            return options
        }
    }

    /// Serving versions over a Kafka topic: a learner publishes them, a replica follows them.
    public struct Replication: Sendable, Equatable {
        public enum Mode: String, Sendable, CaseIterable {
            /// Consumes the domain topics, learns, builds, checkpoints; publishes each version
            /// to `topic` when it is set.
            case learner
            /// No learner, no domain topics, no checkpoints: serves the versions of `topic`.
            case replica
        }

        public var mode = Mode.learner
        /// The model topic (one partition); nil: nothing published.
        public var topic: String?
        /// A full version at least every this many published versions; patches of the version
        /// before between (ServingModel+Patch.swift). A light version's patch is a few % of
        /// the whole; a full build moves every row, so its patch is sent whole anyway
        /// (`maxDeltaShare`).
        public var fullEvery = 12
        /// A version whose patch would exceed this share of the whole is sent whole.
        public var maxDeltaShare = 0.5
        /// Message size of the chunks (below the broker's `message.max.bytes`).
        public var chunkBytes = 900 * 1024
        /// A learner produces a version's chunks at most this fast, in MB (10⁶ bytes) per
        /// second; 0: as fast as the broker takes them. Keeps a whole version (~0.5 GB at 1 M
        /// users) from taking the learner's link, and the brokers', for its whole length.
        public var maxMegabytesPerSecond: Double = 0
        /// A replica is degraded when a newer version has been on the topic this long without
        /// being served, or when it has not reached the topic for this long.
        public var maxLagSeconds: Double = 60

        public var isReplica: Bool { mode == .replica }
    }

    public var domains: [Domain] = []
    public var kafka = Kafka()
    public var replication = Replication()
    public var checkpoint = Checkpoints()
    public var distill = Distill()
    public var model = ModelSettings()
    public var paths = Paths()
    public var socket = Socket()
    public var http = HTTP()
    public var log = Log()

    /// Where the query socket is.
    public var socketPath: String { socket.path ?? paths.runDirectory + "/crossrecd.sock" }

    public init() {}
}

/// Learner settings (mapped onto `RecModel.LearnerConfiguration`).
public struct ModelSettings: Sendable, Equatable {
    public var dimension: Int = 32
    public var seed: UInt64 = 42
    public var optimizer: String = "adagrad"
    public var learningRate: Double = 0.1
    public var biasLearningRate: Double = 0.03
    public var regularization: Double = 0.03
    public var biasRegularization: Double = 0.005
    public var initScale: Double = 0.05
    public var maxUsers: Int = 10_000_000
    /// Ids unseen for this long (event time) are evicted at the next sweep; 0 disables.
    public var idleExpirySeconds: Double = 0
    public var popularityHalfLifeSeconds: Double = 7 * 86_400
    public var seenItemsPerUser: Int = LearnerConfiguration.defaultSeenItemsPerUser
    /// Events in the sliding prequential window.
    public var metricsWindow: Int = 10_000
    /// Latest ratings kept per target domain for the refit at distillation.
    public var refitRatings: Int = 1_000_000
    /// Latest ratings kept per other domain for the joint refit at distillation.
    public var refitSourceRatings: Int = LearnerConfiguration(domains: []).recentSourceRatings
    /// The ranking head that orders `recommend`'s lists.
    public var ranking = RankingConfiguration()
}
