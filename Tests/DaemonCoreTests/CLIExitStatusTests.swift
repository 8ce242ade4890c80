import Foundation
import QueryProtocol
import Testing
import TestSupport

/// What scripts see from the query commands when the daemon is not there or does not answer.
@Suite("CLI exit status")
struct CLIExitStatusTests {
    @Test(arguments: ["crossrec", "crossrecd"])
    func versionIsPrintedAndIsTheBuildsVersion(tool: String) throws {
        let result = try ExternalTool.run([DaemonProcess.binary(tool, root: repositoryRoot), "--version"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == CrossrecVersion.current + "\n")
    }

    @Test func unreachableIs69AndNoAnswerInTimeIs75() throws {
        let crossrec = DaemonProcess.binary("crossrec", root: repositoryRoot)
        let directory = try makeShortTemporaryDirectory("cli")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = "\(directory)/q.sock"

        let missing = try ExternalTool.run([crossrec, "health", "--socket", path])
        #expect(missing.status == 69, "\(missing.stderr)")
        #expect(missing.stderr.contains("not answering"))

        // A socket that accepts (the kernel's backlog) but never answers: a hung daemon.
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in Array(path.utf8CString).withUnsafeBytes { raw.copyMemory(from: $0) } }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0 && listen(listener, 4) == 0)
        let silent = try ExternalTool.run([crossrec, "health", "--socket", path, "--timeout", "0.3"])
        #expect(silent.status == 75, "\(silent.stderr)")
        #expect(silent.stderr.contains("did not answer within 0.3 s"))
    }
}
