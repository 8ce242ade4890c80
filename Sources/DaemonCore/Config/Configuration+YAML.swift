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
        let keys = Dictionary(grouping: schema, by: \.section).mapValues { keys in
            Dictionary(uniqueKeysWithValues: keys.map { ($0.name, $0) })
        }
        for (name, node, path) in try reader.mapping(root, "", allowed: Set(sections.map(\.name))) {
            if name == "domains" {
                configuration.domains = try parseDomains(node, path, reader)
                continue
            }
            // A section with every key commented out (as the documented file shows `http`) is empty.
            if reader.isNull(node) { continue }
            let section = keys[name] ?? [:]
            for (field, value, fieldPath) in try reader.mapping(node, path, allowed: Set(section.keys)) {
                try section[field]!.read(&configuration, value, fieldPath, reader)
            }
        }
        if configuration.replication.isReplica {
            // A replica serves the learner's domains, from its model: a list here would be ignored.
            if let node = root["domains"] {
                throw reader.error("domains", node, "a replica (replication.mode: replica) consumes no domain topics: remove domains")
            }
            if configuration.kafka.usesDevBroker {
                throw ConfigError(
                    file: file, key: "kafka.bootstrap", line: root["kafka"]?.mark?.line ?? root.mark?.line,
                    message: "a replica reads the learner's broker: set it (for a learner's dev broker, the address in its run_dir/dev-broker.addr)")
            }
            guard configuration.replication.topic != nil else {
                throw ConfigError(
                    file: file, key: "replication.topic", line: root["replication"]?.mark?.line,
                    message: "required with replication.mode: replica (the topic the learner publishes to)")
            }
        } else if configuration.domains.isEmpty {
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
        if let topic = configuration.replication.topic, configuration.domains.contains(where: { $0.topic == topic }) || topic == configuration.kafka.deadLetterTopic,
            let node = root["replication"]?["topic"]
        {
            throw reader.error("replication.topic", node, "\(topic) is a domain's or the dead-letter topic: name a topic of its own")
        }
        if configuration.distill.indexClusters > 0, configuration.distill.indexProbe > configuration.distill.indexClusters,
            let node = root["distill"]?["index_probe"]
        {
            throw reader.error("distill.index_probe", node, "at most distill.index_clusters (\(configuration.distill.indexClusters))")
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
        let keys = Dictionary(uniqueKeysWithValues: domainSchema.map { ($0.name, $0) })
        for (index, item) in try reader.sequence(node, key).enumerated() {
            let itemKey = "\(key)[\(index)]"
            var domain = Domain(name: "", topic: "")
            var present = Set<String>()
            for (field, value, path) in try reader.mapping(item, itemKey, allowed: Set(keys.keys)) {
                try keys[field]!.read(&domain, value, path, reader)
                present.insert(field)
            }
            for required in ["name", "topic"] where !present.contains(required) {
                throw reader.error("\(itemKey).\(required)", item, "required")
            }
            let name = domain.name
            let topic = domain.topic
            guard !domains.contains(where: { $0.name == name }) else { throw reader.error(itemKey + ".name", item, "duplicate domain \(name)") }
            guard !domains.contains(where: { $0.topic == topic }) else { throw reader.error(itemKey + ".topic", item, "topic \(topic) already used") }
            domains.append(domain)
        }
        return domains
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
