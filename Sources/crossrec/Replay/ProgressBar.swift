import Foundation

/// A one-line progress bar on standard error, only on a terminal: what replay is doing
/// (loading a file, sorting, learning), how far, and how long each step took.
final class ProgressBar {
    let total: Int
    let label: String
    let enabled: Bool
    private let started = DispatchTime.now().uptimeNanoseconds

    init(total: Int, label: String = "learning", enabled: Bool) {
        self.total = max(total, 1)
        self.label = label
        self.enabled = enabled && isatty(STDERR_FILENO) != 0
    }

    func update(_ done: Int) {
        guard enabled else { return }
        let fraction = min(1, Double(done) / Double(total))
        let filled = Int(fraction * 40)
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 40 - filled)
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(Int(fraction * 100))% \(done)/\(total)".utf8))
    }

    func finish() {
        guard enabled else { return }
        update(total)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        FileHandle.standardError.write(Data(String(format: " (%.1f s)\n", seconds).utf8))
    }

    /// A step without a measure of its own (a sort): its name now, its time when `body` is done.
    static func step<T>(_ label: String, enabled: Bool, _ body: () throws -> T) rethrows -> T {
        let shown = enabled && isatty(STDERR_FILENO) != 0
        if shown { FileHandle.standardError.write(Data("\(label)…".utf8)) }
        let started = DispatchTime.now().uptimeNanoseconds
        let result = try body()
        if shown {
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            FileHandle.standardError.write(Data(String(format: " (%.1f s)\n", seconds).utf8))
        }
        return result
    }
}
