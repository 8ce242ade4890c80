import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// SIGHUP: re-reads the configuration file. The settings that are safe to change live take
/// effect at once; the others are logged (and shown in STATUS) as needing a restart; a file
/// that does not load is rejected whole and the running configuration kept.
///
/// Isolation: the running configuration is under a `Mutex`; reloads are serial (one signal
/// sequence).
final class ReloadService: Service, Sendable {
    let path: String?
    let running: Mutex<Configuration>
    let notifier: SystemdNotifier
    let logger: Logger
    /// Applies the live keys of a new configuration.
    let apply: @Sendable (Configuration) -> Void

    init(path: String?, configuration: Configuration, notifier: SystemdNotifier, logger: Logger,
         apply: @escaping @Sendable (Configuration) -> Void) {
        self.path = path
        running = Mutex(configuration)
        self.notifier = notifier
        self.logger = logger
        self.apply = apply
    }

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        for await _ in hangups.cancelOnGracefulShutdown() {
            reload()
        }
    }

    func reload() {
        notifier.notify(["RELOADING=1", SystemdNotifier.monotonicMicroseconds(), "STATUS=reloading the configuration"])
        guard let path else {
            logger.warning("reload requested, but the daemon was not started from a configuration file")
            notifier.notify(["READY=1", "STATUS=reload ignored: no configuration file"])
            return
        }
        let loaded: Configuration
        do {
            loaded = try Configuration.load(path: path)
        } catch {
            logger.error("reload rejected: the running configuration is kept", metadata: [LoggingKeys.error: "\(error)"])
            notifier.notify(["READY=1", "STATUS=reload rejected (\(error)); running on the previous configuration"])
            return
        }
        let current = running.withLock { $0 }
        let (live, restart) = current.reloadPlan(to: loaded)
        apply(loaded)
        // What needs a restart keeps its running value, so that a later reload compares right.
        running.withLock { $0 = current.withLiveKeys(of: loaded) }
        logger.notice(
            "configuration reloaded",
            metadata: ["crossrec.applied": "\(live.joined(separator: ","))", "crossrec.needs_restart": "\(restart.joined(separator: ","))"])
        var status = "reloaded: " + (live.isEmpty ? "nothing to change" : "applied " + live.joined(separator: ", "))
        if !restart.isEmpty { status += "; restart needed for " + restart.joined(separator: ", ") }
        notifier.notify(["READY=1", "STATUS=\(status)"])
    }
}
