import ArgumentParser

struct DevBrokerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dev-broker")
    func run() throws {}
}
