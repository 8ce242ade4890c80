#if _endian(big)
#error("checkpoint archives are little-endian and copied as raw memory: big-endian hosts are not supported")
#endif

/// A typed section of a model archive: `kind` says what the bytes hold, `instance` which domain
/// (0 for sections that are not per domain).
public struct ArchiveSection: Hashable, Sendable, CustomStringConvertible {
    public var kind: UInt16
    public var instance: UInt16

    public init(kind: UInt16, instance: UInt16 = 0) {
        self.kind = kind
        self.instance = instance
    }

    public var description: String {
        let name = Self.names[kind] ?? "kind-\(kind)"
        return Self.perDomainKinds.contains(kind) ? "\(name)[\(instance)]" : name
    }

    // Section kinds the learner writes (docs/CHECKPOINTS.md has the byte layout of each).
    public static let configuration: UInt16 = 0x10
    public static let counters: UInt16 = 0x11
    public static let tombstones: UInt16 = 0x12
    public static let userIndex: UInt16 = 0x13
    public static let userParameters: UInt16 = 0x14
    public static let userOptimizer: UInt16 = 0x15
    /// Optional: archives written before it restore without twins (UserTwins.swift).
    public static let userTwins: UInt16 = 0x16
    public static let itemIndex: UInt16 = 0x20
    public static let itemParameters: UInt16 = 0x21
    public static let userDomainParameters: UInt16 = 0x22
    public static let popularity: UInt16 = 0x23
    public static let seen: UInt16 = 0x24
    public static let metrics: UInt16 = 0x25
    /// Optional: archives written before it restore with an empty ring.
    public static let recentRatings: UInt16 = 0x26
    /// Optional: archives written before it restore the ranking head at its seeded start.
    public static let rankingHead: UInt16 = 0x27

    public static let learnerKinds: Set<UInt16> = [
        configuration, counters, tombstones, userIndex, userParameters, userOptimizer, userTwins,
        itemIndex, itemParameters, userDomainParameters, popularity, seen, metrics, recentRatings, rankingHead,
    ]
    static let perDomainKinds: Set<UInt16> = [
        itemIndex, itemParameters, userDomainParameters, popularity, seen, metrics, recentRatings, rankingHead,
    ]

    /// Names for inspection tools; other modules add their own kinds to the file.
    public static let names: [UInt16: String] = [
        configuration: "config-fingerprint", counters: "counters", tombstones: "tombstones",
        userIndex: "user-index", userParameters: "user-parameters", userOptimizer: "user-optimizer", userTwins: "user-twins",
        itemIndex: "item-index", itemParameters: "item-parameters", userDomainParameters: "user-domain-parameters",
        popularity: "popularity", seen: "seen", metrics: "metrics", recentRatings: "recent-ratings",
        rankingHead: "ranking-head",
    ]
}

/// Why an archive could not be read back.
public struct ArchiveError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        /// A section ended before its fields did.
        case truncated
        /// A field holds an impossible value.
        case malformed
        /// A section the model needs is absent.
        case missingSection
        /// The archive was written under a configuration this one cannot load (dimension, domains).
        case incompatible
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// Where a model writes its persistent state: a sequence of typed sections of little-endian
/// bytes. The checkpoint writer frames, checksums and stores them; the model does no I/O.
public protocol ArchiveSink {
    /// Starts a section: bytes appended from now until the next `beginSection` belong to it.
    mutating func beginSection(_ section: ArchiveSection) throws
    mutating func append(_ bytes: UnsafeRawBufferPointer) throws
}

extension ArchiveSink {
    public mutating func append<T: FixedWidthInteger>(_ value: T) throws {
        try withUnsafeBytes(of: value.littleEndian) { try append($0) }
    }

    public mutating func append(_ value: Double) throws { try append(value.bitPattern) }

    /// One byte, 0 or 1 (`ArchiveReader.readBool` refuses anything else).
    public mutating func append(_ value: Bool) throws { try append(UInt8(value ? 1 : 0)) }

    /// A UTF-8 string: 32-bit length, bytes.
    public mutating func append(_ string: String) throws {
        var string = string
        try string.withUTF8 { utf8 in
            try append(UInt32(utf8.count))
            try append(UnsafeRawBufferPointer(utf8))
        }
    }

    /// 64-bit count, then the elements' raw bytes.
    public mutating func append<T: BitwiseCopyable>(array: [T]) throws {
        try append(UInt64(array.count))
        try array.withUnsafeBytes { try append($0) }
    }
}
