import JSONScanning
/// Scans `user,item,rating[,ts]` with RFC 4180 quotes; spaces around unquoted fields are trimmed.
struct CSVEventScanner {
    let base: UnsafePointer<UInt8>
    let end: Int

    func scan() -> Fields {
        var fields = Fields()
        var start = 0
        var column = 0
        var limit = end
        // One message is one record: a trailing line break is not part of it.
        while limit > 0, base[limit - 1] == 10 || base[limit - 1] == 13 { limit -= 1 }
        while column < 4 {
            guard let (field, next) = nextField(from: start, limit: limit) else {
                fields.failure = .malformed
                return fields
            }
            switch column {
            case 0, 1:
                let id = field.withBuffer { makeID($0) }
                switch id {
                case .success(let value): if column == 0 { fields.user = value } else { fields.item = value }
                case .failure(let reason): fields.failure = reason
                }
            case 2:
                fields.rating = number(field)
                if fields.rating == nil { fields.failure = nonNumberReason(field) }
            default:
                if !field.isEmpty {
                    fields.timestamp = number(field)
                    if fields.timestamp == nil { fields.failure = .wrongType }
                }
            }
            if fields.failure != nil { return fields }
            column += 1
            if next >= limit { break }
            start = next + 1
        }
        return fields
    }

    /// A field's bytes: a slice of the payload, or an unescaped copy when it held `""`.
    enum Field {
        case slice(UnsafePointer<UInt8>, Int)
        case copy([UInt8])

        var isEmpty: Bool {
            switch self {
            case .slice(_, let count): count == 0
            case .copy(let bytes): bytes.isEmpty
            }
        }

        func withBuffer<T>(_ body: (UnsafeBufferPointer<UInt8>) -> T) -> T {
            switch self {
            case .slice(let pointer, let count): body(UnsafeBufferPointer(start: pointer, count: count))
            case .copy(let bytes): bytes.withUnsafeBufferPointer(body)
            }
        }
    }

    /// Returns the field starting at `start` and the index of the comma (or `limit`) ending it.
    private func nextField(from start: Int, limit: Int) -> (Field, Int)? {
        var i = start
        while i < limit, base[i] == 32 || base[i] == 9 { i += 1 }
        if i < limit, base[i] == UInt8(ascii: "\"") {
            var bytes: [UInt8] = []
            i += 1
            while true {
                guard i < limit else { return nil }  // unterminated quote
                if base[i] == UInt8(ascii: "\"") {
                    if i + 1 < limit, base[i + 1] == UInt8(ascii: "\"") {
                        bytes.append(UInt8(ascii: "\""))
                        i += 2
                        continue
                    }
                    i += 1
                    break
                }
                bytes.append(base[i])
                i += 1
            }
            while i < limit, base[i] == 32 || base[i] == 9 { i += 1 }
            guard i >= limit || base[i] == UInt8(ascii: ",") else { return nil }
            return (.copy(bytes), i)
        }
        let fieldStart = i
        while i < limit, base[i] != UInt8(ascii: ",") {
            if base[i] == UInt8(ascii: "\"") { return nil }  // quote inside an unquoted field
            i += 1
        }
        var fieldEnd = i
        while fieldEnd > fieldStart, base[fieldEnd - 1] == 32 || base[fieldEnd - 1] == 9 { fieldEnd -= 1 }
        return (.slice(base + fieldStart, fieldEnd - fieldStart), i)
    }

    private func number(_ field: Field) -> Double? {
        field.withBuffer { buffer in
            guard let pointer = buffer.baseAddress, !buffer.isEmpty,
                let (value, next) = parseNumber(pointer, 0, buffer.count, allowPlus: true), next == buffer.count
            else { return nil }
            return value
        }
    }

    /// `nan`/`inf`/`infinity` (any case, any sign) are numbers, just not finite ones.
    private func nonNumberReason(_ field: Field) -> RejectReason {
        let text = field.withBuffer { String(decoding: $0, as: UTF8.self) }.lowercased()
        let unsigned = text.hasPrefix("-") || text.hasPrefix("+") ? String(text.dropFirst()) : text
        return ["nan", "inf", "infinity"].contains(unsigned) ? .nonFiniteRating : .wrongType
    }
}
