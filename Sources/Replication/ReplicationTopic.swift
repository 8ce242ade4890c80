/// How versions lie on the model topic (one partition, one learner producing), shared by the
/// learner's publisher and the replicas (docs/OPERATIONS.md, "Read replicas").
///
/// - A version is its chunks, keyed `<version>/<index>`, then its manifest, keyed
///   `<version>/manifest` (JSON, readable with kcat). A manifest that never came (the learner
///   died mid-version) leaves chunks nobody serves.
/// - Every message carries `crossrec.resume`: the offset where a replica that starts now
///   should begin reading — the first chunk of the newest full version complete before this
///   message (on a manifest of a full version: its own first chunk). A replica reads the
///   topic's last message and starts there, instead of reading the topic from its beginning;
///   deltas after that full version follow it on the topic.
public enum ReplicationTopic {
    public static let resumeHeader = "crossrec.resume"
    public static let manifestKeySuffix = "manifest"

    public enum Key: Equatable, Sendable {
        case chunk(version: Int, index: Int)
        case manifest(version: Int)
    }

    public static func manifestKey(version: Int) -> String { "\(version)/\(manifestKeySuffix)" }

    /// Nil for a key this protocol does not write.
    public static func parse(key: [UInt8]) -> Key? {
        let text = String(decoding: key, as: UTF8.self)
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let version = Int(parts[0]), version >= 0 else { return nil }
        if parts[1] == manifestKeySuffix { return .manifest(version: version) }
        guard let index = Int(parts[1]), index >= 0 else { return nil }
        return .chunk(version: version, index: index)
    }
}
