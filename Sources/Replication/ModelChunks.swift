import Checkpoint
import RecModel
import Foundation

/// A serving model version cut into Kafka messages and put back together: chunks below the
/// broker's message size, each with its CRC-32C, and a manifest that names them and the
/// whole. No I/O: the publisher produces what `split` returns and a
/// replica feeds what it consumes to a `ModelAssembly`.
///
/// Why a manifest after the chunks: a replica that reads the manifest knows how many chunks to
/// expect and can check each one as it arrives; one that sees chunks without a manifest (the
/// learner died mid-version) never serves them.
public struct VersionManifest: Codable, Sendable, Equatable {
    /// The serving model's version.
    public var version: Int
    /// Bytes of the whole encoded model.
    public var bytes: Int
    /// CRC-32C of each chunk, in order.
    public var chunkChecksums: [UInt32]
    /// CRC-32C of the whole encoded model.
    public var checksum: UInt32
    /// When the learner published it (ms since the epoch): a replica's lag in seconds.
    public var publishedUnixMillis: Int64
    /// Set when the chunks carry a patch of an earlier version (RecModel's
    /// ServingModel+Patch.swift) rather than the whole model: `bytes` and `checksum` then
    /// describe the patch.
    public var patch: PatchDescription?

    public var chunkCount: Int { chunkChecksums.count }

    /// The manifest as one JSON object (keys sorted), readable with kcat.
    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        // Integers and an array of integers: encoding cannot fail.
        return Array(try! encoder.encode(self))
    }

    public static func decoded(_ bytes: [UInt8]) throws -> VersionManifest {
        try JSONDecoder().decode(VersionManifest.self, from: Data(bytes))
    }
}

/// What a patch turns its base into: the new version's encoding, by size and checksum (a
/// replica checks the patched model against them without encoding it: `measure`).
public struct PatchDescription: Codable, Sendable, Equatable {
    /// The version the patch applies to.
    public var base: Int
    public var modelBytes: Int
    public var modelChecksum: UInt32

    public init(base: Int, modelBytes: Int, modelChecksum: UInt32) {
        (self.base, self.modelBytes, self.modelChecksum) = (base, modelBytes, modelChecksum)
    }
}

/// One chunk as it travels: its version and position, then its bytes.
public struct ModelChunk: Sendable, Equatable {
    public var version: Int
    public var index: Int
    public var bytes: [UInt8]

    public init(version: Int, index: Int, bytes: [UInt8]) {
        self.version = version
        self.index = index
        self.bytes = bytes
    }

    /// The message key: `<version>/<index>`, so that a topic's messages say what they hold.
    public var key: String { "\(version)/\(index)" }
}

public enum ModelChunks {
    /// The broker's default message limit is 1 MiB (`message.max.bytes`); chunks stay well
    /// below it so that the key and headers fit.
    public static let defaultChunkBytes = 900 * 1024

    /// The chunks of one encoded model and its manifest.
    public static func split(
        _ model: [UInt8], version: Int, chunkBytes: Int = defaultChunkBytes, publishedUnixMillis: Int64
    ) -> (manifest: VersionManifest, chunks: [ModelChunk]) {
        precondition(chunkBytes > 0)
        var chunks: [ModelChunk] = []
        var start = 0
        repeat {
            let end = min(start + chunkBytes, model.count)
            chunks.append(ModelChunk(version: version, index: chunks.count, bytes: Array(model[start..<end])))
            start = end
        } while start < model.count
        let manifest = VersionManifest(
            version: version, bytes: model.count, chunkChecksums: chunks.map { checksum($0.bytes) }, checksum: checksum(model),
            publishedUnixMillis: publishedUnixMillis)
        return (manifest, chunks)
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc = CRC32C()
        bytes.withUnsafeBytes { crc.update($0) }
        return crc.value
    }

