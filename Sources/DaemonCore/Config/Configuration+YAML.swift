import Foundation
import KafkaIngest
import RecModel
import Yams

extension Configuration {
    /// Reads and checks a configuration file; every problem names the key and the line.
    public static func load(path: String) throws(ConfigError) -> Configuration {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ConfigError(file: path, key: "", line: nil, message: "cannot read: \(FileProblem.describe(path: path, error: error))")
        }
        var configuration = try parse(yaml: text, file: path)
        configuration.resolvePaths(relativeTo: URL(fileURLWithPath: path).deletingLastPathComponent().path)
        return configuration
    }

    public static func parse(yaml: String, file: String = "<config>") throws(ConfigError) -> Configuration {
        let reader = YAMLReader(file: file)
        let root: Node?
        do { root = try Yams.compose(yaml: yaml) } catch {
            throw ConfigError(file: file, key: "", line: (error as? YamlError).flatMap(\.line), message: "not valid YAML: \(error)")
        }
        guard let root else { throw ConfigError(file: file, key: "", line: nil, message: "empty configuration") }
        var configuration = Configuration()
        for (name, node, path) in try reader.mapping(root, "", allowed: ["domains", "kafka", "model", "distill", "checkpoint", "paths", "socket", "log"]) {
            switch name {
            case "domains": configuration.domains = try parseDomains(node, path, reader)
            case "kafka": configuration.kafka = try parseKafka(node, path, reader)
            case "model": configuration.model = try parseModel(node, path, reader)
            case "checkpoint": configuration.checkpoint = try parseCheckpoint(node, path, reader)
            case "distill": configuration.distill = try parseDistill(node, path, reader)
            case "paths": configuration.paths = try parsePaths(node, path, reader)
            case "socket": configuration.socket = try parseSocket(node, path, reader)
            default: configuration.log = try parseLog(node, path, reader)
            }
        }
        guard !configuration.domains.isEmpty else {
            throw ConfigError(file: file, key: "domains", line: root.mark?.line, message: "at least one domain is required")
        }
        try checkAcrossSections(configuration, root, reader)
        return configuration
    }

    /// Rules that tie keys of two sections; the error names the key that must change.
    private static func checkAcrossSections(_ configuration: Configuration, _ root: Node, _ reader: YAMLReader) throws(ConfigError) {
        // A dead-letter topic that is also consumed would feed each bad message back in, and
        // set it aside again, forever.
        if let topic = configuration.kafka.deadLetterTopic, configuration.domains.contains(where: { $0.topic == topic }),
            let node = root["kafka"]?["dead_letter_topic"]
        {
            throw reader.error("kafka.dead_letter_topic", node, "\(topic) is a domain's topic: bad messages would loop; name another topic")
        }
        // The student's rows are a projection of the teacher's: they cannot be longer.
        if configuration.distill.dimension > configuration.model.dimension, let node = root["distill"]?["dimension"] {
            throw reader.error(
                "distill.dimension", node,
                "at most model.dimension (\(configuration.model.dimension)): the student is a projection of the teacher")
        }
    }

    /// Relative paths in the file are relative to the file's directory's parent when that is a
    /// `configs/` folder (so `configs/dev.yaml` can say `.run`), else to the file's directory.
    mutating func resolvePaths(relativeTo directory: String) {
        let base = URL(fileURLWithPath: directory).lastPathComponent == "configs"
            ? URL(fileURLWithPath: directory).deletingLastPathComponent().path : directory
        func resolve(_ path: String) -> String {
            path.hasPrefix("/") ? path : URL(fileURLWithPath: base).appendingPathComponent(path).standardized.path
        }
        paths.runDirectory = resolve(paths.runDirectory)
        paths.stateDirectory = resolve(paths.stateDirectory)
        socket.path = socket.path.map(resolve)
    }

    private static func parseDomains(_ node: Node, _ key: String, _ reader: YAMLReader) throws(ConfigError) -> [Domain] {
        var domains: [Domain] = []
        let allowed: Set<String> = ["name", "topic", "format", "rating_range", "loss_weight", "target", "max_items"]
        for (index, item) in try reader.sequence(node, key).enumerated() {
            let itemKey = "\(key)[\(index)]"
            var name: String?
            var topic: String?
            var domain = Domain(name: "", topic: "")
            for (field, value, path) in try reader.mapping(item, itemKey, allowed: allowed) {
                switch field {
                case "name": name = try reader.string(value, path)
                case "topic": topic = try reader.string(value, path)
                case "format": domain.format = try reader.choice(value, path, EventFormat.self)
                case "rating_range":
                    let bounds = try reader.sequence(value, path)
                    guard bounds.count == 2 else { throw reader.error(path, value, "expected [min, max]") }
                    domain.ratingMin = try reader.double(bounds[0], path + "[0]", -1e9...1e9)
                    domain.ratingMax = try reader.double(bounds[1], path + "[1]", -1e9...1e9)
                    guard domain.ratingMin < domain.ratingMax else { throw reader.error(path, value, "min must be below max") }
                case "loss_weight": domain.lossWeight = try reader.double(value, path, 0.000_001...1_000)
                case "target": domain.target = try reader.bool(value, path)
                default: domain.maxItems = try reader.int(value, path, 1...1_000_000_000)
                }
            }
            guard let name else { throw reader.error(itemKey + ".name", item, "required") }
            guard let topic else { throw reader.error(itemKey + ".topic", item, "required") }
            guard !domains.contains(where: { $0.name == name }) else { throw reader.error(itemKey + ".name", item, "duplicate domain \(name)") }
            guard !domains.contains(where: { $0.topic == topic }) else { throw reader.error(itemKey + ".topic", item, "topic \(topic) already used") }
            domain.name = name
            domain.topic = topic
            domains.append(domain)
        }
        return domains
    }

    private static func parseKafka(_ node: Node, _ key: String, _ reader: YAMLReader) throws(ConfigError) -> Kafka {
        var kafka = Kafka()
        let allowed: Set<String> = [
            "bootstrap", "group_id", "auto_offset_reset", "session_timeout_ms", "dead_letter_topic",
            "dev_broker_partitions", "max_buffered_records", "batch_size", "reject_logs_per_second", "properties",
        ]
        for (field, value, path) in try reader.mapping(node, key, allowed: allowed) {
            switch field {
            case "bootstrap": kafka.bootstrap = try reader.string(value, path)
            case "group_id": kafka.groupID = try reader.string(value, path)
            case "auto_offset_reset":
                kafka.autoOffsetReset = try reader.string(value, path)
                guard ["earliest", "latest"].contains(kafka.autoOffsetReset) else {
                    throw reader.error(path, value, "must be earliest or latest")
                }
            case "session_timeout_ms": kafka.sessionTimeoutMs = try reader.int(value, path, 1_000...3_600_000)
            case "dead_letter_topic": kafka.deadLetterTopic = reader.isNull(value) ? nil : try reader.string(value, path)
            case "dev_broker_partitions": kafka.devBrokerPartitions = try reader.int(value, path, 1...1_024)
            case "max_buffered_records": kafka.maxBufferedRecords = try reader.int(value, path, 1_000...100_000_000)
            case "batch_size": kafka.batchSize = try reader.int(value, path, 1...1_000_000)
            case "reject_logs_per_second": kafka.rejectLogsPerSecond = try reader.int(value, path, 0...100_000)
            default: kafka.properties = try reader.properties(value, path)
            }
        }
        return kafka
    }

    private static func parseModel(_ node: Node, _ key: String, _ reader: YAMLReader) throws(ConfigError) -> ModelSettings {
        var model = ModelSettings()
        let allowed: Set<String> = [
            "dimension", "seed", "optimizer", "learning_rate", "bias_learning_rate", "regularization", "bias_regularization",
            "init_scale", "max_users", "idle_expiry_seconds", "popularity_half_life_seconds", "seen_items_per_user",
            "metrics_window", "refit_ratings", "ranking_negatives", "ranking_learning_rate", "ranking_regularization",
            "ranking_user_weight", "ranking_user_learning_rate",
        ]
        for (field, value, path) in try reader.mapping(node, key, allowed: allowed) {
            switch field {
            case "dimension": model.dimension = try reader.int(value, path, 1...1_024)
            case "seed": model.seed = UInt64(try reader.int(value, path, 0...Int.max))
            case "optimizer": model.optimizer = try reader.choice(value, path, LearnerConfiguration.Optimizer.self).rawValue
            case "learning_rate": model.learningRate = try reader.double(value, path, 0.000_001...10)
            case "bias_learning_rate": model.biasLearningRate = try reader.double(value, path, 0...10)
            case "regularization": model.regularization = try reader.double(value, path, 0...100)
            case "bias_regularization": model.biasRegularization = try reader.double(value, path, 0...100)
            case "init_scale": model.initScale = try reader.double(value, path, 0...10)
            case "max_users": model.maxUsers = try reader.int(value, path, 1...1_000_000_000)
            case "idle_expiry_seconds": model.idleExpirySeconds = try reader.double(value, path, 0...1e10)
            case "popularity_half_life_seconds": model.popularityHalfLifeSeconds = try reader.double(value, path, 1...1e10)
            case "seen_items_per_user": model.seenItemsPerUser = try reader.int(value, path, 0...100_000)
            case "refit_ratings": model.refitRatings = try reader.int(value, path, 0...100_000_000)
            case "metrics_window": model.metricsWindow = try reader.int(value, path, 1...10_000_000)
            case "ranking_negatives": model.ranking.negatives = try reader.int(value, path, 0...RankingHead.maxNegatives)
            case "ranking_learning_rate": model.ranking.learningRate = try reader.double(value, path, 0.000_001...10)
            case "ranking_regularization": model.ranking.regularization = try reader.double(value, path, 0...100)
            case "ranking_user_weight": model.ranking.userWeight = try reader.double(value, path, 0...100)
            case "ranking_user_learning_rate": model.ranking.userLearningRate = try reader.double(value, path, 0...10)
            default: break  // `mapping` admits only the keys above
            }
        }
        return model
    }

    private static func parsePaths(_ node: Node, _ key: String, _ reader: YAMLReader) throws(ConfigError) -> Paths {
        var paths = Paths()
        for (field, value, path) in try reader.mapping(node, key, allowed: ["run_dir", "state_dir"]) {
            if field == "run_dir" { paths.runDirectory = try reader.string(value, path) } else {
                paths.stateDirectory = try reader.string(value, path)
            }
        }
        return paths
    }

    private static func parseSocket(_ node: Node, _ key: String, _ reader: YAMLReader) throws(ConfigError) -> Socket {
        var socket = Socket()
        let allowed: Set<String> = [
            "path", "mode", "max_line_bytes", "max_k", "max_connections", "idle_timeout_seconds", "admin_uids",
            "answer_cache_mib",
        ]
        for (field, value, path) in try reader.mapping(node, key, allowed: allowed) {
            switch field {
            case "path": socket.path = try reader.string(value, path)
            case "mode":
                // Octal, as chmod takes it: "0660" (quoted or not).
                let text = try reader.string(value, path)
                guard let mode = UInt32(text, radix: 8), mode <= 0o777 else {
                    throw reader.error(path, value, "expected an octal file mode such as 0660")
                }
                socket.mode = mode
            case "max_line_bytes": socket.maxLineBytes = try reader.int(value, path, 64...16_777_216)
            case "max_k": socket.maxK = try reader.int(value, path, 1...1_000_000)
            case "max_connections": socket.maxConnections = try reader.int(value, path, 1...1_000_000)
            case "answer_cache_mib": socket.answerCacheMiB = try reader.int(value, path, 0...1_048_576)
            case "admin_uids":
                socket.adminUIDs = try reader.sequence(value, path).enumerated().map { (index, node) throws(ConfigError) in
                    UInt32(try reader.int(node, "\(path)[\(index)]", 0...Int(UInt32.max)))
                }
            default: socket.idleTimeoutSeconds = try reader.int(value, path, 1...86_400)
            }
        }
        return socket
    }

    private static func parseCheckpoint(_ node: Node, _ key: String, _ reader: YAMLReader) throws(ConfigError) -> Checkpoints {
        var checkpoint = Checkpoints()
        for (field, value, path) in try reader.mapping(node, key, allowed: ["interval_seconds", "retain", "on_unusable"]) {
            switch field {
            case "interval_seconds": checkpoint.intervalSeconds = try reader.double(value, path, 0.1...86_400)
            case "retain": checkpoint.retain = try reader.int(value, path, 1...1_000)
            case "on_unusable": checkpoint.onUnusable = try reader.choice(value, path, Checkpoints.OnUnusable.self)
            default: break  // `mapping` admits only the keys above
            }
        }
        return checkpoint
    }

    private static func parseDistill(_ node: Node, _ key: String, _ reader: YAMLReader) throws(ConfigError) -> Distill {
        var distill = Distill()
        let allowed: Set<String> = [
            "interval_seconds", "every_events", "dimension", "max_score_rmse", "transfer_ridge", "validation_fraction",
            "index_clusters", "index_probe", "refit_sweeps", "refit_regularizations", "transfer_methods",
            "bridge_regularization", "bridge_bias_regularization", "judged_users",
        ]
        var probeNode: (Node, String)?
        for (field, value, path) in try reader.mapping(node, key, allowed: allowed) {
            switch field {
            case "index_clusters": distill.indexClusters = try reader.int(value, path, 0...1_000_000)
            case "index_probe":
                distill.indexProbe = try reader.int(value, path, 1...1_000_000)
                probeNode = (value, path)
            case "interval_seconds": distill.intervalSeconds = try reader.double(value, path, 0.1...86_400)
            case "every_events": distill.everyEvents = try reader.int(value, path, 0...1_000_000_000)
            case "dimension": distill.dimension = try reader.int(value, path, 1...1_024)
            case "max_score_rmse": distill.maxScoreRMSE = try reader.double(value, path, 0...100)
            case "transfer_ridge": distill.transferRidge = try reader.double(value, path, 0...1e9)
            case "refit_sweeps": distill.refitSweeps = try reader.int(value, path, 0...100)
            case "refit_regularizations":
                distill.refitRegularizations = try reader.sequence(value, path).enumerated().map { (index, node) throws(ConfigError) in
                    try reader.double(node, "\(path)[\(index)]", 0.001...1e9)
                }
                if distill.refitRegularizations.isEmpty { throw reader.error(path, value, "at least one penalty") }
            case "transfer_methods":
                distill.transferMethods = try reader.sequence(value, path).enumerated().map { (index, node) throws(ConfigError) in
                    let method = try reader.string(node, "\(path)[\(index)]")
                    guard DistillOptions.allTransferMethods.contains(method) else {
                        throw reader.error("\(path)[\(index)]", node, "one of \(DistillOptions.allTransferMethods.joined(separator: ", "))")
                    }
                    return method
                }
                if distill.transferMethods.isEmpty { throw reader.error(path, value, "at least one method") }
            case "bridge_regularization": distill.bridgeRegularization = try reader.double(value, path, 0...1e9)
            case "bridge_bias_regularization": distill.bridgeBiasRegularization = try reader.double(value, path, 0...1e9)
            case "judged_users": distill.judgedUsers = try reader.int(value, path, 1...1_000_000)
            default: distill.validationFraction = try reader.double(value, path, 0.01...0.5)
            }
        }
        if let (value, path) = probeNode, distill.indexClusters > 0, distill.indexProbe > distill.indexClusters {
            throw reader.error(path, value, "at most distill.index_clusters (\(distill.indexClusters))")
        }
        return distill
    }

    private static func parseLog(_ node: Node, _ key: String, _ reader: YAMLReader) throws(ConfigError) -> Log {
        var log = Log()
        for (field, value, path) in try reader.mapping(node, key, allowed: ["level", "format", "stats_interval_seconds"]) {
            switch field {
            case "level":
                log.level = try reader.string(value, path)
                guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(log.level) else {
                    throw reader.error(path, value, "must be one of trace, debug, info, notice, warning, error, critical")
                }
            case "format": log.format = try reader.choice(value, path, Log.Format.self)
            default: log.statsIntervalSeconds = try reader.double(value, path, 0...86_400)
            }
        }
        return log
    }
}

private extension YamlError {
    var line: Int? {
        switch self {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
        default: nil
        }
    }
}
