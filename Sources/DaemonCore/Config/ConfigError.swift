/// A configuration the daemon refuses: names the file, the key path and the line.
public struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    public var file: String
    /// Dotted path of the offending key, e.g. `kafka.session_timeout_ms` or `domains[1].topic`.
    public var key: String
    /// 1-based line in the file, when known.
    public var line: Int?
    public var message: String

    public var description: String {
        "\(file)\(line.map { ":\($0)" } ?? ""): \(key.isEmpty ? "" : "\(key): ")\(message)"
    }

    /// `EX_CONFIG` from sysexits.h: what the daemon exits with on a bad configuration.
    public static let exitCode: Int32 = 78
}
