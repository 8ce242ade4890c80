import Yams

/// Typed access to a YAML node tree that reports errors with the key path and the line.
struct YAMLReader {
    let file: String

    func error(_ key: String, _ node: Node?, _ message: String) -> ConfigError {
        ConfigError(file: file, key: key, line: node?.mark?.line, message: message)
    }

    /// The entries of a mapping, refusing keys outside `allowed` and duplicate keys.
    func mapping(_ node: Node, _ key: String, allowed: Set<String>) throws(ConfigError) -> [(String, Node, String)] {
        guard case .mapping(let mapping) = node else { throw error(key, node, "expected a mapping") }
        var seen = Set<String>()
        var entries: [(String, Node, String)] = []
        for (keyNode, value) in mapping {
            guard let name = keyNode.string else { throw error(key, keyNode, "keys must be strings") }
            let path = key.isEmpty ? name : "\(key).\(name)"
            guard allowed.contains(name) else {
                throw error(path, keyNode, "unknown key (allowed: \(allowed.sorted().joined(separator: ", ")))")
            }
            guard seen.insert(name).inserted else { throw error(path, keyNode, "duplicate key") }
            entries.append((name, value, path))
        }
        return entries
    }

    func sequence(_ node: Node, _ key: String) throws(ConfigError) -> [Node] {
        guard case .sequence(let sequence) = node else { throw error(key, node, "expected a list") }
        return Array(sequence)
    }

    func isNull(_ node: Node) -> Bool {
        if case .scalar(let scalar) = node { return scalar.string == "~" || scalar.string == "null" || scalar.string.isEmpty }
        return false
    }

    func string(_ node: Node, _ key: String, nonEmpty: Bool = true) throws(ConfigError) -> String {
        guard case .scalar(let scalar) = node else { throw error(key, node, "expected a string") }
        if nonEmpty, scalar.string.isEmpty { throw error(key, node, "must not be empty") }
        return scalar.string
    }

    func choice<T: RawRepresentable & CaseIterable>(_ node: Node, _ key: String, _: T.Type) throws(ConfigError) -> T
    where T.RawValue == String {
        let text = try string(node, key)
        guard let value = T(rawValue: text) else {
            throw error(key, node, "must be one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }

    func bool(_ node: Node, _ key: String) throws(ConfigError) -> Bool {
        guard case .scalar = node, let value = node.bool else { throw error(key, node, "expected true or false") }
        return value
    }

    func int(_ node: Node, _ key: String, _ range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard case .scalar = node, let value = node.int else { throw error(key, node, "expected an integer") }
        guard range.contains(value) else { throw error(key, node, "must be in \(range.lowerBound)...\(range.upperBound)") }
        return value
    }

    func double(_ node: Node, _ key: String, _ range: ClosedRange<Double>) throws(ConfigError) -> Double {
        guard case .scalar = node, let value = node.float ?? node.int.map(Double.init), value.isFinite else {
            throw error(key, node, "expected a number")
        }
        guard range.contains(value) else { throw error(key, node, "must be in \(range.lowerBound)...\(range.upperBound)") }
        return value
    }

    /// A mapping of string to scalar, passed through as text.
    func properties(_ node: Node, _ key: String) throws(ConfigError) -> [String: String] {
        guard case .mapping(let mapping) = node else { throw error(key, node, "expected a mapping") }
        var result: [String: String] = [:]
        for (keyNode, value) in mapping {
            guard let name = keyNode.string, case .scalar(let scalar) = value else {
                throw error(key, keyNode, "expected `name: value` pairs")
            }
            result[name] = scalar.string
        }
        return result
    }
}
