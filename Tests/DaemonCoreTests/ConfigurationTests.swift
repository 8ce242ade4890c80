import DaemonCore
import Foundation
import Testing

/// The repository root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

@Suite("Configuration")
struct ConfigurationTests {
    @Test(arguments: ["configs/dev.yaml", "configs/crossrecd.yaml"])
    func shippedConfigurationsAreValid(path: String) throws {
        let configuration = try Configuration.load(path: "\(repositoryRoot)/\(path)")
        #expect(configuration.domains.count == 2)
        #expect(configuration.domains.contains { $0.target })
    }

    @Test func devConfigurationKeepsItsStateUnderTheRepository() throws {
        let configuration = try Configuration.load(path: "\(repositoryRoot)/configs/dev.yaml")
        #expect(configuration.kafka.usesDevBroker)
        #expect(configuration.paths.runDirectory == "\(repositoryRoot)/.run")
        #expect(configuration.paths.stateDirectory == "\(repositoryRoot)/.run/state")
    }

    static let valid = """
        domains:
          - name: movies
            topic: ratings.movies
        """

    @Test(arguments: [
        (valid + "\nkafka:\n  bootstrap: x\n  sesion_timeout_ms: 5\n", "kafka.sesion_timeout_ms", 6, "unknown key"),
        (valid + "\nmodel:\n  dimension: many\n", "model.dimension", 5, "expected an integer"),
        (valid + "\nmodel:\n  dimension: 0\n", "model.dimension", 5, "must be in 1...1024"),
        (valid + "\n    rating_range: [5, 1]\n", "domains[0].rating_range", 4, "min must be below max"),
        (valid + "\n  - name: books\n    topic: ratings.movies\n", "domains[1].topic", 4, "already used"),
        (valid + "\nlog:\n  format: xml\n", "log.format", 5, "must be one of text, json"),
        (valid + "\nhttp:\n  listen: localhost\n", "http.listen", 5, "expected host:port"),
        ("domains: []\n", "domains", 1, "at least one domain"),
        ("domains:\n  - topic: t\n", "domains[0].name", 2, "required"),
        (valid + "\ndistill:\n  index_clusters: 10\n  index_probe: 11\n", "distill.index_probe", 6, "at most distill.index_clusters"),
        (valid + "\ndistill:\n  refit_regularizations: []\n", "distill.refit_regularizations", 5, "at least one value"),
        (valid + "\ndistill:\n  joint_refit_regularization: 0\n", "distill.joint_refit_regularization", 5, "must be in"),
        (valid + "\ndistill:\n  joint_refit_cmf_regularization: -1\n", "distill.joint_refit_cmf_regularization", 5, "must be in"),
        (valid + "\ndistill:\n  refit_regularizations: [5, 0]\n", "distill.refit_regularizations[1]", 5, "must be in"),
        (valid + "\ndistill:\n  transfer_methods: [bridge, magic]\n", "distill.transfer_methods[1]", 5, "one of shared, shared+bias, bridge"),
        (valid + "\ndistill:\n  transfer_methods: []\n", "distill.transfer_methods", 5, "at least one value"),
        (valid + "\ndistill:\n  judged_users: 0\n", "distill.judged_users", 5, "must be in 1...1000000"),
        (valid + "\nsocket:\n  answer_cache_mib: -1\n", "socket.answer_cache_mib", 5, "must be in 0...1048576"),
        (valid + "\nkafka:\n  dead_letter_topic: ratings.movies\n", "kafka.dead_letter_topic", 5, "is a domain's topic"),
        (valid + "\nmodel:\n  dimension: 8\ndistill:\n  dimension: 16\n", "distill.dimension", 7, "at most model.dimension (8)"),
        (valid + "\nmodel:\n  ranking_negatives: 65\n", "model.ranking_negatives", 5, "must be in 0...64"),
        ("kafka:\n  bootstrap: k:9092\nreplication:\n  mode: replica\n", "replication.topic", 4, "required with replication.mode: replica"),
        ("replication:\n  mode: replica\n  topic: m\n", "kafka.bootstrap", 1, "a replica reads the learner's broker"),
        (valid + "\nkafka:\n  bootstrap: k:9092\nreplication:\n  mode: replica\n  topic: m\n", "domains", 2, "consumes no domain topics"),
        (valid + "\nreplication:\n  topic: ratings.movies\n", "replication.topic", 5, "name a topic of its own"),
        (valid + "\nreplication:\n  mode: follower\n", "replication.mode", 5, "learner, replica"),
    ])
    func refusesBadValuesNamingKeyAndLine(yaml: String, key: String, line: Int, message: String) {
        #expect {
            _ = try Configuration.parse(yaml: yaml, file: "test.yaml")
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.key == key && error.line == line && error.message.contains(message)
                && error.description.hasPrefix("test.yaml:\(line): \(key): ")
        }
    }

    @Test func aReplicaNeedsABrokerAndATopicButNoDomains() throws {
        let replica = try Configuration.parse(yaml: "kafka:\n  bootstrap: k:9092\nreplication:\n  mode: replica\n  topic: crossrec.models\n")
        #expect(replica.replication.isReplica && replica.replication.topic == "crossrec.models" && replica.domains.isEmpty)
        let learner = try Configuration.parse(yaml: Self.valid + "\nreplication:\n  topic: crossrec.models\n")
        #expect(!learner.replication.isReplica && learner.replication.fullEvery == 12)
    }

    @Test func mapsOntoTheLearnerAndTheConsumer() throws {
        var configuration = try Configuration.parse(yaml: Self.valid + "\nmodel:\n  dimension: 8\n  optimizer: sgd\n")
        configuration.kafka.properties = ["fetch.wait.max.ms": "50"]
        #expect(configuration.learnerConfiguration.dimension == 8)
        #expect(configuration.learnerConfiguration.optimizer == .sgd)
        let settings = configuration.consumerSettings(bootstrapServers: "127.0.0.1:9")
        #expect(settings.topics.map(\.name) == ["ratings.movies"])
        #expect(settings.extra["fetch.wait.max.ms"] == "50")
        let indexed = try Configuration.parse(yaml: Self.valid + "\ndistill:\n  index_clusters: 300\n  index_probe: 30\n")
        #expect(indexed.distill.options.indexClusters == 300 && indexed.distill.options.indexProbe == 30)
        let judged = try Configuration.parse(yaml: Self.valid + "\ndistill:\n  judged_users: 500\n")
        #expect(judged.distill.options.judgedUsers == 500)
        let refit = try Configuration.parse(
            yaml: Self.valid
                + "\nmodel:\n  refit_ratings: 5000\n  refit_source_ratings: 7000\ndistill:\n  refit_sweeps: 2\n  refit_regularizations: [5, 50]\n"
                + "  joint_refit_sweeps: 4\n  joint_refit_regularization: 0.3\n  joint_refit_cmf_regularization: 0\n  joint_refit_judge_every: 3\n  joint_refit_judged_users: 50\n")
        #expect(refit.learnerConfiguration.recentTargetRatings == 5000 && refit.learnerConfiguration.recentSourceRatings == 7000)
        #expect(refit.distill.options.refitSweeps == 2 && refit.distill.options.refitRegularizations == [5, 50])
        #expect(refit.distill.options.jointRefitSweeps == 4 && refit.distill.options.jointRefitRegularization == 0.3)
        #expect(refit.distill.options.jointRefitCMFRegularization == 0 && refit.distill.options.jointRefitJudgeEvery == 3)
        #expect(refit.distill.options.jointRefitJudgedUsers == 50)
    }
}
