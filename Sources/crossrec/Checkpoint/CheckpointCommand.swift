import ArgumentParser
import Checkpoint
import Foundation

/// `crossrec checkpoint`: write one now (through the daemon), or inspect and verify files.
struct CheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint", abstract: "Write a checkpoint now, or inspect and verify checkpoint files.",
        subcommands: [Now.self, Inspect.self, Verify.self], defaultSubcommand: Now.self)

    struct Now: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "now", abstract: "Ask the daemon to write a checkpoint now (admin); prints its path and offsets.")
        @OptionGroup var socket: SocketOptions

        func run() throws {
            try socket.send(["op": "checkpoint"]) { object in
                var lines = [
                    "\(object["path"] ?? "?"): \(object["bytes"] ?? 0) bytes, \(object["events"] ?? 0) events, "
                        + String(format: "written in %.1f ms (ingest paused %.2f ms)", object["write_ms"] as? Double ?? 0, object["stall_ms"] as? Double ?? 0)
                ]
                for offset in object["offsets"] as? [[String: Any]] ?? [] {
                    lines.append("  \(offset["topic"] ?? "")/\(offset["partition"] ?? "") next offset \(offset["offset"] ?? "")")
                }
                return lines.joined(separator: "\n")
            }
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a checkpoint's version, sections and sizes, offsets, creation time, and whether it verifies.")
        @Argument(help: "A checkpoint file.") var file: String

        func run() throws {
            do {
                let checkpoint = try CheckpointFile(path: file)
                print(describe(checkpoint).joined(separator: "\n"))
                print("verifies: yes (every section checksum, end marker)")
            } catch {
                print("\(file)\nverifies: NO — \(error.code.rawValue): \(error.message)")
                throw ExitCode(1)
            }
        }

        func describe(_ checkpoint: CheckpointFile) -> [String] {
            let created = Date(timeIntervalSince1970: Double(checkpoint.createdMillis) / 1_000)
            var lines = [
                checkpoint.path,
                "format version \(checkpoint.version), \(checkpoint.byteCount) bytes, created \(ISO8601DateFormatter().string(from: created))",
                "sections:",
            ]
            for section in checkpoint.sections {
                let name = section.name.padding(toLength: 26, withPad: " ", startingAt: 0)
                let size = String(section.length).leftPadded(to: 12)
                lines.append("  \(name) \(size) bytes  crc32c \(String(section.crc, radix: 16).leftPadded(to: 8, with: "0"))")
            }
            lines.append("kafka offsets (next to apply):")
            for offset in checkpoint.offsets { lines.append("  \(offset.topic)/\(offset.partition) \(offset.offset)") }
            if checkpoint.offsets.isEmpty { lines.append("  (none)") }
            lines.append("metadata:")
            for (key, value) in checkpoint.metadata.sorted(by: { $0.key < $1.key }) { lines.append("  \(key) = \(value)") }
            return lines
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify every checkpoint of a directory (newest first); exit 1 if any fails or there is none.")
        @Argument(help: "The state directory.") var directory: String

        func run() throws {
            let entries: [CheckpointStore.Entry]
            do {
                entries = try CheckpointStore(directory: directory).list()
            } catch {
                FileHandle.standardError.write(Data("crossrec: \(error.message)\n".utf8))
                throw ExitCode(66)
            }
            // Nothing to restore from is not a pass: a script checking backups must see it.
            guard !entries.isEmpty else {
                FileHandle.standardError.write(Data("crossrec: no checkpoint in \(directory)\n".utf8))
                throw ExitCode(1)
            }
            var failed = 0
            for entry in entries {
                do {
                    let file = try CheckpointFile(path: entry.path)
                    print("ok      \(entry.path)  \(file.byteCount) bytes, \(file.metadata["applied_events"] ?? "?") events")
                } catch {
                    failed += 1
                    print("FAILED  \(entry.path)  \(error.code.rawValue): \(error.message)")
                }
            }
            print("\(entries.count) checkpoint(s), \(failed) failed")
            if failed > 0 { throw ExitCode(1) }
        }
    }
}

extension String {
    func leftPadded(to width: Int, with pad: Character = " ") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
