import Replication
import Testing

@Suite("A replica's reading of the model topic")
struct VersionFollowerTests {
    static func model(_ seed: UInt64, count: Int = 5_000) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    /// The messages of one version as the publisher writes them: chunks, then the manifest.
    static func messages(_ payload: [UInt8], version: Int, patch: PatchDescription? = nil) -> [(key: [UInt8], value: [UInt8])] {
        var (manifest, chunks) = ModelChunks.split(payload, version: version, chunkBytes: 1_000, publishedUnixMillis: 5)
        manifest.patch = patch
        return chunks.map { (Array($0.key.utf8), $0.bytes) } + [(Array(ReplicationTopic.manifestKey(version: version).utf8), manifest.encoded())]
    }

    static func feed(_ follower: inout VersionFollower, _ messages: [(key: [UInt8], value: [UInt8])], from offset: inout Int64)
        -> [VersionFollower.Outcome]
    {
        messages.map { message in
            defer { offset += 1 }
            let outcome = follower.receive(offset: offset, key: message.key, value: message.value)
            if case .completed(let completed) = outcome { follower.accepted(completed) }
            return outcome
        }
    }

    /// A patch comes out as its bytes and manifest, for the caller to apply to the version it
    /// serves (ServingModel+Patch.swift; ReplicaTests check the applied versions).
    @Test func fullVersionsAndPatchesComeOutWholeInTopicOrder() throws {
        var follower = VersionFollower()
        var offset: Int64 = 0
        let first = Self.model(1)
        let outcomes = Self.feed(&follower, Self.messages(first, version: 1), from: &offset)
        #expect(outcomes.dropLast().allSatisfy { if case .pending = $0 { true } else { false } })
        guard case .completed(let one) = outcomes.last else { Issue.record("not completed: \(outcomes)"); return }
        #expect(one.bytes == first && one.version == 1 && one.manifestOffset == offset - 1)
        let patch = Self.model(2, count: 2_100)
        let description = PatchDescription(base: 1, modelBytes: 5_000, modelChecksum: 7)
        let last = Self.feed(&follower, Self.messages(patch, version: 2, patch: description), from: &offset).last
        guard case .completed(let two) = last else { Issue.record("patch not completed: \(String(describing: last))"); return }
        #expect(two.bytes == patch && two.manifest.patch == description && follower.current == 2)
        // A producer's retried chunk of a finished version starts nothing.
        guard case .ignored = follower.receive(offset: offset, key: Array("2/0".utf8), value: patch) else {
            Issue.record("a finished version's chunk was taken")
            return
        }
    }

    @Test func aPatchWithoutItsBaseAndACorruptChunkAreRefusedAndTheNextVersionStillComes() throws {
        var follower = VersionFollower()
        var offset: Int64 = 0
        // Started after version 1: its patch cannot be applied.
        let description = PatchDescription(base: 1, modelBytes: 5_000, modelChecksum: 7)
        let missing = Self.feed(&follower, Self.messages(Self.model(2, count: 900), version: 2, patch: description), from: &offset).last
        guard case .rejected(2, let reason) = missing else { Issue.record("\(String(describing: missing))"); return }
        #expect(reason.contains("holds none"))
        var corrupt = Self.messages(Self.model(3), version: 3)
        corrupt[1].value[0] ^= 1
        let outcomes = Self.feed(&follower, corrupt, from: &offset)
        #expect(outcomes.contains { if case .rejected(3, _) = $0 { true } else { false } })
        #expect(follower.current == nil)
        guard case .ignored = follower.receive(offset: offset, key: Array("hello".utf8), value: []) else {
            Issue.record("a foreign key was taken")
            return
        }
        let fine = Self.feed(&follower, Self.messages(Self.model(4), version: 4), from: &offset).last
        guard case .completed(let four) = fine else { Issue.record("\(String(describing: fine))"); return }
        #expect(four.bytes == Self.model(4))
    }

    @Test func aVersionLeftUnfinishedGivesWayToNewerOnes() throws {
        var follower = VersionFollower()
        var offset: Int64 = 0
        // The learner died after two chunks of version 5.
        _ = Self.feed(&follower, Array(Self.messages(Self.model(5), version: 5).prefix(2)), from: &offset)
        _ = Self.feed(&follower, Array(Self.messages(Self.model(6), version: 6).prefix(1)), from: &offset)
        _ = Self.feed(&follower, Array(Self.messages(Self.model(7), version: 7).prefix(1)), from: &offset)
        #expect(follower.inProgress == [6, 7], "at most \(VersionFollower.maxAssemblies) versions held")
    }

    @Test func keysParse() {
        #expect(ReplicationTopic.parse(key: Array("12/3".utf8)) == .chunk(version: 12, index: 3))
        #expect(ReplicationTopic.parse(key: Array("12/manifest".utf8)) == .manifest(version: 12))
        for bad in ["12", "12/", "/3", "a/3", "12/-1", "12/3/4", ""] { #expect(ReplicationTopic.parse(key: Array(bad.utf8)) == nil, "\(bad)") }
    }
}
