import Foundation

/// A built `crossrecd` (or `crossrec`) run as a child process, its log captured to a file.
public final class DaemonProcess: @unchecked Sendable {
    // @unchecked: `process` is only started, signalled and awaited; Foundation's Process is thread-safe for that.
    public let process = Process()
    public let logPath: String

    /// Path of a product of the current build (`.build/debug/NAME`), found from the repository root.
    public static func binary(_ name: String, root: String) -> String {
        for configuration in ["debug", "release"] {
            let path = "\(root)/.build/\(configuration)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return "\(root)/.build/debug/\(name)"
    }

    public init(executable: String, arguments: [String], environment: [String: String] = [:], logPath: String) throws {
        self.logPath = logPath
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardError = log
        process.standardOutput = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    deinit {
        if process.isRunning { process.terminate() }
    }

    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Waits until `condition` holds for the captured log (a bound, not a timing assertion).
    @discardableResult
    public func waitForLog(limitSeconds: Double = 60, _ condition: (String) -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: limitSeconds)
        while Date() < deadline {
            if condition(log) { return true }
            if !process.isRunning { return condition(log) }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return false
    }

    public func signal(_ number: Int32) {
        kill(process.processIdentifier, number)
    }

    /// Waits for exit (SIGKILL after `limitSeconds`); returns the exit status.
    public func waitForExit(limitSeconds: Double = 60) -> Int32 {
        let deadline = Date(timeIntervalSinceNow: limitSeconds)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
