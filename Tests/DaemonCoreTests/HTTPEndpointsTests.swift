import Foundation
import QueryProtocol
import Testing
import TestSupport

/// The HTTP listener, read with curl: what Prometheus and a load balancer's probe would see.
@Suite("HTTP endpoints", .serialized)
struct HTTPEndpointsTests {
    let crossrecd = DaemonProcess.binary("crossrecd", root: repositoryRoot)

    /// A TCP port nobody listens on now (the kernel's pick for port 0).
    private func freePort() throws -> Int {
        let result = try ExternalTool.run([
            "python3", "-c", "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])",
        ])
        return try #require(Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    /// `curl` of one URL: the status code, the content type and the body.
    private func get(_ url: String, _ extra: [String] = []) throws -> (code: Int, type: String, body: String) {
        let marker = "\n--crossrec-test--"
        let result = try ExternalTool.run(
            ["curl", "-s", "--max-time", "10", "-w", "\(marker)%{http_code} %{content_type}"] + extra + [url])
        let parts = result.stdout.components(separatedBy: marker)
        let status = parts.last?.split(separator: " ", maxSplits: 1) ?? []
        return (Int(status.first ?? "") ?? 0, status.count > 1 ? String(status[1]) : "", parts.first ?? "")
    }

    private func startDaemon(bootstrap: String, port: Int, _ directory: String) throws -> DaemonProcess {
        let yaml = """
            domains: [{name: movies, topic: ratings.movies}]
            kafka: {bootstrap: "\(bootstrap)", group_id: \(TestKafka.uniqueGroup("http"))}
            paths: {run_dir: \(directory)/run, state_dir: \(directory)/state}
            http: {listen: "127.0.0.1:\(port)"}
            log: {level: info, stats_interval_seconds: 0}
            """
        try yaml.write(toFile: "\(directory)/crossrecd.yaml", atomically: true, encoding: .utf8)
        return try DaemonProcess(executable: crossrecd, arguments: ["--config", "\(directory)/crossrecd.yaml"], logPath: "\(directory)/log")
    }

    /// A daemon on `bootstrap` with the HTTP listener on a free port, for the body (which gets
    /// the base URL); then SIGTERM and a clean exit.
    private func withDaemon(bootstrap: String, _ body: (String, DaemonProcess) throws -> Void) throws {
        let directory = try makeShortTemporaryDirectory("http")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = try freePort()
        let daemon = try startDaemon(bootstrap: bootstrap, port: port, directory)
        defer { daemon.signal(SIGKILL) }
        try body("http://127.0.0.1:\(port)", daemon)
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit() == 0, "\(daemon.log.suffix(1_500))")
    }

    @Test func servesMetricsAndProbesOverHTTP() throws {
        try withDaemon(bootstrap: "dev") { base, daemon in
            let up = daemon.waitForLog(limitSeconds: 60) { _ in (try? get(base + "/readyz").code) == 200 }
            try #require(up, "\(daemon.log.suffix(1_500))")
            let metrics = try get(base + "/metrics")
            #expect(metrics.code == 200)
            #expect(metrics.type == "text/plain; version=0.0.4; charset=utf-8")
            #expect(metrics.body.contains("# TYPE crossrec_query_requests_total counter"), "\(metrics.body.prefix(500))")
            // What Prometheus' linter says of the scrape: nothing (names, units, help texts).
            let lint = try Promtool.checkMetrics(metrics.body)
            #expect(lint.status == 0 && lint.stdout.isEmpty && lint.stderr.isEmpty, "\(lint)")
            func value(_ series: String) -> Double? { PrometheusText.value(of: series, in: metrics.body) }
            #expect(value("crossrec_ready") == 1)
            #expect(value(#"crossrec_build_info{version="\#(CrossrecVersion.current)"}"#) == 1)
            #expect((value("process_resident_memory_bytes") ?? 0) > 1_000_000)
            #expect((value("process_open_fds") ?? 0) > 3)
            let started = value("process_start_time_seconds") ?? 0
            #expect(abs(started - Date().timeIntervalSince1970) < 600, "\(started)")
            #expect((value("crossrec_model_published_timestamp_seconds") ?? 0) >= started)
            let ready = try get(base + "/readyz")
            #expect(ready.type == "application/json")
            let health = try JSONSerialization.jsonObject(with: Data(ready.body.utf8)) as? [String: Any]
            #expect(health?["status"] as? String == "ready" && health?["crossrec_version"] as? String == CrossrecVersion.current)
            #expect(try get(base + "/healthz").code == 200)
            #expect(try get(base + "/metrics?x=1").code == 200, "a query string is ignored")
            #expect(try get(base + "/nope").code == 404)
            #expect(try get(base + "/metrics", ["-X", "POST"]).code == 405)
            #expect(try get(base + "/readyz", ["-I"]).code == 200, "HEAD")
        }
    }

    /// The dashboard's queries and the alert rules name only metric families a daemon exports
    /// from its start (a family that appeared later would leave a panel empty and an
    /// `increase()` blind to its first change).
    @Test func contribNamesOnlyMetricsTheDaemonExports() throws {
        try withDaemon(bootstrap: "dev") { base, daemon in
            let up = daemon.waitForLog(limitSeconds: 60) { _ in (try? get(base + "/readyz").code) == 200 }
            try #require(up, "\(daemon.log.suffix(1_500))")
            let body = try get(base + "/metrics").body
            let exported = Set(body.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) })
            let dashboard = ContribTests.metricNames(in: try ContribTests.dashboardQueries().joined(separator: "\n"))
            let alerts = ContribTests.metricNames(in: try String(contentsOfFile: ContribTests.alerts, encoding: .utf8))
            #expect(dashboard.count >= 20 && alerts.count >= 10, "\(dashboard) \(alerts)")
            #expect(dashboard.subtracting(exported).isEmpty, "dashboard names \(dashboard.subtracting(exported)), not exported")
            #expect(alerts.subtracting(exported).isEmpty, "alert rules name \(alerts.subtracting(exported)), not exported")
        }
    }

    /// Kafka unreachable: the process is alive (/healthz 200) but not ready (/readyz 503), and
    /// the body says why.
    @Test func readinessFailsWhileKafkaIsUnreachable() throws {
        try withDaemon(bootstrap: "127.0.0.1:\(try freePort())") { base, daemon in
            let degraded = daemon.waitForLog(limitSeconds: 60) { _ in (try? get(base + "/readyz").code) == 503 }
            #expect(degraded, "\(daemon.log.suffix(1_500))")
            let ready = try get(base + "/readyz")
            #expect(ready.body.contains("\"status\":\"degraded\"") && ready.body.contains("kafka"), "\(ready.body)")
            #expect(try get(base + "/healthz").code == 200)
            let metrics = try get(base + "/metrics").body
            #expect(metrics.contains("\ncrossrec_ready 0.0\n"), "the alert's input says not ready: \(metrics.prefix(300))")
        }
    }
}
