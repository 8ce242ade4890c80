import ArgumentParser
import Foundation
import QueryProtocol

/// Where the daemon's socket is: --socket, else the dev one of `make run`, else the system one.
struct SocketOptions: ParsableArguments {
    @Option(help: "Query socket (default: .run/crossrecd.sock when present, else /run/crossrec/crossrecd.sock).")
    var socket: String?
    @Flag(help: "Print the response line as JSON instead of a table.") var json = false
    @Option(help: "Seconds to wait for the answer; 0 waits for ever.") var timeout = 60.0

    var path: String {
        if let socket { return socket }
        return FileManager.default.fileExists(atPath: ".run/crossrecd.sock") ? ".run/crossrecd.sock" : "/run/crossrec/crossrecd.sock"
    }

    /// Sends the request, prints the answer; exit 1 for an error answer, 69 (EX_UNAVAILABLE)
    /// when the daemon cannot be reached, 75 (EX_TEMPFAIL) when it does not answer in time.
    func send(_ request: [String: Any], render: ([String: Any]) -> String) throws {
        let line: String
        do {
            line = try QuerySocketClient(path: path, readTimeoutSeconds: timeout > 0 ? timeout : nil).request(request)
        } catch let error as QuerySocketClient.Failure {
            FileHandle.standardError.write(Data("crossrec: \(error)\n".utf8))
            if case .timedOut = error { throw ExitCode(75) }
            throw ExitCode(69)
        } catch {
            FileHandle.standardError.write(Data("crossrec: \(error)\n".utf8))
            throw ExitCode(69)
        }
        let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
        if object["ok"] as? Bool != true {
            if json { print(line) } else {
                let error = object["error"] as? [String: Any]
                FileHandle.standardError.write(
                    Data("crossrec: \(error?["code"] ?? "error"): \(error?["message"] ?? line)\n".utf8))
            }
            throw ExitCode(1)
        }
        print(json ? line : render(object))
    }
}

/// Items with scores as an aligned table.
func itemTable(_ object: [String: Any], header: String) -> String {
    let items = object["items"] as? [[String: Any]] ?? []
    var lines = [header]
    let width = max(4, items.map { "\($0["item"] ?? "")".count }.max() ?? 0)
    lines.append("rank  " + "item".padding(toLength: width, withPad: " ", startingAt: 0) + "  score")
    for (rank, item) in items.enumerated() {
        let name = "\(item["item"] ?? "")".padding(toLength: width, withPad: " ", startingAt: 0)
        let score = (item["score"] as? Double).map { String(format: "%.4f", $0) } ?? "\(item["score"] ?? "")"
        lines.append(String(format: "%4d  ", rank + 1) + name + "  " + score)
    }
    if items.isEmpty { lines.append("(no items)") }
    return lines.joined(separator: "\n")
}

struct RecommendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "recommend", abstract: "Top-k items for a user in a domain.")
    @Option var user: String
    @Option var domain: String
    @Option var k = 10
    @Flag(inversion: .prefixedNo, help: "Leave out items the user already rated.") var excludeSeen = true
    @OptionGroup var socket: SocketOptions

    func run() throws {
        try socket.send(["op": "recommend", "user": user, "domain": domain, "k": k, "exclude_seen": excludeSeen]) {
            itemTable($0, header: "\(user) in \(domain): strategy \($0["strategy"] ?? "-"), model version \($0["model_version"] ?? "-")")
        }
    }
}

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "predict", abstract: "Predicted rating of a user for an item.")
    @Option var user: String
    @Option var domain: String
    @Option var item: String
    @OptionGroup var socket: SocketOptions

    func run() throws {
        try socket.send(["op": "predict", "user": user, "domain": domain, "item": item]) {
            String(format: "%.4f", $0["score"] as? Double ?? .nan)
        }
    }
}

struct SimilarCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "similar", abstract: "Items most similar to an item (cosine).")
    @Option var domain: String
    @Option var item: String
    @Option var k = 10
    @OptionGroup var socket: SocketOptions

    func run() throws {
        try socket.send(["op": "similar", "domain": domain, "item": item, "k": k]) {
            itemTable($0, header: "like \(item) in \(domain)")
        }
    }
}

