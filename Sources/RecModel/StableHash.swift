/// A 64-bit hash of bytes that is the same on every run and machine (Swift's `Hasher` is
/// seeded per process, so it cannot drive seeded initialization or checkpointed tables).
/// Reads 8 bytes at a time, little-endian; finalized with the murmur3 mixer.
public enum StableHash {
    @inline(__always)
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        var h = seed ^ 0x9E37_79B9_7F4A_7C15 ^ (UInt64(bytes.count) &* 0xFF51_AFD7_ED55_8CCD)
        var index = 0
        let count = bytes.count
        while index + 8 <= count {
            let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            h = mix(h ^ word)
            index += 8
        }
        if index < count {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while index < count {
                tail |= UInt64(bytes[index]) << shift
                shift += 8
                index += 1
            }
            h = mix(h ^ tail)
        }
        return finalize(h)
    }

    @inline(__always)
    public static func hash(_ string: String, seed: UInt64 = 0) -> UInt64 {
        // Native strings lend their bytes in place; `withUTF8` on a copy would retain the
        // string's storage for every hashed id.
        if let hash = string.utf8.withContiguousStorageIfAvailable({ hash(UnsafeRawBufferPointer($0), seed: seed) }) {
            return hash
        }
        var string = string
        return string.withUTF8 { hash(UnsafeRawBufferPointer($0), seed: seed) }
    }

    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        let product = value.multipliedFullWidth(by: 0xA076_1D64_78BD_642F)
        return product.high ^ product.low
    }

    @inline(__always)
    static func finalize(_ value: UInt64) -> UInt64 {
        var x = value
        x ^= x >> 33
        x &*= 0xFF51_AFD7_ED55_8CCD
        x ^= x >> 33
        x &*= 0xC4CE_B9FE_1A85_EC53
        x ^= x >> 33
        return x
    }
}

/// SplitMix64: a tiny deterministic generator for seeded initialization and seeded tests.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [-1, 1), from the top 24 bits (exact in a Float).
    @inline(__always)
    public mutating func nextSignedUnitFloat() -> Float {
        Float(Int32(truncatingIfNeeded: next() >> 40) - (1 << 23)) / Float(1 << 23)
    }
}

/// Initial embedding rows as a pure function of (id, seed): a replay initializes every id the
/// same way, whatever order ids first appear in, so runs are bit-for-bit comparable.
public enum SeededInit {
    /// Fills `row` with values uniform in [-scale·√3, scale·√3) (standard deviation `scale`).
    @inline(__always)
    public static func fill(_ row: UnsafeMutablePointer<Float>, count: Int, idHash: UInt64, seed: UInt64, scale: Float) {
        var generator = SplitMix64(seed: idHash ^ (seed &* 0xD6E8_FEB8_6659_FD93))
        let amplitude = scale * 1.732_050_8
        for index in 0..<count { row[index] = generator.nextSignedUnitFloat() * amplitude }
    }
}
