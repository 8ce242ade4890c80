import ArgumentParser
import Foundation
import KafkaIngest

/// Where the Kafka broker is: --bootstrap, else $CROSSREC_BOOTSTRAP, else the dev broker's file.
public struct BrokerOptions: ParsableArguments {
    @Option(help: "Kafka bootstrap servers (default: $CROSSREC_BOOTSTRAP, else the dev broker of `make run`).")
    public var bootstrap: String?
    @Option(help: "Dev broker address file.") public var addressFile = ".run/dev-broker.addr"

    public init() {}

    public func resolve() throws -> String {
        if let bootstrap { return bootstrap }
        if let fromEnvironment = ProcessInfo.processInfo.environment["CROSSREC_BOOTSTRAP"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        if let address = DevBroker.readAddressFile(path: addressFile) { return address }
        throw ValidationError(
            "no Kafka broker: pass --bootstrap, set CROSSREC_BOOTSTRAP, or start the dev broker (`make run`)")
    }
}
