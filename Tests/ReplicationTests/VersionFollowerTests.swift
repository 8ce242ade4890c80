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
    static func messages(_ payload: [UInt8], version: Int, delta: DeltaDescription? = nil) -> [(key: [UInt8], value: [UInt8])] {
        var (manifest, chunks) = ModelChunks.split(payload, version: version, chunkBytes: 1_000, publishedUnixMillis: 5)
        manifest.delta = delta
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

    @Test func aDeltaOfTheChangedBlocksRebuildsTheNewVersion() throws {
        let base = Self.model(1)
        var next = base
        next[10] ^= 0xFF  // block 0
        next[4_999] ^= 0x01  // the last block
        next += [1, 2, 3]  // grows
        let (description, payload) = ModelDelta.make(from: base, version: 1, to: next, blockBytes: 1_024)
        #expect(description.runs == [[0, 1], [4, 1]])
        #expect(payload.count == 1_024 + (5_003 - 4 * 1_024))
        #expect(try ModelDelta.apply(payload, description, to: base, version: 2) == next)
        // Shrinking, and nothing changed.
        let shorter = Array(base.prefix(3_000))
        let cut = ModelDelta.make(from: base, version: 1, to: shorter, blockBytes: 1_024)
        #expect(cut.payload.isEmpty && cut.description.runs.isEmpty)
        #expect(try ModelDelta.apply(cut.payload, cut.description, to: base, version: 2) == shorter)
        // The wrong base fails the whole checksum.
        #expect(throws: ModelDelta.Problem.corruptResult(version: 2)) {
            try ModelDelta.apply(payload, description, to: Self.model(9), version: 2)
        }
        #expect(throws: ModelDelta.Problem.self) { try ModelDelta.apply(payload + [0], description, to: base, version: 2) }
    }

    @Test func fullVersionsAndDeltasComeOutWholeInTopicOrder() throws {
        var follower = VersionFollower()
        var offset: Int64 = 0
        let first = Self.model(1)
        let outcomes = Self.feed(&follower, Self.messages(first, version: 1), from: &offset)
        #expect(outcomes.dropLast().allSatisfy { if case .pending = $0 { true } else { false } })
        guard case .completed(let one) = outcomes.last else { Issue.record("not completed: \(outcomes)"); return }
        #expect(one.bytes == first && one.version == 1 && one.manifestOffset == offset - 1)
        var second = first
        second[2_100] = 0
        let delta = ModelDelta.make(from: first, version: 1, to: second, blockBytes: 1_024)
        let last = Self.feed(&follower, Self.messages(delta.payload, version: 2, delta: delta.description), from: &offset).last
        guard case .completed(let two) = last else { Issue.record("delta not completed: \(String(describing: last))"); return }
        #expect(two.bytes == second && follower.current?.version == 2)
        // A producer's retried chunk of a finished version starts nothing.
        guard case .ignored = follower.receive(offset: offset, key: Array("2/0".utf8), value: delta.payload) else {
            Issue.record("a finished version's chunk was taken")
            return
        }
    }

    @Test func aDeltaWithoutItsBaseAndACorruptChunkAreRefusedAndTheNextVersionStillComes() throws {
        var follower = VersionFollower()
        var offset: Int64 = 0
        let first = Self.model(1)
        let delta = ModelDelta.make(from: first, version: 1, to: Self.model(2), blockBytes: 1_024)
        // Started after version 1: its delta cannot be applied.
        let missing = Self.feed(&follower, Self.messages(delta.payload, version: 2, delta: delta.description), from: &offset).last
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
