import Foundation
import QueryProtocol
import Testing
import TestSupport

extension WholeDaemonTests {
    /// The top-N benchmark judges `crossrec replay --split`'s lists: they must be what the
    /// daemon answers after consuming the same events in the same order (one partition) with
    /// the same defaults, item for item.
    @Suite("Replay agrees with the daemon", .serialized)
    struct ReplayAgreementTests {
        let helper = DaemonHarness()

        @Test func splitListsAreTheDaemonsRecommendations() throws {
            let directory = try makeShortTemporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            // 2 500 ratings of 20 users over 60 items by a fixed formula, one per second: the
            // first 2 000 (80 %) are the training part both sides learn.
            var lines: [(user: String, item: String, rating: Int, ts: Int)] = []
            for index in 0..<2_500 {
                let user = index % 20
                let item = (user * 13 + index / 20 * 7 + (index / 20) * (index / 20) % 11) % 60
                lines.append(("u\(user)", "i\(item)", 1 + (user + item) % 5, 1_700_000_000 + index))
            }
            let file = "\(directory)/ratings.tsv"
            try lines.map { "\($0.user)\t\($0.item)\t\($0.rating)\t\($0.ts)" }.joined(separator: "\n").appending("\n")
                .write(toFile: file, atomically: true, encoding: .utf8)
            let listsPath = "\(directory)/lists.tsv"
            let crossrec = DaemonProcess.binary("crossrec", root: repositoryRoot)
            let replay = try ExternalTool.run([crossrec, "replay", file, "--no-header", "--split", "0.8", "--lists", listsPath, "--json", "--no-progress"])
            try #require(replay.status == 0, "\(replay.stderr)")
            let expected = try String(contentsOfFile: listsPath, encoding: .utf8).split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
            try #require(expected.count == 20, "every user is warm")

            let broker = try TestKafka.broker(["ratings.movies": 1])
            try TestKafka.produce(
                lines.prefix(2_000).map { TestKafka.json(user: $0.user, item: $0.item, rating: Double($0.rating), ts: $0.ts) },
                to: "ratings.movies", partitions: 1, broker: broker)
            let domains = [DaemonHarness.Domain(name: "default", topic: "ratings.movies", format: "json", partitions: 1)]
            let config = try helper.writeConfig(directory, bootstrap: broker.bootstrapServers, domains: domains, dimension: 32)
            let daemon = try helper.start(config, directory, run: 0)
            let socket = "\(directory)/run/crossrecd.sock"
            func ask(_ request: [String: Any]) -> [String: Any] {
                let line = (try? QuerySocketClient(path: socket).request(request)) ?? "{}"
                return (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]) ?? [:]
            }
            // A full serving model built on all 2 000 events (the one a quiet daemon settles on:
            // light versions between full builds are not what replay builds).
            #expect(daemon.waitForLog { _ in
                let model = ask(["op": "stats"])["model"] as? [String: Any]
                return model?["events"] as? Int == 2_000 && model?["basis_version"] as? Int == model?["version"] as? Int
            }, "\(daemon.log.suffix(2_000))")
            for row in expected {
                let answer = ask(["op": "recommend", "user": row[1], "domain": "default", "k": 20])
                let items = (answer["items"] as? [[String: Any]] ?? []).compactMap { $0["item"] as? String }
                #expect(items == Array(row.dropFirst(2)), "\(row[1]): daemon \(items), replay \(Array(row.dropFirst(2)))")
            }
            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit() == 0)
        }
    }
}
