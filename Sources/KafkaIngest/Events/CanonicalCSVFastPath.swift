import JSONScanning
/// The common CSV record: `user,item,rating[,ts[,…]]` with no quotes, no surrounding spaces and
/// ASCII ids. Anything else returns nil and takes the general scanner, so this changes speed,
/// never results.
struct CanonicalCSVFastPath {
    let base: UnsafePointer<UInt8>
    let end: Int

    @inline(__always)
    func parse(_ parser: EventParser) -> ParseOutcome? {
        var limit = end
        while limit > 0, base[limit - 1] == 10 || base[limit - 1] == 13 { limit -= 1 }
        // Field boundaries: the first four commas. Eight bytes per step: quotes, control bytes
        // (< 0x20, tabs and newlines included) and non-ASCII bytes (high bit) send the record to
        // the general scanner. `zeroBytes` is the exact test (no carry between bytes), so every
        // flagged byte is a comma and needs no second look.
        var commas = (0, 0, 0, 0)
        var found = 0
        var index = 0
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let lows: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        @inline(__always) func zeroBytes(_ y: UInt64) -> UInt64 { ~(((y & lows) &+ lows) | y | lows) }
        func record(_ position: Int) {
            switch found {
            case 0: commas.0 = position
            case 1: commas.1 = position
            case 2: commas.2 = position
            default: commas.3 = position
            }
            found += 1
        }
        scan: while limit - index >= 8 {
            let x = UInt64(littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
            let control = (x &- ones &* 0x20) & ~x
            if (zeroBytes(x ^ (ones &* 0x22)) | control | x) & highs != 0 { return nil }
            var commaBits = zeroBytes(x ^ (ones &* 0x2C))
            while commaBits != 0 {
                record(index + commaBits.trailingZeroBitCount / 8)
                if found == 4 { break scan }
                commaBits &= commaBits - 1
            }
            index += 8
        }
        while found < 4, index < limit {
            let byte = base[index]
            if byte == UInt8(ascii: ",") {
                record(index)
            } else if byte == UInt8(ascii: "\"") || byte >= 0x80 || byte < 0x20 {
                return nil
            }
            index += 1
        }
        guard found >= 2 else { return nil }
        let ratingEnd = found == 2 ? limit : commas.2
        let timeEnd = found == 3 ? limit : commas.3
        // The number fields need no `plain` check: a space or an empty field fails `parseNumber`
        // or the end-of-field comparison.
        guard plain(0, commas.0), plain(commas.0 + 1, commas.1),
            let (rating, afterRating) = parsePlainNumber(base, commas.1 + 1, ratingEnd)
                ?? parseNumber(base, commas.1 + 1, ratingEnd, allowPlus: true), afterRating == ratingEnd
        else { return nil }
        var timestamp: Double?
        if found >= 3, timeEnd > commas.2 + 1 {
            guard let (value, afterTime) = parsePlainNumber(base, commas.2 + 1, timeEnd)
                ?? parseNumber(base, commas.2 + 1, timeEnd, allowPlus: true), afterTime == timeEnd
            else { return nil }
            timestamp = value
        }
        let userCount = commas.0
        let itemCount = commas.1 - commas.0 - 1
        guard userCount <= EventParser.maxIDBytes, itemCount <= EventParser.maxIDBytes else { return nil }
        // All bytes were checked ASCII above, so the ids need no further validation.
        let user = asciiString(UnsafeBufferPointer(start: base, count: userCount))
        let item = asciiString(UnsafeBufferPointer(start: base + commas.0 + 1, count: itemCount))
        return parser.finish(user: user, item: item, rating: rating, timestamp: timestamp)
    }

    /// Non-empty, without leading or trailing spaces (those take the general path; tabs never
    /// get here, the scan sends control bytes there).
    @inline(__always)
    private func plain(_ start: Int, _ stop: Int) -> Bool {
        guard stop > start else { return false }
        return base[start] != 32 && base[stop - 1] != 32
    }
}
