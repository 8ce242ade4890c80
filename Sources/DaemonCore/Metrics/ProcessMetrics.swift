import Foundation
import Metrics

/// The standard `process_*` families (the names Prometheus' own client libraries export, so
/// dashboards made for any service work), read from /proc at each scrape. None of the
/// project's metrics packages provides them on Linux.
final class ProcessMetrics: Sendable {
    private let cpuSeconds = RaisedCounter<Double>(label: "process_cpu_seconds_total")
    private let resident = Metrics.Gauge(label: "process_resident_memory_bytes")
    private let virtual = Metrics.Gauge(label: "process_virtual_memory_bytes")
    private let openFDs = Metrics.Gauge(label: "process_open_fds")
    private let maxFDs = Metrics.Gauge(label: "process_max_fds")
    private let startTime = Metrics.Gauge(label: "process_start_time_seconds")

    /// Brings the families to the process's current figures; a file that cannot be read
    /// leaves its families where they were.
    func update() {
        if let stat = Self.stat() {
            let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
            cpuSeconds.raise(to: Double(stat.utimeTicks + stat.stimeTicks) / ticks)
            resident.record(stat.residentPages * Int(sysconf(Int32(_SC_PAGESIZE))))
            virtual.record(stat.virtualBytes)
            if let boot = Self.bootTime() { startTime.record(boot + Double(stat.startTicks) / ticks) }
        }
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            openFDs.record(entries.count - 1)  // less the descriptor that listed the directory
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { maxFDs.record(Int(clamping: limit.rlim_cur)) }
    }

    struct Stat { var utimeTicks, stimeTicks, startTicks: Int; var virtualBytes, residentPages: Int }

    /// /proc/self/stat: fields after the parenthesised command name (which may hold spaces),
    /// numbered as in proc(5): utime 14, stime 15, starttime 22, vsize 23, rss 24.
    static func stat() -> Stat? {
        guard let text = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state).
        func field(_ n: Int) -> Int? { n - 3 < fields.count ? Int(fields[n - 3]) : nil }
        guard let utime = field(14), let stime = field(15), let start = field(22),
              let vsize = field(23), let rss = field(24) else { return nil }
        return Stat(utimeTicks: utime, stimeTicks: stime, startTicks: start, virtualBytes: vsize, residentPages: rss)
    }

    /// Boot time in seconds since the epoch (/proc/stat's btime).
    static func bootTime() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first { $0.hasPrefix("btime ") }.flatMap { Double($0.dropFirst(6)) }
    }
}
