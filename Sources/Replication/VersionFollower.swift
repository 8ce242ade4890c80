/// A replica's reading of the model topic, one message at a time in offset order: chunks and
/// manifests go to the assembly of their version; a version whose chunks all check out comes
/// out whole — the model's encoding, or a patch of the version served (refused at once when
/// the replica serves another). No I/O and no decoding: the caller decodes or applies what
/// comes out and, when that succeeds, calls `accepted` so that the next patch has its base.
///
/// Order: the topic has one partition and one learner, so a version completed later is
/// newer, whatever its number (a learner restarted without reading the topic numbers from 1).
public struct VersionFollower: Sendable {
    public struct Completed: Sendable {
        public var version: Int
        /// The encoding, or the patch when `manifest.patch` is set.
        public var bytes: [UInt8]
        public var manifest: VersionManifest
        public var manifestOffset: Int64
    }

    public enum Outcome: Sendable {
        /// Taken; nothing complete yet.
        case pending
        case completed(Completed)
        /// The version will never be served (bad chunk, lying manifest, missing base).
        case rejected(version: Int, reason: String)
        /// Not a message of this protocol, or a repeat of a version already done.
        case ignored(reason: String)
    }

    /// Versions assembled at once: a learner's in-progress version and one left unfinished.
    public static let maxAssemblies = 2

    /// The version served (the base of the next patch).
    public private(set) var current: Int?
    /// The newest manifest read (served or not): a replica's lag.
    public private(set) var newestManifest: VersionManifest?
    private var assemblies: [ModelAssembly] = []
    /// Versions finished (served or refused) lately: a producer's retried chunk of one of them
    /// must not start a new assembly.
    private var finished: [Int] = []

    public init() {}

    /// Versions with chunks or a manifest held, in arrival order.
    public var inProgress: [Int] { assemblies.map(\.version) }

    public mutating func receive(offset: Int64, key: [UInt8], value: [UInt8]) -> Outcome {
        guard let parsed = ReplicationTopic.parse(key: key) else {
            return .ignored(reason: "key \(String(decoding: key.prefix(64), as: UTF8.self)) is not a chunk or a manifest")
        }
        let version: Int
        switch parsed {
        case .chunk(let v, _), .manifest(let v): version = v
        }
        guard !finished.contains(version) else { return .ignored(reason: "version \(version) already done") }
        var assembly = takeAssembly(version)
        do throws(ModelAssembly.Problem) {
            switch parsed {
            case .chunk(_, let index):
                try assembly.add(ModelChunk(version: version, index: index, bytes: value))
            case .manifest:
                guard let manifest = try? VersionManifest.decoded(value), manifest.version == version else {
                    finish(version)
                    return .rejected(version: version, reason: "manifest at offset \(offset) is not valid JSON for version \(version)")
                }
                if (newestManifest.map { $0.version != manifest.version }) ?? true { newestManifest = manifest }
                try assembly.add(manifest: manifest)
            }
            guard let payload = try assembly.assembled(), let manifest = assembly.manifest else {
                keep(assembly)
                return .pending
            }
            finish(version)
            if let patch = manifest.patch, patch.base != current {
                return .rejected(
                    version: version, reason: "a patch of version \(patch.base), but this replica holds \(current.map(String.init) ?? "none")")
            }
            return .completed(Completed(version: version, bytes: payload, manifest: manifest, manifestOffset: offset))
        } catch {
            finish(version)
            return .rejected(version: version, reason: "\(error)")
        }
    }

    /// The caller decoded a completed version and serves it now.
    public mutating func accepted(_ completed: Completed) {
        current = completed.version
    }

    private mutating func takeAssembly(_ version: Int) -> ModelAssembly {
        guard let index = assemblies.firstIndex(where: { $0.version == version }) else { return ModelAssembly(version: version) }
        return assemblies.remove(at: index)
    }

    private mutating func keep(_ assembly: ModelAssembly) {
        assemblies.append(assembly)
        // The oldest unfinished version gives way: its learner moved on without finishing it.
        if assemblies.count > Self.maxAssemblies { assemblies.removeFirst() }
    }

    private mutating func finish(_ version: Int) {
        finished.append(version)
        if finished.count > 16 { finished.removeFirst() }
    }
}
