#if canImport(Glibc)
import Glibc
#endif
import RecModel

/// A checkpoint file read into memory and verified: header, every section's header and body
/// checksums, the end section. Decoding the model is a separate step (`restoreLearner`), so
/// that tools can inspect files this configuration could not load.
///
/// Isolation: immutable after `init`; the bytes are owned by the instance and freed with it.
public final class CheckpointFile: Sendable {
    /// One section's place in the file.
    public struct SectionInfo: Sendable {
        public var section: ArchiveSection
        public var flags: UInt32
        /// Offset of the body in the file.
        public var offset: Int
        public var length: Int
        public var crc: UInt32
        public var name: String { CheckpointFormat.name(of: section) }
    }

    public let path: String
    public let version: UInt32
    /// Unix time (ms) the writer recorded.
    public let createdMillis: Int64
    public let byteCount: Int
    /// Every section but the end marker, in file order (unknown optional ones included).
    public let sections: [SectionInfo]
    public let metadata: [String: String]
    public let offsets: [StoredOffset]
    // The bytes are written once in `init` and only read afterwards; the pointer never escapes
    // except as borrowed buffers inside `withSections`.
    private nonisolated(unsafe) let bytes: UnsafeRawBufferPointer

    /// Reads and verifies `path`. Throws a `CheckpointError` naming the first problem.
    public init(path: String) throws(CheckpointError) {
        self.path = path
        bytes = try Self.mapWholeFile(path)
        do throws(CheckpointError) {
            let parsed = try Self.parse(bytes, path: path)
            version = parsed.version
            createdMillis = parsed.createdMillis
            sections = parsed.sections
            byteCount = bytes.count
            metadata = try Self.decodeMetadata(parsed.reader(bytes, CheckpointFormat.metadataKind), path: path)
            guard let offsetsReader = parsed.reader(bytes, CheckpointFormat.offsetsKind) else {
                throw CheckpointError(.malformed, "\(path): no Kafka offsets section")
            }
            offsets = try Self.decodeOffsets(offsetsReader, path: path)
        } catch {
            Self.unmap(bytes)
            throw error
        }
    }

    deinit { Self.unmap(bytes) }

    /// The body of every section, keyed by section, valid only inside `body`.
    public func withSections<T>(_ body: ([ArchiveSection: UnsafeRawBufferPointer]) throws -> T) rethrows -> T {
        var map: [ArchiveSection: UnsafeRawBufferPointer] = [:]
        for info in sections {
            map[info.section] = UnsafeRawBufferPointer(rebasing: bytes[info.offset..<info.offset + info.length])
        }
        return try body(map)
    }

    /// The learner this checkpoint holds, under `configuration` (which must match its fingerprint).
    public func restoreLearner(configuration: LearnerConfiguration) throws(CheckpointError) -> Learner {
        do {
            return try withSections { sections in try Learner(restoring: sections, configuration: configuration) }
        } catch let error as ArchiveError {
            throw CheckpointError(error.code == .incompatible ? .incompatible : .malformed, "\(path): \(error.message)")
        } catch {
            throw CheckpointError(.malformed, "\(path): \(error)")
        }
    }
}
