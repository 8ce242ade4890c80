import Checkpoint
import Foundation
import QueryProtocol
import Testing
import TestSupport

extension WholeDaemonTests {
    /// The built `crossrecd`, run as operators run it, fed through Kafka by kcat.
    @Suite("crossrecd process", .serialized)
    struct DaemonProcessTests {
        let crossrecd = DaemonProcess.binary("crossrecd", root: repositoryRoot)

        private func writeConfig(_ directory: String, extra: String = "") throws -> String {
            let yaml = """
                domains:
                  - name: movies
                    topic: ratings.movies
                    rating_range: [1, 5]
                  - name: books
                    topic: ratings.books
                    format: csv
                    rating_range: [1, 10]
                    target: true
                kafka:
                  bootstrap: dev
                  session_timeout_ms: 3000
                  dead_letter_topic: ratings.dead
                paths:
                  run_dir: \(directory)/run
                  state_dir: \(directory)/state
                log:
                  format: json
                  level: info
                  stats_interval_seconds: 0.5
                \(extra)
                distill: {interval_seconds: 0.3}
                """
            let path = "\(directory)/crossrecd.yaml"
            try yaml.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        /// JSON log lines with this message.
        private func logLines(_ log: String, message: String) -> [[String: Any]] {
            log.split(separator: "\n").compactMap { line in
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                    object["msg"] as? String == message
                else { return nil }
                return object
            }
        }

        @Test func consumesEventsProducedWithKcatAndStopsCleanlyOnSIGTERM() throws {
            try #require(ExternalTool.isInstalled("kcat"), "make test installs kcat")
            let directory = try makeShortTemporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let daemon = try DaemonProcess(
                executable: crossrecd, arguments: ["--config", try writeConfig(directory)], logPath: "\(directory)/log")
            let addressFile = "\(directory)/run/dev-broker.addr"
            try #require(daemon.waitForLog { _ in FileManager.default.fileExists(atPath: addressFile) }, "\(daemon.log)")
            #expect(daemon.waitForLog { !logLines($0, message: "consuming").isEmpty }, "logs that it consumes")
            let bootstrap = try String(contentsOfFile: addressFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)

            let movies = (0..<40).map { #"{"user":"u\#($0 % 6)","item":"m\#($0)","rating":\#($0 % 5 + 1)}"# } + ["not json"]
            let books = (0..<20).map { "u\($0 % 4),b\($0),\($0 % 10 + 1)" } + ["u1,b1,11"]
            for (topic, lines) in [("ratings.movies", movies), ("ratings.books", books)] {
                let result = try ExternalTool.run(["kcat", "-P", "-b", bootstrap, "-t", topic], input: lines.joined(separator: "\n") + "\n")
                #expect(result.status == 0, "\(result.stderr)")
            }
            let consumed = daemon.waitForLog { log in
                logLines(log, message: "ingest").contains { ($0["crossrec.events"] as? String) == "60" && ($0["crossrec.rejected"] as? String) == "2" }
            }
            #expect(consumed, "60 valid events applied, 2 rejected: \(daemon.log.suffix(2_000))")
            let domains = logLines(daemon.log, message: "domain")
            #expect(domains.contains { $0["crossrec.domain"] as? String == "movies" && $0["crossrec.events"] as? String == "40" })
            #expect(domains.contains { $0["crossrec.domain"] as? String == "books" && $0["crossrec.events"] as? String == "20" })

            // The rejected messages went to the dead-letter topic, readable by kcat (delivery is
            // asynchronous: read until both are there, within a bound).
            var dead: Set<String> = []
            let deadline = Date(timeIntervalSinceNow: 30)
            while dead.count < 2, Date() < deadline {
                let read = try ExternalTool.run(["kcat", "-C", "-b", bootstrap, "-t", "ratings.dead", "-o", "beginning", "-e", "-q", "-f", "%s\n"])
                dead = Set(read.stdout.split(separator: "\n").map(String.init))
                if dead.count < 2 { Thread.sleep(forTimeInterval: 0.2) }
            }
            #expect(dead == ["not json", "u1,b1,11"])

            // socat, a client nobody here wrote, asks over the socket: one JSON answer per line.
            try #require(ExternalTool.isInstalled("socat"), "make test installs socat")
            let socketPath = "\(directory)/run/crossrecd.sock"
            var answers: [[String: Any]] = []
            let queryDeadline = Date(timeIntervalSinceNow: 30)
            while Date() < queryDeadline {
                let requests = [
                    #"{"op":"health","id":"h"}"#, #"{"op":"recommend","user":"u1","domain":"movies","k":3,"id":2}"#,
                    #"{"op":"predict","user":"u1","domain":"books","item":"b3"}"#, #"{"op":"popular","domain":"movies","k":2}"#,
                    #"{"op":"recommend","user":"u1","domain":"nope"}"#, #"{"op":"metrics"}"#,
                    #"{"op":"similar","domain":"movies","item":"m1","k":4}"#, #"{"op":"stats"}"#,
                ]
                let result = try ExternalTool.run(
                    ["socat", "-t", "30", "-", "UNIX-CONNECT:\(socketPath)"], input: requests.joined(separator: "\n") + "\n")
                answers = result.stdout.split(separator: "\n").compactMap {
                    try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
                }
                // The first snapshot with the produced events is published within a second; a
                // light version gives way to a full build an interval after the last event.
                let served = answers.count == 8 ? answers[7]["model"] as? [String: Any] : nil
                let settled = served.map { $0["basis_version"] as? Int == $0["version"] as? Int && $0["events"] as? Int == 60 } ?? false
                if answers.count == 8, (answers[1]["items"] as? [Any])?.count == 3, settled { break }
                Thread.sleep(forTimeInterval: 0.2)
            }
            try #require(answers.count == 8, "\(answers)")
            #expect(answers[0]["id"] as? String == "h" && answers[0]["status"] as? String == "ready")
            // Which build answers, in health and stats (the same string as `--version`).
            #expect(answers[0]["crossrec_version"] as? String == CrossrecVersion.current)
            #expect(answers[7]["crossrec_version"] as? String == CrossrecVersion.current)
            #expect(answers[1]["id"] as? Int == 2 && answers[1]["strategy"] as? String == "personal")
            #expect((answers[1]["items"] as? [[String: Any]])?.count == 3)
            #expect(answers[2]["score"] is Double, "u1 rated books too: a prediction in range")
            #expect((answers[3]["items"] as? [[String: Any]])?.count == 2)
            #expect((answers[4]["error"] as? [String: Any])?["code"] as? String == "unknown_domain")
            // Prometheus text exposition inside the JSON answer.
            let exposition = answers[5]["text"] as? String ?? ""
            #expect(exposition.contains(#"crossrec_ingest_rejected_total{topic="ratings.movies",reason="malformed"} 1"#), "\(exposition)")
            #expect(exposition.contains(#"crossrec_events_applied_total{domain="movies"} 40"#))
            // Prometheus' naming rules: a counter ends in _total and nothing else does; a
            // duration is a histogram in seconds.
            for line in exposition.split(separator: "\n") where line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                try #require(parts.count == 4, "\(line)")
                #expect((parts[3] == "counter") == parts[2].hasSuffix("_total"), "\(line)")
                if parts[2].contains("duration") { #expect(parts[2].hasSuffix("_seconds") && parts[3] == "histogram", "\(line)") }
            }
            let lint = try Promtool.checkMetrics(exposition)
            #expect(lint.status == 0 && lint.stdout.isEmpty && lint.stderr.isEmpty, "\(lint)")
            // Requests by op and errors by code, counted before this answer was computed.
            func count(_ series: String) -> Int { Int(PrometheusText.value(of: series, in: exposition) ?? 0) }
            #expect(count(#"crossrec_query_requests_total{op="recommend"}"#) >= 2)
            #expect(count(#"crossrec_query_errors_total{code="unknown_domain"}"#) >= 1)
            #expect(count(#"crossrec_query_duration_seconds_count{op="predict"}"#) >= 1)
            #expect(count(#"crossrec_answer_cache_lookups_total{result="miss"}"#) >= 1, "the first recommend of u1 was computed")
            #expect(exposition.contains(#"crossrec_query_duration_seconds_bucket{op="predict",le="0.0001"}"#))
            #expect((answers[6]["items"] as? [[String: Any]])?.count == 4)
            let stats = answers[7]
            let model = stats["model"] as? [String: Any] ?? [:]
            #expect((model["age_seconds"] as? Double).map { $0 >= 0 } == true, "\(stats)")
            #expect((model["version"] as? Int ?? 0) >= answers[1]["model_version"] as? Int ?? .max)
            let statsDomains = stats["domains"] as? [[String: Any]] ?? []
            #expect(statsDomains.map { $0["events"] as? Int } == [40, 20])
            let booksModel = (statsDomains.last?["model"] as? [String: Any]) ?? [:]
            #expect((booksModel["top10_overlap"] as? Double).map { $0 > 0 } == true, "fidelity in stats: \(booksModel)")
            // books is a target: both domains are solved jointly, then, unless CMF's model
            // was chosen, books again; every one of its ratings is in the refit's ring.
            let joint = model["joint_refit"] as? [String: Any] ?? [:]
            #expect(joint["ratings"] as? Int == 60 && ["cmf", "refit"].contains(joint["model"] as? String), "\(model)")
            let judged = joint["judged_version"] as? Int ?? 0
            #expect(judged >= 1 && judged <= model["version"] as? Int ?? 0, "judged by this build or a kept earlier one: \(model)")
            if joint["model"] as? String == "refit" {
                let refit = booksModel["refit"] as? [String: Any] ?? [:]
                #expect(refit["ratings"] as? Int == 20 && refit["regularization"] as? Double == 20, "\(booksModel)")
            } else {
                #expect(booksModel["refit"] == nil, "\(booksModel)")
            }
            #expect((statsDomains.first?["rejected"] as? [String: Any])?["malformed"] as? Int == 1)
            #expect(answers.allSatisfy { $0["ok"] != nil })

            // The online hit rate: events that arrive once a model is published are sampled
            // against the list their user was being shown (u0…u5 rated movies: personal).
            let more = (0..<30).map { #"{"user":"u\#($0 % 6)","item":"m\#($0 % 40)","rating":4}"# }
            let produced = try ExternalTool.run(["kcat", "-P", "-b", bootstrap, "-t", "ratings.movies"], input: more.joined(separator: "\n") + "\n")
            #expect(produced.status == 0, "\(produced.stderr)")
            func moviesStats() -> [String: Any] {
                let line = (try? QuerySocketClient(path: socketPath).request(["op": "stats"])) ?? "{}"
                let stats = (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]) ?? [:]
                return (stats["domains"] as? [[String: Any]])?.first ?? [:]
            }
            func hitRate() -> [String: Any] { moviesStats()["online_hit_rate"] as? [String: Any] ?? [:] }
            // All 30 applied (what follows counts them), and at least one event sampled.
            #expect(daemon.waitForLog { _ in moviesStats()["events"] as? Int == 70 }, "\(moviesStats())")
            #expect(daemon.waitForLog { _ in ((hitRate()["personal"] as? [String: Any])?["sampled"] as? Int ?? 0) >= 1 }, "\(hitRate())")
            let personal = hitRate()["personal"] as? [String: Any] ?? [:]
            let (sampled, hits) = (personal["sampled"] as? Int ?? 0, personal["hits"] as? Int ?? -1)
            #expect(hits >= 0 && hits <= sampled)
            #expect((personal["hr10"] as? Double) == Double(hits) / Double(sampled))
            let unknownItem = try QuerySocketClient(path: socketPath).request(["op": "predict", "user": "u1", "domain": "movies", "item": "nothing"])
            #expect(unknownItem.contains(#""code":"unknown_item""#), "\(unknownItem)")

            // Later batches may be sampled meanwhile: the exported tally is at least as high.
            let metricsLine = try QuerySocketClient(path: socketPath).request(["op": "metrics"])
            let text = (try JSONSerialization.jsonObject(with: Data(metricsLine.utf8)) as? [String: Any])?["text"] as? String ?? ""
            let samples = PrometheusText.value(of: #"crossrec_online_hit_samples_total{domain="movies",strategy="personal"}"#, in: text)
            #expect(samples.map { $0 >= Double(sampled) } == true, "\(text.suffix(2_000))")

            // forget (admin: root here) erases u1 from the model that queries read, at once: the
            // answer kept by the answer cache before it is not served after it.
            let recommendU1 = #"{"op":"recommend","user":"u1","domain":"movies"}"#
            let forget = try ExternalTool.run(
                ["socat", "-t", "30", "-", "UNIX-CONNECT:\(socketPath)"],
                input: [recommendU1, recommendU1, #"{"op":"forget","user":"u1"}"#, recommendU1, #"{"op":"stats"}"#]
                    .joined(separator: "\n") + "\n")
            let forgetAnswers = forget.stdout.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            try #require(forgetAnswers.count == 5, "\(forget.stdout)")
            func items(_ answer: [String: Any]) -> [String] { (answer["items"] as? [[String: Any]] ?? []).compactMap { $0["item"] as? String } }
            #expect(forgetAnswers[0]["strategy"] as? String == "personal" && items(forgetAnswers[0]) == items(forgetAnswers[1]))
            #expect(forgetAnswers[2]["forgotten"] as? Bool == true, "\(forget.stdout)")
            #expect(forgetAnswers[3]["strategy"] as? String == "popular")
            let cache = forgetAnswers[4]["answer_cache"] as? [String: Any] ?? [:]
            #expect((cache["hits"] as? Int ?? 0) >= 1 && (cache["budget_bytes"] as? Int ?? 0) > 0, "\(cache)")

            // checkpoint (admin) writes one now and says where, with the offsets it holds.
            let checkpoint = try ExternalTool.run(
                ["socat", "-t", "30", "-", "UNIX-CONNECT:\(socketPath)"], input: #"{"op":"checkpoint","id":"c"}"# + "\n")
            let written = try JSONSerialization.jsonObject(with: Data(checkpoint.stdout.utf8)) as? [String: Any] ?? [:]
            #expect(written["ok"] as? Bool == true && written["id"] as? String == "c", "\(checkpoint.stdout)")
            let writtenPath = try #require(written["path"] as? String)
            #expect(writtenPath.hasPrefix("\(directory)/state/checkpoint-"))
            let writtenOffsets = written["offsets"] as? [[String: Any]] ?? []
            #expect(writtenOffsets.compactMap { $0["offset"] as? Int }.reduce(0, +) == 92, "41 + 30 movies + 21 books messages")

            // The CLI's table shows the served model's shape and age.
            let crossrec = DaemonProcess.binary("crossrec", root: repositoryRoot)
            let table = try ExternalTool.run([crossrec, "stats", "--socket", socketPath])
            #expect(table.status == 0, "\(table.stderr)")
            #expect(table.stdout.range(of: #"int8 16-d from \d+-d, age \d+\.\d s"#, options: .regularExpression) != nil, "\(table.stdout)")
            // The live ranking figure is in the table, not only in the JSON.
            #expect(table.stdout.contains("HR@10 live"), "\(table.stdout)")
            // So is the joint refit's model (movies and books are solved together).
            #expect(table.stdout.range(of: #"joint refit: (cmf|refit) over \d+ ratings"#, options: .regularExpression) != nil, "\(table.stdout)")

            daemon.signal(SIGTERM)
            #expect(daemon.waitForExit() == 0)
            // The shutdown checkpoint holds every applied event, and verifies with the CLI.
            let verify = try ExternalTool.run([crossrec, "checkpoint", "verify", "\(directory)/state"])
            #expect(verify.status == 0, "\(verify.stdout)")
            let newest = try #require(try CheckpointStore(directory: "\(directory)/state").list().first)
            #expect(try CheckpointFile(path: newest.path).metadata["applied_events"] == "90")
            #expect(try CheckpointFile(path: newest.path).metadata["crossrec.version"] == CrossrecVersion.current)
            let inspect = try ExternalTool.run([crossrec, "checkpoint", "inspect", newest.path])
            #expect(inspect.status == 0 && inspect.stdout.contains("verifies: yes"), "\(inspect.stdout)")
            #expect(inspect.stdout.contains("applied_events = 90") && inspect.stdout.contains("ratings.books/"))
            #expect(!FileManager.default.fileExists(atPath: socketPath), "the socket is removed on exit")
            #expect(!logLines(daemon.log, message: "crossrecd stopped").isEmpty)
            #expect(!FileManager.default.fileExists(atPath: addressFile), "the address file is removed on exit")
        }

        @Test func badConfigurationExits78NamingKeyAndLine() throws {
            let directory = try makeShortTemporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let path = try writeConfig(directory, extra: "model:\n  dimensoin: 8\n")
            for arguments in [["--config", path], ["--check-config", path]] {
                let daemon = try DaemonProcess(executable: crossrecd, arguments: arguments, logPath: "\(directory)/log")
                #expect(daemon.waitForExit() == 78)
                #expect(daemon.log.contains("crossrecd.yaml:22: model.dimensoin: unknown key"), "\(daemon.log)")
            }
        }
    }
}
