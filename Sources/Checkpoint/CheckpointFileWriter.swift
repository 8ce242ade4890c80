#if canImport(Glibc)
import Glibc
#endif
import RecModel

/// Streams one checkpoint file: an `ArchiveSink` that frames and checksums each section as its
/// bytes arrive, through a buffer, so a model of any size is written without a second copy in
/// memory. A section's header is written as a placeholder and patched with its length and CRC
/// when the section ends.
///
/// Every error thrown is a `CheckpointError`.
///
/// Isolation: owned by the one thread writing the file.
struct CheckpointFileWriter: ArchiveSink {
    private let descriptor: Int32
    private let path: String
    private var buffer: UnsafeMutableRawBufferPointer
    private var buffered = 0
    /// File offset of the first buffered byte.
    private var flushedBytes: UInt64 = 0
    private var open: (section: ArchiveSection, flags: UInt32, headerOffset: UInt64, crc: CRC32C)?
    private(set) var sectionCount: UInt64 = 0

    static let bufferBytes = 4 << 20

    init(descriptor: Int32, path: String, createdMillis: Int64) throws {
        self.descriptor = descriptor
        self.path = path
        buffer = .allocate(byteCount: Self.bufferBytes, alignment: 16)
        var header = [UInt8]()
        header.append(contentsOf: CheckpointFormat.magic)
        header.appendLittleEndian(CheckpointFormat.version)
        header.appendLittleEndian(UInt32(0))
        header.appendLittleEndian(createdMillis)
        header.appendLittleEndian(CRC32C.checksum(header))
        header.appendLittleEndian(UInt32(0))
        try header.withUnsafeBytes { bytes in try rawAppend(bytes) }
    }

    /// Frees the buffer; the descriptor belongs to the caller.
    func deallocate() { buffer.deallocate() }

    var position: UInt64 { flushedBytes + UInt64(buffered) }

    mutating func beginSection(_ section: ArchiveSection) throws {
        try beginSection(section, flags: 0)
    }

    mutating func beginSection(_ section: ArchiveSection, flags: UInt32) throws {
        try endSection()
        let headerOffset = position
        try [UInt8](repeating: 0, count: CheckpointFormat.sectionHeaderBytes).withUnsafeBytes { bytes in
            try rawAppend(bytes)
        }
        open = (section, flags, headerOffset, CRC32C())
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) throws {
        guard open != nil else { preconditionFailure("bytes appended outside a section") }
        open!.crc.update(bytes)
        try rawAppend(bytes)
    }

    /// Closes the last section, writes the end section and flushes. The caller fsyncs.
    mutating func finish() throws {
        try endSection()
        let endOffset = position
        try beginSection(ArchiveSection(kind: CheckpointFormat.endKind), flags: 0)
        var body = [UInt8]()
        body.appendLittleEndian(sectionCount)
        body.appendLittleEndian(endOffset)
        body.withUnsafeBytes { open!.crc.update($0) }
        try body.withUnsafeBytes { bytes in try rawAppend(bytes) }
        try endSection()
        try flush()
    }

    private mutating func endSection() throws {
        guard let open else { return }
        self.open = nil
        let length = position - open.headerOffset - UInt64(CheckpointFormat.sectionHeaderBytes)
        var header = [UInt8]()
        header.appendLittleEndian(open.section.kind)
        header.appendLittleEndian(open.section.instance)
        header.appendLittleEndian(open.flags)
        header.appendLittleEndian(length)
        header.appendLittleEndian(open.crc.value)
        header.appendLittleEndian(CRC32C.checksum(header))
        sectionCount += 1
        if open.headerOffset >= flushedBytes {
            // Still in the buffer: patch it there.
            let start = Int(open.headerOffset - flushedBytes)
            header.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[start..<start + $0.count]).copyMemory(from: $0) }
        } else {
            try header.withUnsafeBytes { bytes in
                let written = pwrite(descriptor, bytes.baseAddress, bytes.count, off_t(open.headerOffset))
                guard written == bytes.count else { throw ioError("pwrite section header") }
            }
        }
    }

    private mutating func rawAppend(_ bytes: UnsafeRawBufferPointer) throws {
        if buffered + bytes.count > buffer.count { try flush() }
        if bytes.count >= buffer.count {
            try writeFully(bytes)
            flushedBytes += UInt64(bytes.count)
            return
        }
        UnsafeMutableRawBufferPointer(rebasing: buffer[buffered..<buffered + bytes.count]).copyMemory(from: bytes)
        buffered += bytes.count
    }

    private mutating func flush() throws {
        guard buffered > 0 else { return }
        try writeFully(UnsafeRawBufferPointer(rebasing: buffer[0..<buffered]))
        flushedBytes += UInt64(buffered)
        buffered = 0
    }

    private func writeFully(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + done, bytes.count - done)
            if written < 0 {
                if errno == EINTR { continue }
                throw ioError("write")
            }
            done += written
        }
    }

    private func ioError(_ step: String) -> CheckpointError {
        CheckpointError.io(step: step, path: path)
    }
}

extension CheckpointError {
    /// An I/O failure of `step` on `path`, with the current errno.
    static func io(step: String, path: String) -> CheckpointError {
        let code = Glibc.errno
        return CheckpointError(.io, "\(step) \(path): \(String(cString: strerror(code)))", step: step, errno: code)
    }
}

extension [UInt8] {
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}
