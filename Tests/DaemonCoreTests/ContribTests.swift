import Foundation
import Testing
import TestSupport

/// contrib/: the alert rules and the Grafana dashboard, checked by Prometheus' own tool. That
/// they name only metrics the daemon exports is checked against a live scrape in
/// HTTPEndpointsTests.
@Suite("contrib: alert rules and dashboard")
struct ContribTests {
    static let alerts = "\(repositoryRoot)/contrib/prometheus/crossrec-alerts.yml"
    static let alertTests = "\(repositoryRoot)/contrib/prometheus/crossrec-alerts.test.yml"
    static let dashboard = "\(repositoryRoot)/contrib/grafana/crossrec-dashboard.json"

    /// Every PromQL query of the dashboard, with Grafana's variables given values Prometheus
    /// accepts (`$__rate_interval` a range, `$instance` a regular expression).
    static func dashboardQueries() throws -> [String] {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dashboard)))
        var queries: [String] = []
        func walk(_ value: Any) {
            if let object = value as? [String: Any] {
                if let expr = object["expr"] as? String { queries.append(expr) }
                object.values.forEach(walk)
            } else if let array = value as? [Any] {
                array.forEach(walk)
            }
        }
        walk(json)
        return queries.map {
            $0.replacingOccurrences(of: "$__rate_interval", with: "5m").replacingOccurrences(of: "$instance", with: ".*")
        }
    }

    /// The metric families a text names (histogram series reduced to their family).
    static func metricNames(in text: String) -> Set<String> {
        let pattern = try! NSRegularExpression(pattern: #"\b(crossrec|process)_[a-z0-9_]+"#)
        let range = NSRange(text.startIndex..., in: text)
        return Set(pattern.matches(in: text, range: range).map { match in
            var name = String(text[Range(match.range, in: text)!])
            for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) { name.removeLast(suffix.count) }
            return name
        })
    }

    @Test func alertRulesAreValidAndTheirUnitTestsPass() throws {
        let check = try ExternalTool.run(["promtool", "check", "rules", Self.alerts])
        #expect(check.status == 0 && check.stdout.contains("SUCCESS: 10 rules found"), "\(check)")
        // Each alert fires when its condition holds long enough, and not before (the cases in
        // the .test.yml file, annotations and labels included).
        let unit = try ExternalTool.run(["promtool", "test", "rules", Self.alertTests])
        #expect(unit.status == 0 && unit.stdout.contains("SUCCESS"), "\(unit.stdout)\(unit.stderr)")
    }

    @Test func dashboardQueriesAreValidPromQL() throws {
        let queries = try Self.dashboardQueries()
        #expect(queries.count >= 20, "\(queries.count) queries")
        // promtool parses each query as the expression of a recording rule.
        let directory = try makeShortTemporaryDirectory("contrib")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let rules = "groups:\n  - name: dashboard\n    rules:\n" + queries.enumerated().map { index, query in
            "      - record: dashboard:query\(index)\n        expr: '\(query.replacingOccurrences(of: "'", with: "''"))'\n"
        }.joined()
        try rules.write(toFile: "\(directory)/dashboard.yml", atomically: true, encoding: .utf8)
        let check = try ExternalTool.run(["promtool", "check", "rules", "\(directory)/dashboard.yml"])
        #expect(check.status == 0 && check.stdout.contains("SUCCESS: \(queries.count) rules found"), "\(check)")
    }

    /// What the test itself relies on: a broken query is refused.
    @Test func promtoolRefusesABrokenQuery() throws {
        let directory = try makeShortTemporaryDirectory("contrib")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "groups:\n  - name: d\n    rules:\n      - record: d:q\n        expr: 'rate(crossrec_users[5m]'\n"
            .write(toFile: "\(directory)/bad.yml", atomically: true, encoding: .utf8)
        #expect(try ExternalTool.run(["promtool", "check", "rules", "\(directory)/bad.yml"]).status != 0)
    }
}
