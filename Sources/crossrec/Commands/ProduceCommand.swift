import ArgumentParser

struct ProduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "produce")
    func run() throws {}
}