struct ForgetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forget", abstract: "Erase a user everywhere (admin: root, the daemon's user or socket.admin_uids).")
    @Option var user: String
    @OptionGroup var socket: SocketOptions

    func run() throws {
        try socket.send(["op": "forget", "user": user]) {
            ($0["forgotten"] as? Bool == true ? "\(user) forgotten" : "\(user) was not known (tombstoned anyway)")
                + ", model version \($0["model_version"] ?? "-")"
        }
    }
}

struct PopularCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "popular", abstract: "Most popular items of a domain (decayed counts).")
    @Option var domain: String
    @Option var k = 10
    @OptionGroup var socket: SocketOptions

    func run() throws {
        try socket.send(["op": "popular", "domain": domain, "k": k]) { itemTable($0, header: "popular in \(domain)") }
    }
}

struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "metrics", abstract: "Prometheus text exposition of the daemon's metrics.")
    @OptionGroup var socket: SocketOptions

    func run() throws {
        try socket.send(["op": "metrics"]) { ($0["text"] as? String ?? "").trimmingCharacters(in: .newlines) }
    }
}

struct HealthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "health", abstract: "Is the daemon ready?")
    @OptionGroup var socket: SocketOptions

    func run() throws {
        try socket.send(["op": "health"]) { "\($0["status"] ?? "unknown") (model version \($0["model_version"] ?? "-"))" }
    }
}

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Per-domain events, errors, sizes, rating error, live hit rate and lag.")
    @OptionGroup var socket: SocketOptions

    func run() throws {
        try socket.send(["op": "stats"]) { object in
            if object["mode"] as? String == "replica" { return Self.replicaLines(object) }
            var rows = [[
                "domain", "events", "rejected", "users", "items", "RMSE", "MAE", "baseline RMSE", "HR@10 live", "lag",
                "top-10 vs teacher", "transfer", "refit",
            ]]
            for domain in object["domains"] as? [[String: Any]] ?? [] {
                let rejected = (domain["rejected"] as? [String: Any] ?? [:]).values.compactMap { $0 as? Int }.reduce(0, +)
                let lag = (domain["lag"] as? [[String: Any]] ?? []).compactMap { $0["lag"] as? Int }.reduce(0, +)
                func metric(_ key: String) -> String { (domain[key] as? Double).map { String(format: "%.4f", $0) } ?? "-" }
                let served = domain["model"] as? [String: Any]
                let overlap = (served?["top10_overlap"] as? Double).map { String(format: "%.2f", $0) } ?? "-"
                let transfer = (served?["transfer"] as? [String: Any])?["method"] as? String ?? "-"
                // The online hit rate of users with ratings in the domain (transfer users after a slash).
                let rates = domain["online_hit_rate"] as? [String: Any]
                func hitRate(_ strategy: String) -> String? {
                    ((rates?[strategy] as? [String: Any])?["hr10"] as? Double).map { String(format: "%.3f", $0) }
                }
                let live = [hitRate("personal") ?? "-", hitRate("transfer")].compactMap { $0 }.joined(separator: " / ")
                let refit = (served?["refit"] as? [String: Any]).map { refit in
                    "\(refit["ratings"] ?? 0) ratings, L2 \((refit["regularization"] as? Double).map { String(format: "%g", $0) } ?? "-")"
                } ?? "-"
                rows.append([
                    "\(domain["domain"] ?? "")", "\(domain["events"] ?? 0)", "\(rejected)", "\(domain["users"] ?? 0)",
                    "\(domain["items"] ?? 0)", metric("rmse"), metric("mae"), metric("baseline_rmse"), live, "\(lag)", overlap, transfer,
                    refit,
                ])
            }
            let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
            let table = rows.map { row in
                row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
            }
            let uptime = (object["uptime_seconds"] as? Double).map { String(format: "%.0f s", $0) } ?? "-"
            let model = object["model"] as? [String: Any]
            let age = (model?["age_seconds"] as? Double).map { String(format: "%.1f s", $0) } ?? "-"
            let shape = model.map { "int8 \($0["dimension"] ?? "-")-d from \($0["teacher_dimension"] ?? "-")-d, " } ?? ""
            // A light version names the full build whose projections it uses.
            let basis = model?["basis_version"] as? Int
            let light = basis.flatMap { $0 != model?["version"] as? Int ? "light version on full version \($0), " : nil } ?? ""
            var lines = table + ["model version \(object["model_version"] ?? "-") (\(light)\(shape)age \(age)), uptime \(uptime)"]
            if let joint = model?["joint_refit"] as? [String: Any] {
                // Which joint refit model serves, and each one's held-out error when both were judged.
                let errors = (joint["validation_rmse"] as? [String: Double] ?? [:]).sorted { $0.key < $1.key }
                    .map { String(format: "%@ %.4f", $0.key, $0.value) }.joined(separator: ", ")
                let judged = errors.isEmpty ? "" : " (held-out RMSE \(errors) on \(joint["validation_users"] ?? 0) users)"
                lines.append("joint refit: \(joint["model"] ?? "-") over \(joint["ratings"] ?? 0) ratings, \(joint["users"] ?? 0) users solved\(judged)")
            }
            if let replication = object["replication"] as? [String: Any] {
                let error = (replication["last_error"] as? String).map { ", FAILING: \($0)" } ?? ""
                lines.append(
                    "publishing to \(replication["topic"] ?? "-"): version \(replication["published_version"] ?? "-"), \(replication["full_versions"] ?? 0) full, \(replication["deltas"] ?? 0) patches\(error)")
            }
            lines += Self.cacheLines(object)
            return lines.joined(separator: "\n")
        }
    }

    /// A read replica's stats: what it serves, what the topic holds, how far behind it is.
    static func replicaLines(_ object: [String: Any]) -> String {
        let replica = object["replica"] as? [String: Any] ?? [:]
        let model = object["model"] as? [String: Any]
        let uptime = (object["uptime_seconds"] as? Double).map { String(format: "%.0f s", $0) } ?? "-"
        let age = (model?["age_seconds"] as? Double).map { String(format: "%.1f s", $0) } ?? "-"
        let lag = (replica["lag_seconds"] as? Double).map { String(format: "%.1f s", $0) } ?? "-"
        let domains = (model?["domains"] as? [String])?.joined(separator: ", ") ?? "-"
        var lines = [
            "read replica of \(replica["topic"] ?? "-"): serving version \(replica["served_version"] ?? "none") (domains \(domains), swapped in \(age) ago), uptime \(uptime)",
            "newest on the topic: version \(replica["newest_version"] ?? "none"); behind by \(replica["lag_versions"] ?? 0) version(s), \(lag)",
            "applied \(replica["full_applied"] ?? 0) full, \(replica["deltas_applied"] ?? 0) deltas; refused \(replica["rejected"] ?? 0); \(replica["bytes_received"] ?? 0) bytes received",
        ]
        if let rejection = replica["last_rejection"] as? [String: Any] {
            lines.append("last refused: version \(rejection["version"] ?? "-"): \(rejection["reason"] ?? "-")")
        }
        if let error = replica["last_error"] as? String { lines.append("topic: \(error)") }
        return (lines + cacheLines(object)).joined(separator: "\n")
    }

    static func cacheLines(_ object: [String: Any]) -> [String] {
        guard let cache = object["answer_cache"] as? [String: Any], let hits = cache["hits"] as? Int, let misses = cache["misses"] as? Int
        else { return [] }
        let rate = hits + misses > 0 ? String(format: "%.1f %%", 100 * Double(hits) / Double(hits + misses)) : "-"
        let mib = { (key: String) in String(format: "%.1f", Double(cache[key] as? Int ?? 0) / 1_048_576) }
        return ["answer cache: \(hits) hits, \(misses) misses (\(rate) hits), \(cache["entries"] ?? 0) answers in \(mib("bytes")) of \(mib("budget_bytes")) MiB"]
    }
}
