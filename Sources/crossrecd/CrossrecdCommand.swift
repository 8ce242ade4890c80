import ArgumentParser
import Checkpoint
import DaemonCore
import Foundation
import Logging
import Metrics
import Prometheus
import QueryProtocol

/// `crossrecd`: the daemon. Everything but argument handling lives in DaemonCore.
@main
struct CrossrecdCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crossrecd", abstract: "Real-time cross-domain recommendation daemon.", version: CrossrecVersion.current)

    @Option(name: .shortAndLong, help: "Configuration file.") var config = "/etc/crossrec/crossrecd.yaml"
    @Option(name: .customLong("check-config"), help: "Validate this configuration file and exit.")
    var checkConfig: String?
    @Flag(name: .customLong("print-config"), help: "Print the documented configuration file (every key, its default) and exit.")
    var printConfig = false
    @Flag(
        name: .customLong("discard-incompatible-checkpoint"),
        help: "Start with an empty model when the newest checkpoint does not fit the configuration.")
    var discardIncompatibleCheckpoint = false

    func run() async throws {
        if printConfig {
            print(DaemonCore.Configuration.documentedYAML, terminator: "")
            return
        }
        if let checkConfig {
            _ = try loadOrExit(checkConfig)
            print("\(checkConfig): OK")
            return
        }
        let configuration = try loadOrExit(config)
        // Past a file-size limit (RLIMIT_FSIZE) a checkpoint write must fail with EFBIG, be
        // reported and retried, like ENOSPC; the default action of SIGXFSZ would kill us instead.
        signal(SIGXFSZ, SIG_IGN)
        LoggingSetup.bootstrap(format: configuration.log.format, level: configuration.log.level)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(DaemonMetrics.factory(registry: registry))
        var daemon = Daemon(configuration: configuration)
        daemon.discardIncompatibleCheckpoint = discardIncompatibleCheckpoint
        daemon.configurationPath = config
        daemon.inheritedSocket = SocketActivation.takeListeningSocket()
        do {
            try await daemon.run(logger: Logger(label: "crossrecd"), metricsRegistry: registry)
        } catch let error as CheckpointError where error.code == .incompatible {
            FileHandle.standardError.write(Data("crossrecd: \(error.message)\n".utf8))
            throw ExitCode(ConfigError.exitCode)
        } catch let error as UnusableCheckpoints {
            FileHandle.standardError.write(Data("crossrecd: \(error.message)\n".utf8))
            throw ExitCode(ConfigError.exitCode)
        }
    }

    /// A bad configuration is reported on stderr and ends the process with EX_CONFIG (78).
    private func loadOrExit(_ path: String) throws -> DaemonCore.Configuration {
        do {
            return try DaemonCore.Configuration.load(path: path)
        } catch {
            FileHandle.standardError.write(Data("crossrecd: \(error)\n".utf8))
            throw ExitCode(ConfigError.exitCode)
        }
    }
}
