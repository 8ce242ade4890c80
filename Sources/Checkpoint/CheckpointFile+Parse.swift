#if canImport(Glibc)
import Glibc
#endif
import RecModel

/// Reading and verifying the framing, and decoding the checkpoint's own sections.
extension CheckpointFile {
    struct Parsed {
        var version: UInt32
        var createdMillis: Int64
        var sections: [SectionInfo]

        func reader(_ bytes: UnsafeRawBufferPointer, _ kind: UInt16) -> ArchiveReader? {
            guard let info = sections.first(where: { $0.section.kind == kind }) else { return nil }
            return ArchiveReader(
                UnsafeRawBufferPointer(rebasing: bytes[info.offset..<info.offset + info.length]), section: info.section)
        }
    }

    /// The whole file, mapped read-only (restore speed is bound by copies: the page cache
    /// pages are read in place, and prefetched). Unmapped with `unmap`. Checkpoints are only
    /// ever replaced by rename, never truncated in place, so the mapping cannot lose its pages.
    static func mapWholeFile(_ path: String) throws(CheckpointError) -> UnsafeRawBufferPointer {
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .io(step: "open", path: path) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw .io(step: "fstat", path: path) }
        let size = Int(status.st_size)
        guard size > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, descriptor, 0)
        guard let address, address != MAP_FAILED else { throw .io(step: "mmap", path: path) }
        madvise(address, size, MADV_SEQUENTIAL)
        return UnsafeRawBufferPointer(start: address, count: size)
    }

    static func unmap(_ bytes: UnsafeRawBufferPointer) {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }

    static func parse(_ bytes: UnsafeRawBufferPointer, path: String) throws(CheckpointError) -> Parsed {
        func load<T: FixedWidthInteger>(_ offset: Int, _: T.Type = T.self) -> T {
            T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        }
        let headerBytes = CheckpointFormat.headerBytes
        let magic = CheckpointFormat.magic
        guard bytes.count == 0 || bytes.prefix(magic.count).elementsEqual(magic.prefix(bytes.count)) else {
            throw CheckpointError(.badMagic, "\(path): not a crossrec checkpoint (bad magic)")
        }
        guard bytes.count >= headerBytes else { throw CheckpointError(.truncated, "\(path): truncated in the file header") }
        let version: UInt32 = load(8)
        guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<24])) == load(24, UInt32.self) else {
            throw CheckpointError(.checksum, "\(path): file header checksum mismatch")
        }
        guard version <= CheckpointFormat.version else {
            throw CheckpointError(
                .newerVersion, "\(path): format version \(version) is newer than this build reads (\(CheckpointFormat.version))")
        }
        guard version >= 1 else { throw CheckpointError(.malformed, "\(path): format version 0 does not exist") }
        var sections: [SectionInfo] = []
        var position = headerBytes
        while true {
            guard bytes.count - position >= CheckpointFormat.sectionHeaderBytes else {
                throw CheckpointError(.truncated, "\(path): truncated at byte \(bytes.count), no end section")
            }
            let header = UnsafeRawBufferPointer(rebasing: bytes[position..<position + 20])
            guard CRC32C.checksum(header) == load(position + 20, UInt32.self) else {
                throw CheckpointError(.checksum, "\(path): section header at byte \(position) fails its checksum")
            }
            let section = ArchiveSection(kind: load(position), instance: load(position + 2))
            let flags: UInt32 = load(position + 4)
            let length: UInt64 = load(position + 8)
            let body = position + CheckpointFormat.sectionHeaderBytes
            guard length <= UInt64(bytes.count - body) else {
                throw CheckpointError(.truncated, "\(path): section \(CheckpointFormat.name(of: section)) at byte \(position) is cut short")
            }
            let info = SectionInfo(section: section, flags: flags, offset: body, length: Int(length), crc: load(position + 16))
            guard CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[body..<body + info.length])) == info.crc else {
                throw CheckpointError(.checksum, "\(path): section \(info.name) fails its checksum (byte \(body), \(length) bytes)")
            }
            position = body + info.length
            if section.kind == CheckpointFormat.endKind {
                guard length == 16, load(body, UInt64.self) == UInt64(sections.count),
                    load(body + 8, UInt64.self) == UInt64(body - CheckpointFormat.sectionHeaderBytes)
                else { throw CheckpointError(.malformed, "\(path): end section does not match the sections before it") }
                guard position == bytes.count else {
                    throw CheckpointError(.malformed, "\(path): \(bytes.count - position) bytes after the end section")
                }
                return Parsed(version: version, createdMillis: load(16), sections: sections)
            }
            if !CheckpointFormat.knownKinds.contains(section.kind), flags & CheckpointFormat.optionalFlag == 0 {
                throw CheckpointError(
                    .unknownSection, "\(path): unknown mandatory section kind \(section.kind) at byte \(position - info.length - 24)")
            }
            guard !sections.contains(where: { $0.section == section }) else {
                throw CheckpointError(.malformed, "\(path): section \(info.name) appears twice")
            }
            sections.append(info)
        }
    }

    /// Layout: count u32; per entry: key, value (strings).
    static func decodeMetadata(_ reader: ArchiveReader?, path: String) throws(CheckpointError) -> [String: String] {
        guard var reader else { return [:] }
        do {
            var metadata: [String: String] = [:]
            for _ in 0..<Int(try reader.read(UInt32.self)) {
                let key = try reader.readString()
                metadata[key] = try reader.readString()
            }
            return metadata
        } catch {
            throw CheckpointError(.malformed, "\(path): \(error.message)")
        }
    }

    /// Layout: count u32; per partition: topic (string), partition i32, next offset i64.
    static func decodeOffsets(_ reader: ArchiveReader, path: String) throws(CheckpointError) -> [StoredOffset] {
        var reader = reader
        do {
            var offsets: [StoredOffset] = []
            for _ in 0..<Int(try reader.read(UInt32.self)) {
                let topic = try reader.readString()
                offsets.append(StoredOffset(topic: topic, partition: try reader.read(), offset: try reader.read()))
            }
            try reader.expectEnd()
            return offsets
        } catch {
            throw CheckpointError(.malformed, "\(path): \(error.message)")
        }
    }
}
