import Replication
import Testing

@Suite("Model versions as chunks")
struct ModelChunksTests {
    /// 2.5 chunks of pseudo-random bytes.
    static let model: [UInt8] = {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<2_500).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }()

    @Test func chunksBelowTheLimitAssembleInAnyOrderWithRepeats() throws {
        let (manifest, chunks) = ModelChunks.split(Self.model, version: 3, chunkBytes: 1_000, publishedUnixMillis: 1)
        #expect(chunks.map(\.bytes.count) == [1_000, 1_000, 500])
        #expect(manifest.chunkCount == 3 && manifest.bytes == 2_500)
        #expect(chunks.map(\.key) == ["3/0", "3/1", "3/2"])
        #expect(try VersionManifest.decoded(manifest.encoded()) == manifest)
        var assembly = ModelAssembly(version: 3)
        try assembly.add(chunks[2])
        try assembly.add(ModelChunk(version: 2, index: 0, bytes: [1, 2, 3]))  // another version: ignored
        #expect(try assembly.assembled() == nil, "no manifest yet")
        try assembly.add(manifest: manifest)
        try assembly.add(chunks[0])
        #expect(try assembly.assembled() == nil, "a chunk missing")
        try assembly.add(chunks[0])  // a producer's retry
        try assembly.add(chunks[1])
        #expect(try assembly.assembled() == Self.model)
    }

    @Test func anEmptyModelIsOneEmptyChunk() throws {
        let (manifest, chunks) = ModelChunks.split([], version: 1, publishedUnixMillis: 0)
        #expect(chunks.count == 1 && chunks[0].bytes.isEmpty)
        var assembly = ModelAssembly(version: 1)
        try assembly.add(manifest: manifest)
        try assembly.add(chunks[0])
        #expect(try assembly.assembled() == [])
    }

    @Test func corruptOrForeignChunksAreRefusedBeforeOrAfterTheManifest() throws {
        let (manifest, chunks) = ModelChunks.split(Self.model, version: 5, chunkBytes: 1_000, publishedUnixMillis: 1)
        var flipped = chunks[1]
        flipped.bytes[17] ^= 0x01
        // After the manifest: refused at once.
        var after = ModelAssembly(version: 5)
        try after.add(manifest: manifest)
        #expect(throws: ModelAssembly.Problem.corruptChunk(version: 5, index: 1)) { try after.add(flipped) }
        #expect(throws: ModelAssembly.Problem.unexpectedChunk(version: 5, index: 3)) {
            try after.add(ModelChunk(version: 5, index: 3, bytes: [0]))
        }
        // Before it: refused when the manifest comes.
        var before = ModelAssembly(version: 5)
        try before.add(flipped)
        #expect(throws: ModelAssembly.Problem.corruptChunk(version: 5, index: 1)) { try before.add(manifest: manifest) }
        // A manifest whose whole checksum lies: every chunk checks out, the whole does not.
        var lying = manifest
        lying.checksum ^= 1
        var whole = ModelAssembly(version: 5)
        try whole.add(manifest: lying)
        for chunk in chunks { try whole.add(chunk) }
        #expect(throws: ModelAssembly.Problem.corruptVersion(version: 5)) { try whole.assembled() }
    }
}
