import ArgumentParser
import QueryProtocol

/// `crossrec`: query the daemon, feed Kafka, run the dev broker, replay a ratings file.
@main
struct CrossrecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crossrec",
        abstract: "Client and tools for the crossrec recommendation daemon.",
        version: CrossrecVersion.current,
        subcommands: [
            RecommendCommand.self, PredictCommand.self, SimilarCommand.self, PopularCommand.self, StatsCommand.self,
            HealthCommand.self, MetricsCommand.self, ForgetCommand.self, CheckpointCommand.self,
            ProduceCommand.self, ReplayCommand.self, DevBrokerCommand.self,
        ]
    )
}
