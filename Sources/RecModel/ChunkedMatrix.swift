/// Rows of `width` elements in fixed-size contiguous chunks: growing never moves existing rows
/// (no pause to copy a big array), and a snapshot shares chunks copy-on-write.
///
/// Isolation: a value type; the single writer owns its copy. A copy (a snapshot) shares every
/// chunk; the writer copies a chunk before its first write to it afterwards
/// (`isKnownUniquelyReferenced`), so a snapshot never changes under a reader.
public struct ChunkedMatrix<Element: BitwiseCopyable>: @unchecked Sendable {
    // @unchecked: chunks are only mutated through `mutableRow`, which first makes the chunk
    // unique to this value; shared chunks are never written.
    /// 256 rows (64 KiB at 64 floats): after a snapshot, each event copies at most one small
    /// chunk per table it writes, and restore still moves large blocks. Measured against 64 and
    /// 4,096 rows with `crossrec-bench checkpoint` (docs/BENCHMARKS.md).
    public static var rowsPerChunkShift: Int { 8 }
    public static var rowsPerChunk: Int { 1 << rowsPerChunkShift }

    final class Chunk {
        let pointer: UnsafeMutablePointer<Element>
        let count: Int

        /// Chunks start on a cache line: rows of an even number of floats then hold doubles
        /// at 8-byte aligned offsets (ItemRecords.swift).
        static func allocate(_ count: Int) -> UnsafeMutablePointer<Element> {
            UnsafeMutableRawPointer.allocate(byteCount: max(1, count * MemoryLayout<Element>.stride), alignment: 64)
                .bindMemory(to: Element.self, capacity: count)
        }

        init(count: Int, fill: Element) {
            self.count = count
            pointer = Self.allocate(count)
            pointer.initialize(repeating: fill, count: count)
        }

        /// The first `source.count` bytes from `source`, the rest `fill` (restore: one write pass).
        init(count: Int, fill: Element, prefix source: UnsafeRawBufferPointer) {
            self.count = count
            pointer = Self.allocate(count)
            let copied = source.count / MemoryLayout<Element>.stride
            UnsafeMutableRawPointer(pointer).copyMemory(from: source.baseAddress!, byteCount: copied * MemoryLayout<Element>.stride)
            (pointer + copied).initialize(repeating: fill, count: count - copied)
        }

        init(copying other: Chunk) {
            count = other.count
            pointer = Self.allocate(count)
            // Raw bytes: Element is BitwiseCopyable, and this is one memcpy even unspecialized.
            UnsafeMutableRawPointer(pointer).copyMemory(from: other.pointer, byteCount: count * MemoryLayout<Element>.stride)
        }

        deinit {
            UnsafeMutableRawPointer(pointer).deallocate()
        }
    }

    public let width: Int
    public let fill: Element
    /// The chunks, and their element addresses in the same order. Why both: a row's address
    /// from `chunks` is two dependent loads (the chunk object, then its pointer field) before
    /// the row itself; from `bases` it is one. Every change to `chunks` goes through
    /// `append(_:)` or `replace(_:at:)`, which keep the two in step.
    private(set) var chunks: [Chunk] = []
    private var bases: [UnsafeMutablePointer<Element>] = []
    /// A private copy being built ahead of a snapshot (ChunkedMatrix+Precopy.swift).
    var precopy: Precopy?

    public init(width: Int, fill: Element) {
        precondition(width > 0)
        self.width = width
        self.fill = fill
    }

    /// Rows addressable without growing.
    public var capacity: Int { chunks.count << Self.rowsPerChunkShift }

    /// Bytes held by the chunks.
    public var byteCount: Int { chunks.count * Self.rowsPerChunk * width * MemoryLayout<Element>.stride }

    /// Appends a chunk whose first rows are the raw bytes of `rows` (a whole number of rows, at
    /// most a chunk's worth).
    mutating func appendChunk(rows source: UnsafeRawBufferPointer) {
        precondition(source.count <= Self.rowsPerChunk * width * MemoryLayout<Element>.stride && source.count > 0)
        append(Chunk(count: Self.rowsPerChunk * width, fill: fill, prefix: source))
    }

    /// Makes rows `0..<rows` addressable (new rows hold `fill`).
    public mutating func reserve(rows: Int) {
        while capacity < rows { append(Chunk(count: Self.rowsPerChunk * width, fill: fill)) }
    }

    private mutating func append(_ chunk: Chunk) {
        chunks.append(chunk)
        bases.append(chunk.pointer)
    }

    private mutating func replace(_ chunk: Chunk, at index: Int) {
        chunks[index] = chunk
        bases[index] = chunk.pointer
    }

    /// A matrix of the same shape made of `chunks` (a finished pre-copy).
    init(width: Int, fill: Element, chunks: [Chunk]) {
        self.init(width: width, fill: fill)
        self.chunks = chunks
        bases = chunks.map(\.pointer)
    }

    @inline(__always)
    public func row(_ index: Int) -> UnsafePointer<Element> {
        UnsafePointer(bases[index >> Self.rowsPerChunkShift] + (index & (Self.rowsPerChunk - 1)) * width)
    }

    /// A writable row; copies its chunk first if a snapshot shares it.
    @inline(__always)
    public mutating func mutableRow(_ index: Int) -> UnsafeMutablePointer<Element> {
        let chunkIndex = index >> Self.rowsPerChunkShift
        if precopy != nil { notePrecopyWrite(row: index) }
        if !isKnownUniquelyReferenced(&chunks[chunkIndex]) { replace(Chunk(copying: chunks[chunkIndex]), at: chunkIndex) }
        return bases[chunkIndex] + (index & (Self.rowsPerChunk - 1)) * width
    }

    @inline(__always)
    public subscript(row: Int, column: Int) -> Element {
        get { self.row(row)[column] }
        set { mutableRow(row)[column] = newValue }
    }

    /// Raw chunk bytes in order (whole chunks, rows past the highest used one included).
    public func forEachChunk(_ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        for chunk in chunks {
            try body(UnsafeRawBufferPointer(start: chunk.pointer, count: chunk.count * MemoryLayout<Element>.stride))
        }
    }
}
