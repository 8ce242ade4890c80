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

    /// The curve adds up to the report: windows of the asked size, the last point's cumulative
    /// RMSE is the report's, and the windows' ranked events and hits are the report's samples.
    @Test func curveAddsUpToTheReport() throws {
        let directory = try makeShortTemporaryDirectory("replay")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = try ratingsFile(directory)
        let curvePath = "\(directory)/curve.csv"
        let result = try ExternalTool.run([
            crossrec, "replay", file, "--no-header", "--curve", curvePath, "--curve-window", "500", "--rank-every", "10", "--json",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let domain = try #require((report["domains"] as? [[String: Any]])?.first)
        let ranking = try #require(domain["ranking"] as? [String: Any])
        let lines = try String(contentsOfFile: curvePath, encoding: .utf8).split(separator: "\n")
        #expect(lines.first == "domain,events,window_rmse,window_mae,rmse,mae,ranked,hr10,ndcg10")
        let rows = lines.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.map { Int($0[1]) ?? 0 } == [500, 1_000, 1_500, 2_000, 2_400])
        let last = try #require(rows.last)
        #expect(abs((Double(last[4]) ?? 0) - (domain["rmse"] as? Double ?? -1)) < 1e-5, "\(last) \(domain)")
        let ranked = rows.map { Int($0[6]) ?? 0 }
        #expect(ranked.reduce(0, +) == ranking["sampled"] as? Int)
        let hits = zip(rows, ranked).map { row, n in (Double(row[7]) ?? 0) * Double(n) }.reduce(0, +)
        #expect(abs(hits / Double(ranked.reduce(0, +)) - (ranking["hr10"] as? Double ?? -1)) < 1e-5)
        // The first window's errors are larger than the last's: the learner learns.
        #expect((Double(rows[0][2]) ?? 0) > (Double(last[2]) ?? 0))
    }

    /// On a terminal (`script` gives it one) replay says what it is doing at each step: loading,
    /// sorting, learning; into a pipe, nothing.
    @Test func progressOfEveryStepOnATerminalOnly() throws {
        let directory = try makeShortTemporaryDirectory("replay")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = try ratingsFile(directory)
        let terminal = try ExternalTool.run(["script", "-qec", "\(crossrec) replay \(file) --no-header --rank-every 0", "/dev/null"])
        #expect(terminal.status == 0, "\(terminal)")
        for step in ["loading ratings.tsv [", "] 100% ", "sorting 2400 events by time… (", "learning [", "2400/2400 ("] {
            #expect(terminal.stdout.contains(step), "\(step): \(terminal.stdout)")
        }
        let piped = try ExternalTool.run([crossrec, "replay", file, "--no-header", "--rank-every", "0"])
        #expect(piped.status == 0 && piped.stderr.isEmpty, "\(piped.stderr)")
    }

    /// `--predictions` writes what the report sums: one line per held-out rating, whose errors
    /// give the report's RMSE, so that another model's predictions can be compared rating by rating.
    @Test func predictionsAreTheRatingsTheReportSums() throws {
        let directory = try makeShortTemporaryDirectory("replay")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let lines = try String(contentsOfFile: try ratingsFile(directory), encoding: .utf8).split(separator: "\n")
        let train = "\(directory)/train.tsv", heldOut = "\(directory)/heldout.tsv", written = "\(directory)/predictions.tsv"
        try lines.prefix(2_000).joined(separator: "\n").appending("\n").write(toFile: train, atomically: true, encoding: .utf8)
        // The last 400 ratings, and one of an item nobody rated (predicted as the range's middle).
        try (lines.suffix(400) + ["u1\tunseen\t5\t1800000000"]).joined(separator: "\n").appending("\n")
            .write(toFile: heldOut, atomically: true, encoding: .utf8)
        let result = try ExternalTool.run([
            crossrec, "replay", train, "--no-header", "--no-progress", "--predict", heldOut, "--predictions", written, "--json",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let coldStart = try #require(report["cold_start"] as? [String: Any])
        let rows = try String(contentsOfFile: written, encoding: .utf8).split(separator: "\n").map { $0.split(separator: "\t") }
        #expect(rows.count == 401 && rows.allSatisfy { $0.count == 5 })
        let squared = rows.reduce(0.0) { sum, row in
            let error = (Double(row[3]) ?? .nan) - (Double(row[2]) ?? .nan)
            return sum + error * error
        }
        let rmse = try #require(coldStart["rmse"] as? Double)
        #expect(abs((squared / Double(rows.count)).squareRoot() - rmse) < 1e-9, "\(rmse)")
        #expect(rows.contains { $0[1] == "unseen" && $0[3] == "3.0" && $0[4] == "unknown_item" })
        #expect(rows.filter { $0[4] == "personal" }.count > 300, "most held-out users are known")
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
            (["--loss-weights", "tagret=0.2"], "--loss-weights: no domain tagret in the files (domains: default)"),
            (["--target", "Target"], "--target: no domain Target in the files"),
            (["--curve", "\(directory)/c.csv", "--curve-window", "0"], "--curve-window wants at least 1"),
            (["--curve", "\(directory)/no/such/folder/c.csv"], "--curve: cannot write \(directory)/no/such/folder/c.csv"),
            (["--predictions", "\(directory)/p.tsv"], "--predictions needs --predict"),
        ] {
            let result = try ExternalTool.run([crossrec, "replay", file, "--no-header", "--no-progress"] + arguments)
            #expect(result.status != 0, "\(arguments) was accepted")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        // Held-out ratings of a domain the training files do not have: nothing to predict them with.
        let train = "\(directory)/train.tsv", heldOut = "\(directory)/heldout.tsv"
        try "u1\ti1\t4\t1\tmovies\nu2\ti1\t3\t2\tmovies\n".write(toFile: train, atomically: true, encoding: .utf8)
        try "u1\tb1\t4\t3\tbooks\n".write(toFile: heldOut, atomically: true, encoding: .utf8)
        let predict = try ExternalTool.run([
            crossrec, "replay", train, "--columns", "user=0,item=1,rating=2,time=3,domain=4", "--no-header", "--predict", heldOut, "--json",
        ])
        #expect(predict.status != 0, "\(predict.stdout)")
        #expect(predict.stderr.contains("--predict: domain books is not a training domain (movies)"), "\(predict.stderr)")
    }
}

/// What users see when a file is missing or a directory: words, not Foundation's error codes.
@Suite("CLI file errors")
struct CLIFileErrorTests {
    @Test func missingFilesAndDirectoriesAreNamedInWords() throws {
        let crossrec = DaemonProcess.binary("crossrec", root: repositoryRoot)
        let crossrecd = DaemonProcess.binary("crossrecd", root: repositoryRoot)
        let directory = try makeShortTemporaryDirectory("files")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let missing = try ExternalTool.run([crossrec, "replay", "\(directory)/missing.csv"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("cannot read \(directory)/missing.csv: no such file"), "\(missing.stderr)")
        let folder = try ExternalTool.run([crossrec, "replay", directory])
        #expect(folder.status != 0)
        #expect(folder.stderr.contains("is a directory"), "\(folder.stderr)")
        let config = try ExternalTool.run([crossrecd, "--check-config", directory])
        #expect(config.status == 78)
        #expect(config.stderr.contains("is a directory") && !config.stderr.contains("NSCocoaErrorDomain"), "\(config.stderr)")
        // An empty state directory has nothing to restore from: not a pass.
        let verify = try ExternalTool.run([crossrec, "checkpoint", "verify", directory])
        #expect(verify.status == 1)
        #expect(verify.stderr.contains("no checkpoint in \(directory)"), "\(verify.stderr)")
    }
}

/// `crossrec produce` against the dev broker, which keeps about 5 MiB per partition.
@Suite("crossrec produce")
struct ProduceCommandTests {
    @Test func saysLoudlyWhenTheBrokerDroppedWhatWasJustProduced() throws {
        let crossrec = DaemonProcess.binary("crossrec", root: repositoryRoot)
        let broker = try TestKafka.broker(["small": 1, "large": 1])
        let directory = try makeShortTemporaryDirectory("produce")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func file(_ name: String, lines: Int) throws -> String {
            let path = "\(directory)/\(name).jsonl"
            let padding = String(repeating: "x", count: 40)
            try (0..<lines).map { #"{"user":"u\#($0 % 1000)","item":"i\#($0)","rating":4,"note":"\#(padding)"}"# }
                .joined(separator: "\n").appending("\n").write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let small = try ExternalTool.run([crossrec, "produce", try file("small", lines: 100), "--topic", "small", "--bootstrap", broker.bootstrapServers])
        #expect(small.status == 0, "\(small.stderr)")
        #expect(small.stdout.contains("produced 100 messages to small"))
        #expect(!small.stderr.contains("WARNING"), "\(small.stderr)")
        // About 9 MB into one partition: the oldest batches are gone before anyone read them.
        let large = try ExternalTool.run([crossrec, "produce", try file("large", lines: 120_000), "--topic", "large", "--bootstrap", broker.bootstrapServers])
        #expect(large.status == 0, "\(large.stderr)")
        #expect(large.stderr.contains("WARNING: the broker no longer holds"), "\(large.stderr)")
        #expect(large.stderr.contains("large/0 now starts at"))
    }
}
