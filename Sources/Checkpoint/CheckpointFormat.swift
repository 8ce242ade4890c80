import RecModel

/// Constants of the checkpoint file format (docs/CHECKPOINTS.md). All integers little-endian.
///
/// File: header, then sections, then the end section.
/// Header (32 bytes): magic, format version u32, flags u32 (0), creation time i64 (Unix ms),
/// CRC32C of the 24 bytes before it u32, reserved u32 (0).
/// Section header (24 bytes): kind u16, instance u16, flags u32, body length u64, CRC32C of the
/// body u32, CRC32C of the 20 header bytes before it u32; then the body.
/// End section: kind 0xFFFF, body = number of sections before it u64, file offset of its own
/// header u64: a file that stops anywhere before its last byte is detected.
public enum CheckpointFormat {
    public static let magic: [UInt8] = Array("CRXRCKPT".utf8)
    /// The version this build writes, and the newest it reads. 2 added the recent-ratings
    /// sections (0x26), 3 the user twins (0x16), 4 the ranking head (0x27); older files
    /// restore with those rings empty, without twins and with the ranking head at its seeded
    /// start.
    public static let version: UInt32 = 4
    static let headerBytes = 32
    static let sectionHeaderBytes = 24

    /// Section flag: readers that do not know the kind skip the section instead of refusing
    /// the file (the metadata section is one).
    public static let optionalFlag: UInt32 = 1

    // Section kinds of the checkpoint itself; the learner's are in `ArchiveSection`.
    public static let metadataKind: UInt16 = 0x01
    public static let offsetsKind: UInt16 = 0x02
    public static let endKind: UInt16 = 0xFFFF

    /// Every kind this build understands.
    static let knownKinds: Set<UInt16> = ArchiveSection.learnerKinds.union([metadataKind, offsetsKind])

    /// A section's name for inspection output.
    public static func name(of section: ArchiveSection) -> String {
        switch section.kind {
        case metadataKind: "metadata"
        case offsetsKind: "kafka-offsets"
        case endKind: "end"
        default: section.description
        }
    }
}

/// A Kafka position stored in a checkpoint: the next offset to apply in a topic-partition.
public struct StoredOffset: Sendable, Hashable, Comparable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64

    public init(topic: String, partition: Int32, offset: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }

    public static func < (lhs: StoredOffset, rhs: StoredOffset) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }
}