    /// The size and `checksum` of `model.encoded()`, without the encoded copy: the encoding
    /// streamed through a 64 KiB buffer (a patched version is checked so, as a replica never
    /// holds its bytes).
    public static func measure(_ model: ServingModel) -> (bytes: Int, checksum: UInt32) {
        var sink = ChecksumSink()
        // The sink's appends do not throw.
        try! model.encode(into: &sink)
        return (sink.count, sink.value)
    }
}

/// CRC-32C of the bytes appended, gathered in a buffer so that the encoding's many small
/// fields cost a copy each rather than a checksum call.
struct ChecksumSink: ArchiveSink {
    private var crc = CRC32C()
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    private var used = 0
    /// Bytes appended so far.
    private(set) var count = 0

    mutating func beginSection(_ section: ArchiveSection) {}

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        count += bytes.count
        if used + bytes.count > buffer.count { flush() }
        guard bytes.count < buffer.count else { return crc.update(bytes) }
        buffer.withUnsafeMutableBytes { ($0.baseAddress! + used).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
        used += bytes.count
    }

    private mutating func flush() {
        let count = used
        buffer.withUnsafeBytes { crc.update(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
        used = 0
    }

    var value: UInt32 {
        mutating get {
            flush()
            return crc.value
        }
    }
}

/// Chunks of one version, collected until the manifest's set is complete and every checksum
/// holds. Chunks may come before or after the manifest, repeated (a producer's retry) or from
/// other versions (ignored).
public struct ModelAssembly: Sendable {
    public enum Problem: Error, Equatable, CustomStringConvertible {
        /// A chunk whose bytes do not match the manifest's checksum: the version is refused.
        case corruptChunk(version: Int, index: Int)
        /// A chunk the manifest does not have.
        case unexpectedChunk(version: Int, index: Int)
        /// Every chunk checks out but the whole does not (a manifest that lies).
        case corruptVersion(version: Int)

        public var description: String {
            switch self {
            case .corruptChunk(let version, let index): "version \(version): chunk \(index) does not match its checksum"
            case .unexpectedChunk(let version, let index): "version \(version): chunk \(index) is not in the manifest"
            case .corruptVersion(let version): "version \(version): the assembled bytes do not match the manifest's checksum"
            }
        }
    }

    public let version: Int
    public private(set) var manifest: VersionManifest?
    private var chunks: [Int: [UInt8]] = [:]

    public init(version: Int) { self.version = version }

    /// Chunks held so far (checked against the manifest once it has come).
    public var received: Int { chunks.count }

    public mutating func add(manifest: VersionManifest) throws(Problem) {
        guard manifest.version == version else { return }
        self.manifest = manifest
        // Chunks that came first are checked now.
        for (index, bytes) in chunks { try check(index: index, bytes: bytes) }
    }

    public mutating func add(_ chunk: ModelChunk) throws(Problem) {
        guard chunk.version == version else { return }
        if manifest != nil { try check(index: chunk.index, bytes: chunk.bytes) }
        chunks[chunk.index] = chunk.bytes
    }

    /// The whole model once every chunk is in and the whole checks out; nil while incomplete.
    public func assembled() throws(Problem) -> [UInt8]? {
        guard let manifest, chunks.count == manifest.chunkCount else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(manifest.bytes)
        for index in 0..<manifest.chunkCount {
            guard let chunk = chunks[index] else { return nil }
            bytes.append(contentsOf: chunk)
        }
        guard bytes.count == manifest.bytes, ModelChunks.checksum(bytes) == manifest.checksum else {
            throw .corruptVersion(version: version)
        }
        return bytes
    }

    private func check(index: Int, bytes: [UInt8]) throws(Problem) {
        guard let manifest else { return }
        guard index >= 0, index < manifest.chunkCount else { throw .unexpectedChunk(version: version, index: index) }
        guard ModelChunks.checksum(bytes) == manifest.chunkChecksums[index] else { throw .corruptChunk(version: version, index: index) }
    }
}
