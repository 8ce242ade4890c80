/// An in-memory archive: each section's bytes. Used to compare two models bit for bit and to
/// restore without a file.
public struct ArchiveBuffer: ArchiveSink, Sendable {
    public private(set) var order: [ArchiveSection] = []
    public private(set) var sections: [ArchiveSection: [UInt8]] = [:]
    private var current: ArchiveSection?

    public init() {}

    public mutating func beginSection(_ section: ArchiveSection) {
        precondition(sections[section] == nil, "section \(section) written twice")
        order.append(section)
        sections[section] = []
        current = section
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let current else { preconditionFailure("bytes appended outside a section") }
        sections[current]!.append(contentsOf: bytes)
    }

    /// Calls `body` with every section's bytes, borrowed from one temporary copy.
    public func withSections<T>(_ body: ([ArchiveSection: UnsafeRawBufferPointer]) throws -> T) rethrows -> T {
        let total = sections.values.reduce(0) { $0 + $1.count }
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(total, 1), alignment: 16)
        defer { storage.deallocate() }
        var map: [ArchiveSection: UnsafeRawBufferPointer] = [:]
        var offset = 0
        for (section, bytes) in sections {
            let target = UnsafeMutableRawBufferPointer(rebasing: storage[offset..<offset + bytes.count])
            bytes.withUnsafeBytes { target.copyMemory(from: $0) }
            map[section] = UnsafeRawBufferPointer(target)
            offset += bytes.count
        }
        return try body(map)
    }
}

extension Learner {
    /// The learner's archive in memory: equal archives ⇔ bit-identical learners.
    public func archived() throws -> ArchiveBuffer {
        var buffer = ArchiveBuffer()
        try archive(into: &buffer)
        return buffer
    }
}
