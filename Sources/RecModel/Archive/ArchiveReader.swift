/// Reads the fields of one archive section, bounds-checked: a short or malformed section throws,
/// never traps.
public struct ArchiveReader {
    public let section: ArchiveSection
    private let bytes: UnsafeRawBufferPointer
    private var position = 0

    public init(_ bytes: UnsafeRawBufferPointer, section: ArchiveSection) {
        self.bytes = bytes
        self.section = section
    }

    public var remaining: Int { bytes.count - position }

    public mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) throws(ArchiveError) -> T {
        let raw = try take(MemoryLayout<T>.size)
        return T(littleEndian: raw.loadUnaligned(as: T.self))
    }

    /// A count or size stored as u64: a value beyond Int's range (only a damaged or crafted
    /// archive holds one) throws where `Int(_:)` would trap.
    public mutating func readInt() throws(ArchiveError) -> Int {
        let value = try read(UInt64.self)
        guard let int = Int(exactly: value) else { throw malformed("\(value) is out of range") }
        return int
    }

    public mutating func readDouble() throws(ArchiveError) -> Double { Double(bitPattern: try read(UInt64.self)) }

    public mutating func readBool() throws(ArchiveError) -> Bool {
        switch try read(UInt8.self) {
        case 0: return false
        case 1: return true
        case let other: throw malformed("boolean field holds \(other)")
        }
    }

    /// A count of elements of `stride` bytes that the rest of the section can hold.
    public mutating func readCount(elementBytes stride: Int) throws(ArchiveError) -> Int {
        let count = try read(UInt64.self)
        guard count <= UInt64(remaining / max(1, stride)) else {
            throw ArchiveError(.truncated, "\(section): \(count) elements of \(stride) bytes announced, \(remaining) bytes left")
        }
        return Int(count)
    }

    public mutating func readString() throws(ArchiveError) -> String {
        let count = Int(try read(UInt32.self))
        return String(decoding: try take(count), as: UTF8.self)
    }

    public mutating func readArray<T: BitwiseCopyable>(of _: T.Type) throws(ArchiveError) -> [T] {
        let count = try readCount(elementBytes: MemoryLayout<T>.stride)
        let raw = try take(count * MemoryLayout<T>.stride)
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: raw)
            initialized = count
        }
    }

    /// The next `count` bytes, borrowed from the section (valid as long as its storage is).
    public mutating func take(_ count: Int) throws(ArchiveError) -> UnsafeRawBufferPointer {
        guard count >= 0, count <= remaining else {
            throw ArchiveError(.truncated, "\(section): \(count) bytes needed at offset \(position), \(remaining) left")
        }
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<position + count])
    }

    /// Throws unless every byte of the section was consumed.
    public func expectEnd() throws(ArchiveError) {
        guard remaining == 0 else { throw malformed("\(remaining) unexpected trailing bytes") }
    }

    public func malformed(_ message: String) -> ArchiveError {
        ArchiveError(.malformed, "\(section): \(message)")
    }
}
