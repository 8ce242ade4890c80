/// Reading Prometheus text exposition in tests: the value of one series.
public enum PrometheusText {
    /// The value of the first line that starts with `series` and a space (the series' name
    /// and labels exactly as exposed); nil when there is none or it is not a number.
    public static func value(of series: String, in exposition: String) -> Double? {
        exposition.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }
}

/// Prometheus' own linter, `promtool` (Debian package `prometheus`), as the witness for what
/// the daemon exposes and for the alert rules under contrib/.
public enum Promtool {
    /// `promtool check metrics` of an exposition: its findings (empty when clean) and status.
    public static func checkMetrics(_ exposition: String) throws -> ExternalTool.Result {
        try ExternalTool.run(["promtool", "check", "metrics"], input: exposition)
    }
}
