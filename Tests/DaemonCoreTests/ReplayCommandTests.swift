import Foundation
import Testing
import TestSupport

/// `crossrec replay` as a user runs it: on a small generated rating file.
@Suite("crossrec replay")
struct ReplayCommandTests {
    let crossrec = DaemonProcess.binary("crossrec", root: repositoryRoot)

    /// 200 users choose among 60 items by a fixed formula (the same file on every run): the
    /// first 20 ids in the first half, all 60 later; times increase.
    private func ratingsFile(_ directory: String) throws -> String {
        var lines: [String] = []
        var time = 1_700_000_000
        for round in 0..<12 {
            for user in 0..<200 {
                time += 7
                let item = (user * 7 + round * round * 3) % (round < 6 ? 20 : 60)
                lines.append("u\(user)\ti\(item)\t\(1 + (user + item) % 5)\t\(time)")
            }
        }
        let path = "\(directory)/ratings.tsv"
        try lines.joined(separator: "\n").appending("\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func splitModeJudgesListsWithoutLeaksAndWritesThem() throws {
        let directory = try makeShortTemporaryDirectory("replay")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = try ratingsFile(directory)
        let listsPath = "\(directory)/lists.tsv"
        let result = try ExternalTool.run([crossrec, "replay", file, "--no-header", "--split", "0.8", "--lists", listsPath, "--json", "--no-progress"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(report["events"] as? Int == 1_920, "the first 80 % of 2 400 ratings are learned")
        let topN = try #require((report["top_n"] as? [[String: Any]])?.first)
        let methods = try #require(topN["methods"] as? [String: [String: Any]])
        #expect(Set(methods.keys) == ["most_popular", "learner", "served"])
        let served = try #require(methods["served"])
        let users = try #require(served["users"] as? Int)
        #expect(users > 0)
        #expect(served["leaks"] as? Int == 0, "no list shows an item its user rated before the split")
        #expect((served["ndcg10"] as? Double).map { (0...1).contains($0) } == true)
        let ranking = try #require((report["domains"] as? [[String: Any]])?.first?["ranking"] as? [String: Any])
        #expect((ranking["sampled"] as? Int ?? 0) > 0, "prequential ranking samples")
        // One line per judged user: domain, user, then 20 items.
        let written = try String(contentsOfFile: listsPath, encoding: .utf8).split(separator: "\n")
        #expect(written.count == users)
        #expect(written.allSatisfy { $0.split(separator: "\t").count == 22 })
    }

    @Test func mistakesOnTheCommandLineAreErrors() throws {
        let directory = try makeShortTemporaryDirectory("replay")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = try ratingsFile(directory)
        for (arguments, message) in [
            (["--split", "1.5"], "--split wants a fraction"),
            (["--lists", "\(directory)/l.tsv"], "--lists needs --split"),
            (["--optimizer", "adagard"], "--optimizer: adagard is not one of"),
            (["--rank-negatives", "1000"], "--rank-negatives wants 0 to"),
        ] {
            let result = try ExternalTool.run([crossrec, "replay", file, "--no-header", "--no-progress"] + arguments)
            #expect(result.status != 0, "\(arguments) was accepted")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
    }
}
