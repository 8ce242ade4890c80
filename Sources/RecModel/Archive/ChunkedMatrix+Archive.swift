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

extension ChunkedMatrix where Element == Float {
    /// Columns `offset..<offset + width·stride/4` (in floats) of rows `0..<rows`, as a matrix of
    /// `width` elements of `T` a row, in `archive(rows:into:)`'s layout (rows past the capacity
    /// are zeros): how record tables (ItemRecords, UserRecords) store each field.
    func archiveColumns<T: BitwiseCopyable>(
        rows: Int, offset: Int, width: Int, as _: T.Type, into sink: inout some ArchiveSink
    ) throws {
        try sink.append(UInt64(rows))
        try sink.append(UInt32(width))
        try sink.append(UInt32(MemoryLayout<T>.stride))
        let rowBytes = width * MemoryLayout<T>.stride
        let rowsPerChunk = Self.rowsPerChunk
        var buffer = [UInt8](repeating: 0, count: rowsPerChunk * rowBytes)
        var row = 0
        while row < rows {
            let count = min(rowsPerChunk, rows - row)
            try buffer.withUnsafeMutableBytes { bytes in
                for index in 0..<count {
                    let target = bytes.baseAddress! + index * rowBytes
                    if row + index < capacity {
                        target.copyMemory(from: self.row(row + index) + offset, byteCount: rowBytes)
                    } else {
                        target.initializeMemory(as: UInt8.self, repeating: 0, count: rowBytes)
                    }
                }
                try sink.append(UnsafeRawBufferPointer(rebasing: bytes[0..<count * rowBytes]))
            }
            row += count
        }
    }
}
