/// Rows as raw little-endian bytes: row count, width, element size, then the rows.
extension ChunkedMatrix {
    /// Writes rows `0..<rows` (rows past `capacity` hold `fill`, and are written as such).
    func archive(rows: Int, into sink: inout some ArchiveSink) throws {
        try sink.append(UInt64(rows))
        try sink.append(UInt32(width))
        try sink.append(UInt32(MemoryLayout<Element>.stride))
        var row = 0
        while row < rows {
            let count = min(Self.rowsPerChunk, rows - row)
            if row < capacity {
                try sink.append(UnsafeRawBufferPointer(start: self.row(row), count: count * width * MemoryLayout<Element>.stride))
            } else {
                let filler = [Element](repeating: fill, count: count * width)
                try filler.withUnsafeBytes { try sink.append($0) }
            }
            row += count
        }
    }

    /// Reads what `archive(rows:into:)` wrote; the width and element size must match.
    static func restore(width: Int, fill: Element, from reader: inout ArchiveReader) throws(ArchiveError) -> (Self, rows: Int) {
        let rows = try reader.read(UInt64.self)
        let storedWidth = Int(try reader.read(UInt32.self))
        let stride = Int(try reader.read(UInt32.self))
        guard storedWidth == width, stride == MemoryLayout<Element>.stride else {
            throw reader.malformed("matrix of width \(storedWidth) × \(stride) bytes, expected \(width) × \(MemoryLayout<Element>.stride)")
        }
        let rowBytes = width * stride
        guard rows <= UInt64(reader.remaining / rowBytes) else {
            throw ArchiveError(.truncated, "\(reader.section): \(rows) rows announced, \(reader.remaining) bytes left")
        }
        var matrix = Self(width: width, fill: fill)
        var row = 0
        while row < Int(rows) {
            let count = min(Self.rowsPerChunk, Int(rows) - row)
            matrix.appendChunk(rows: try reader.take(count * rowBytes))
            row += count
        }
        return (matrix, Int(rows))
    }
}
