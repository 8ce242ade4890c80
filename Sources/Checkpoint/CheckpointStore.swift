#if canImport(Glibc)
import Glibc
#endif
import RecModel

/// The checkpoint directory: numbered files `checkpoint-<sequence>.ckpt`, written atomically
/// (temp file, fsync, rename, fsync of the directory), the newest `retain` kept.
///
/// Isolation: a value with no mutable state; one writer at a time per directory (the
/// checkpoint service) — the sequence number is derived from the files present.
public struct CheckpointStore: Sendable {
    public let directory: String
    /// Checkpoints kept after a successful write (older ones are deleted).
    public let retain: Int

    static let prefix = "checkpoint-"
    static let suffix = ".ckpt"
    static let temporaryPrefix = ".checkpoint-"
    static let temporarySuffix = ".tmp"

    public init(directory: String, retain: Int = 3) {
        precondition(retain >= 1)
        self.directory = directory
        self.retain = retain
    }

    /// One checkpoint file of the directory.
    public struct Entry: Sendable, Equatable {
        public var sequence: UInt64
        public var path: String
    }

    /// What a successful write produced.
    public struct Written: Sendable {
        public var path: String
        public var sequence: UInt64
        public var bytes: UInt64
        /// Files deleted by retention.
        public var removed: [String]
    }

    /// Checkpoint files, newest (highest sequence) first. Other files are ignored.
    public func list() throws(CheckpointError) -> [Entry] {
        try fileNames().compactMap { name -> Entry? in
            guard name.hasPrefix(Self.prefix), name.hasSuffix(Self.suffix),
                let sequence = UInt64(name.dropFirst(Self.prefix.count).dropLast(Self.suffix.count))
            else { return nil }
            return Entry(sequence: sequence, path: "\(directory)/\(name)")
        }.sorted { $0.sequence > $1.sequence }
    }

    /// Deletes temp files a crash left behind; returns their paths.
    @discardableResult
    public func removeTemporaryFiles() throws(CheckpointError) -> [String] {
        let stale = try fileNames().filter { $0.hasPrefix(Self.temporaryPrefix) && $0.hasSuffix(Self.temporarySuffix) }
        return stale.map { "\(directory)/\($0)" }.filter { unlink($0) == 0 }
    }

    /// Writes a checkpoint of `learner` at `offsets` and makes it durable, then applies
    /// retention. On failure every earlier checkpoint is untouched and the temp file removed.
    public func write(
        learner: Learner, offsets: [StoredOffset], metadata: [String: String] = [:], createdMillis: Int64
    ) throws(CheckpointError) -> Written {
        let sequence = (try list().first?.sequence ?? 0) + 1
        let name = String(sequence).leftPadded(to: 12)
        let temporary = "\(directory)/\(Self.temporaryPrefix)\(name)\(Self.temporarySuffix)"
        let final = "\(directory)/\(Self.prefix)\(name)\(Self.suffix)"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else { throw .io(step: "create temp file", path: temporary) }
        var bytes: UInt64 = 0
        do {
            defer { close(descriptor) }
            var writer = try CheckpointFileWriter(descriptor: descriptor, path: temporary, createdMillis: createdMillis)
            defer { writer.deallocate() }
            var entries = metadata
            entries["sequence"] = String(sequence)
            try writer.beginSection(ArchiveSection(kind: CheckpointFormat.metadataKind), flags: CheckpointFormat.optionalFlag)
            try writer.append(UInt32(entries.count))
            for (key, value) in entries.sorted(by: { $0.key < $1.key }) {
                try writer.append(key)
                try writer.append(value)
            }
            try writer.beginSection(ArchiveSection(kind: CheckpointFormat.offsetsKind), flags: 0)
            try writer.append(UInt32(offsets.count))
            for offset in offsets.sorted() {
                try writer.append(offset.topic)
                try writer.append(offset.partition)
                try writer.append(offset.offset)
            }
            try learner.archive(into: &writer)
            try writer.finish()
            bytes = writer.position
            guard fsync(descriptor) == 0 else { throw CheckpointError.io(step: "fsync", path: temporary) }
        } catch {
            unlink(temporary)
            throw error as? CheckpointError ?? CheckpointError(.io, "\(temporary): \(error)", step: "write")
        }
        guard rename(temporary, final) == 0 else {
            let error = CheckpointError.io(step: "rename", path: final)
            unlink(temporary)
            throw error
        }
        try syncDirectory()
        let removed = try list().dropFirst(retain).map(\.path).filter { unlink($0) == 0 }
        return Written(path: final, sequence: sequence, bytes: bytes, removed: removed)
    }

    /// The outcome of `restoreNewest`.
    public struct Restored: Sendable {
        /// The learner and the file it came from; nil when starting empty.
        public var learner: Learner?
        public var file: CheckpointFile?
        /// Files tried and refused before it, newest first, each with its reason.
        public var skipped: [CheckpointError]
    }

    /// Loads the newest checkpoint that verifies and fits `configuration`. Damaged files are
    /// skipped (and reported). An incompatible file stops the search with an error, unless
    /// `discardIncompatible`, which skips it like a damaged one.
    public func restoreNewest(
        configuration: LearnerConfiguration, discardIncompatible: Bool = false
    ) throws(CheckpointError) -> Restored {
        var skipped: [CheckpointError] = []
        for entry in try list() {
            do {
                let file = try CheckpointFile(path: entry.path)
                let learner = try file.restoreLearner(configuration: configuration)
                return Restored(learner: learner, file: file, skipped: skipped)
            } catch where error.code == .incompatible && !discardIncompatible {
                throw error
            } catch {
                skipped.append(error)
            }
        }
        return Restored(learner: nil, file: nil, skipped: skipped)
    }

    private func syncDirectory() throws(CheckpointError) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .io(step: "open directory", path: directory) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw .io(step: "fsync directory", path: directory) }
    }

    private func fileNames() throws(CheckpointError) -> [String] {
        guard let stream = opendir(directory) else { throw .io(step: "open directory", path: directory) }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
