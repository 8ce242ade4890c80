import Yams

/// One key of the configuration file: where it sits, how it is read and checked, its default
/// (the value of the field in a default `Root`), whether a reload applies it, and the words
/// that document it. The tables in `Configuration+Schema.swift` are the only list of keys:
/// parsing, validation, reload and the documented file (`crossrecd --print-config`,
/// configs/crossrecd.yaml) all come from them.
struct ConfigKey<Root> {
    /// The section (`socket`); empty for a key of a domain entry.
    let section: String
    let name: String
    /// A reload (SIGHUP) applies a new value at once; otherwise it needs a restart.
    let reloadable: Bool
    /// The key's comment in the documented file.
    let help: String
    /// Comment lines above the key in the documented file.
    let note: [String]
    /// What the documented file shows instead of the default (an example to change); nil:
    /// the default. A key whose default is unset and that has an example is shown commented.
    let example: String?
    /// Reads the node into the field, checking type and range.
    let read: (inout Root, Node, String, YAMLReader) throws(ConfigError) -> Void
    /// The field's value as YAML; nil when unset.
    let show: (Root) -> String?
    let same: (Root, Root) -> Bool
    /// Copies the field from the second value into the first.
    let copy: (inout Root, Root) -> Void

    var path: String { section.isEmpty ? name : "\(section).\(name)" }

    /// A key bound to the field at `field`: `parse` turns a node into a value (and checks it),
    /// `render` a value into YAML.
    static func field<T: Equatable>(
        _ section: String, _ name: String, _ field: WritableKeyPath<Root, T>, reload: Bool = false, note: [String] = [],
        example: String? = nil, _ help: String,
        parse: @escaping (Node, String, YAMLReader) throws(ConfigError) -> T, render: @escaping (T) -> String?
    ) -> ConfigKey {
        ConfigKey(
            section: section, name: name, reloadable: reload, help: help, note: note, example: example,
            read: { (root: inout Root, node: Node, path: String, reader: YAMLReader) throws(ConfigError) in
                root[keyPath: field] = try parse(node, path, reader)
            },
            show: { render($0[keyPath: field]) },
            same: { $0[keyPath: field] == $1[keyPath: field] },
            copy: { $0[keyPath: field] = $1[keyPath: field] })
    }

    static func int(
        _ section: String, _ name: String, _ field: WritableKeyPath<Root, Int>, _ range: ClosedRange<Int>, reload: Bool = false,
        note: [String] = [], _ help: String
    ) -> ConfigKey {
        .field(section, name, field, reload: reload, note: note, help, parse: { (node, path, reader) throws(ConfigError) in
            try reader.int(node, path, range)
        }, render: { "\($0)" })
    }

    static func double(
        _ section: String, _ name: String, _ field: WritableKeyPath<Root, Double>, _ range: ClosedRange<Double>,
        reload: Bool = false, note: [String] = [], _ help: String
    ) -> ConfigKey {
        .field(section, name, field, reload: reload, note: note, help, parse: { (node, path, reader) throws(ConfigError) in
            try reader.double(node, path, range)
        }, render: yamlNumber)
    }

    static func string(
        _ section: String, _ name: String, _ field: WritableKeyPath<Root, String>, reload: Bool = false, note: [String] = [],
        example: String? = nil, _ help: String
    ) -> ConfigKey {
        .field(section, name, field, reload: reload, note: note, example: example, help, parse: {
            (node, path, reader) throws(ConfigError) in try reader.string(node, path)
        }, render: { $0 })
    }

    /// A string that may be null (unset).
    static func optionalString(
        _ section: String, _ name: String, _ field: WritableKeyPath<Root, String?>, reload: Bool = false, note: [String] = [],
        example: String? = nil, _ help: String
    ) -> ConfigKey {
        .field(section, name, field, reload: reload, note: note, example: example, help, parse: {
            (node, path, reader) throws(ConfigError) in reader.isNull(node) ? nil : try reader.string(node, path)
        }, render: { $0 })
    }

    /// One of a fixed set of words, kept as a string field.
    static func word(
        _ section: String, _ name: String, _ field: WritableKeyPath<Root, String>, _ words: [String], reload: Bool = false,
        note: [String] = [], _ help: String
    ) -> ConfigKey {
        .field(section, name, field, reload: reload, note: note, help, parse: { (node, path, reader) throws(ConfigError) in
            let text = try reader.string(node, path)
            guard words.contains(text) else { throw reader.error(path, node, "must be one of \(words.joined(separator: ", "))") }
            return text
        }, render: { $0 })
    }

    static func choice<T: RawRepresentable & CaseIterable & Equatable>(
        _ section: String, _ name: String, _ field: WritableKeyPath<Root, T>, reload: Bool = false, note: [String] = [],
        _ help: String
    ) -> ConfigKey where T.RawValue == String {
        .field(section, name, field, reload: reload, note: note, help, parse: { (node, path, reader) throws(ConfigError) in
            try reader.choice(node, path, T.self)
        }, render: { $0.rawValue })
    }

    static func bool(
        _ section: String, _ name: String, _ field: WritableKeyPath<Root, Bool>, reload: Bool = false, note: [String] = [],
        _ help: String
    ) -> ConfigKey {
        .field(section, name, field, reload: reload, note: note, help, parse: { (node, path, reader) throws(ConfigError) in
            try reader.bool(node, path)
        }, render: { "\($0)" })
    }

    /// A non-empty list of numbers in `range`.
    static func doubles(
        _ section: String, _ name: String, _ field: WritableKeyPath<Root, [Double]>, _ range: ClosedRange<Double>,
        reload: Bool = false, note: [String] = [], _ help: String
    ) -> ConfigKey {
        .field(section, name, field, reload: reload, note: note, help, parse: { (node, path, reader) throws(ConfigError) in
            let values = try reader.sequence(node, path).enumerated().map { (index, item) throws(ConfigError) in
                try reader.double(item, "\(path)[\(index)]", range)
            }
            if values.isEmpty { throw reader.error(path, node, "at least one value") }
            return values
        }, render: { "[" + $0.map { yamlNumber($0) }.joined(separator: ", ") + "]" })
    }

    /// A non-empty list of words from `words`.
    static func words(
        _ section: String, _ name: String, _ field: WritableKeyPath<Root, [String]>, _ words: [String], reload: Bool = false,
        note: [String] = [], _ help: String
    ) -> ConfigKey {
        .field(section, name, field, reload: reload, note: note, help, parse: { (node, path, reader) throws(ConfigError) in
            let values = try reader.sequence(node, path).enumerated().map { (index, item) throws(ConfigError) in
                let word = try reader.string(item, "\(path)[\(index)]")
                guard words.contains(word) else { throw reader.error("\(path)[\(index)]", item, "one of \(words.joined(separator: ", "))") }
                return word
            }
            if values.isEmpty { throw reader.error(path, node, "at least one value") }
            return values
        }, render: { "[" + $0.joined(separator: ", ") + "]" })
    }
}

/// A number as the documented file shows it: integers without a fraction.
func yamlNumber(_ value: Double) -> String {
    value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
}
