import Logging
import Synchronization

/// Process-wide logging setup of the daemon: text or JSON on standard error, at one level that
/// a reload can change for every logger at once.
public enum LoggingSetup {
    /// The level every handler reports; `Logger.Level` is stored by its index in `allCases`.
    static let level = Atomic<Int>(Logger.Level.allCases.firstIndex(of: .info)!)

    public static func bootstrap(format: Configuration.Log.Format, level: String) {
        setLevel(level)
        LoggingSystem.bootstrap { label in
            SharedLevelLogHandler(base: format == .json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label))
        }
    }

    /// Changes the level of every logger of the process (unknown names are ignored: the
    /// configuration has already checked them).
    public static func setLevel(_ name: String) {
        guard let wanted = Logger.Level(rawValue: name), let index = Logger.Level.allCases.firstIndex(of: wanted) else { return }
        Self.level.store(index, ordering: .relaxed)
    }
}

/// A handler whose level is the process-wide one of `LoggingSetup`: setting a logger's level
/// has no effect, a reload does.
struct SharedLevelLogHandler: LogHandler {
    var base: any LogHandler

    var logLevel: Logger.Level {
        get { Logger.Level.allCases[LoggingSetup.level.load(ordering: .relaxed)] }
        set {}
    }

    var metadata: Logger.Metadata {
        get { base.metadata }
        set { base.metadata = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { base[metadataKey: key] }
        set { base[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        base.log(event: event)
    }
}
