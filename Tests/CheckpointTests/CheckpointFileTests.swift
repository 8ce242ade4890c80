import Checkpoint
import Foundation
import RecModel
import TestSupport
import Testing

@Suite("Checkpoint file")
struct CheckpointFileTests {
    /// Writes the sample checkpoint into a fresh directory; returns its path and bytes.
    static func writeSample(in directory: String) throws -> (path: String, bytes: [UInt8]) {
        let written = try CheckpointStore(directory: directory).write(
            learner: SampleCheckpoint.learner(), offsets: SampleCheckpoint.offsets, metadata: SampleCheckpoint.metadata,
            createdMillis: SampleCheckpoint.createdMillis)
        return (written.path, [UInt8](try Data(contentsOf: URL(fileURLWithPath: written.path))))
    }

    static func expectRefused(_ bytes: [UInt8], in directory: String, _ code: CheckpointError.Code, _ context: String) throws {
        let path = "\(directory)/damaged.ckpt"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: CheckpointError.self, "\(context)") {
            try CheckpointFile(path: path).restoreLearner(configuration: SampleCheckpoint.configuration())
        }
        #expect(error.code == code, "\(context): \(error)")
        #expect(error.message.contains(path))
    }

    @Test func goldenVersion1FixtureVerifiesAndRestoresTheSampleModel() throws {
        let file = try CheckpointFile(path: SampleCheckpoint.fixturePath(version: 1))
        #expect(file.version == 1)
        #expect(file.createdMillis == SampleCheckpoint.createdMillis)
        #expect(file.offsets == SampleCheckpoint.offsets)
        #expect(file.metadata["crossrec.version"] == "fixture")
        let learner = try file.restoreLearner(configuration: SampleCheckpoint.configuration())
        // Version 1 had no recent-ratings or twin sections: the rings come back empty, and no
        // user has a twin.
        let older = { (sections: [ArchiveSection: [UInt8]]) in
            sections.filter { ![ArchiveSection.recentRatings, ArchiveSection.userTwins].contains($0.key.kind) }
        }
        #expect(try older(learner.archived().sections) == older(SampleCheckpoint.learner(rankingHead: false).archived().sections))
        #expect(learner.recentRatingCount(domain: 1) == 0)
        #expect(learner.twinCount == 0)
        #expect(learner.isForgotten(user: "user-3"))
    }

    @Test func goldenVersion2FixtureRestoresTheRecentRatings() throws {
        let file = try CheckpointFile(path: SampleCheckpoint.fixturePath(version: 2))
        #expect(file.version == 2)
        let learner = try file.restoreLearner(configuration: SampleCheckpoint.configuration())
        let older = { (sections: [ArchiveSection: [UInt8]]) in sections.filter { $0.key.kind != ArchiveSection.userTwins } }
        #expect(try older(learner.archived().sections) == older(SampleCheckpoint.learner(rankingHead: false).archived().sections))
        #expect(learner.recentRatingCount(domain: 1) == 100)
        #expect(learner.recentRatingCount(domain: 0) == 0)
        #expect(learner.twinCount == 0)
    }

    @Test func goldenVersion3FixtureRestoresTheTwins() throws {
        let file = try CheckpointFile(path: SampleCheckpoint.fixturePath(version: 3))
        #expect(file.version == 3)
        let learner = try file.restoreLearner(configuration: SampleCheckpoint.configuration())
        // Written before the ranking head: it restores at its seeded start, which is where a
        // learner without the head leaves it.
        #expect(try learner.archived().sections == SampleCheckpoint.learner(rankingHead: false).archived().sections)
        #expect(learner.twinCount > 0)
        #expect(learner.twinCount == SampleCheckpoint.learner().twinCount)
    }

    @Test func goldenVersion4FixtureRestoresTheRankingHead() throws {
        let file = try CheckpointFile(path: SampleCheckpoint.fixturePath(version: 4))
        #expect(file.version == 4)
        let learner = try file.restoreLearner(configuration: SampleCheckpoint.configuration())
        let sections = try learner.archived().sections
        #expect(try sections == SampleCheckpoint.learner().archived().sections)
        // The head learned: its rows are not the seeded start a learner without it keeps.
        let ranking = ArchiveSection(kind: ArchiveSection.rankingHead, instance: 0)
        #expect(sections[ranking] != nil)
        let unlearned = try SampleCheckpoint.learner(rankingHead: false).archived().sections
        #expect(sections[ranking] != unlearned[ranking])
    }

    /// The writer must still produce the fixture byte for byte: a format change needs a new
    /// version and a new fixture (regenerate with CROSSREC_WRITE_FIXTURES=1).
    @Test func writerReproducesTheGoldenFixtureByteForByte() throws {
        let directory = try makeShortTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (_, bytes) = try Self.writeSample(in: directory)
        let fixture = SampleCheckpoint.fixturePath(version: CheckpointFormat.version)
        if ProcessInfo.processInfo.environment["CROSSREC_WRITE_FIXTURES"] == "1" {
            try Data(bytes).write(to: URL(fileURLWithPath: fixture))
        }
        #expect(bytes == [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixture))))
    }

    @Test func truncatedAnywhereIsRefusedAsTruncated() throws {
        let directory = try makeShortTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (path, bytes) = try Self.writeSample(in: directory)
        let file = try CheckpointFile(path: path)
        let boundaries = file.sections.flatMap { [$0.offset - 24, $0.offset - 1, $0.offset, $0.offset + $0.length] }
        for cut in Set(boundaries + Array(stride(from: 0, to: bytes.count, by: 97)) + [bytes.count - 1]) {
            try Self.expectRefused(Array(bytes[..<cut]), in: directory, .truncated, "cut at \(cut) of \(bytes.count)")
        }
    }

    @Test func aFlippedByteInAnySectionFailsItsChecksum() throws {
        let directory = try makeShortTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (path, bytes) = try Self.writeSample(in: directory)
        let file = try CheckpointFile(path: path)
        #expect(Set(file.sections.map(\.section.kind)).isSuperset(of: ArchiveSection.learnerKinds))
        for info in file.sections {
            for position in [info.offset - 20, info.offset, info.offset + info.length / 2, info.offset + info.length - 1]
            where position < info.offset + info.length {
                var damaged = bytes
                damaged[position] ^= 0x40
                try Self.expectRefused(damaged, in: directory, .checksum, "\(info.name) byte \(position)")
            }
        }
        var damaged = bytes
        damaged[12] ^= 1
        try Self.expectRefused(damaged, in: directory, .checksum, "file header")
    }

    @Test func unknownMandatorySectionIsRefusedAndUnknownOptionalOneSkipped() throws {
        let directory = try makeShortTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (_, bytes) = try Self.writeSample(in: directory)
        for (flags, refused) in [(UInt32(0), true), (CheckpointFormat.optionalFlag, false)] {
            let extended = Self.insertingSection(kind: 0x7777, flags: flags, body: [1, 2, 3], into: bytes)
            if refused {
                try Self.expectRefused(extended, in: directory, .unknownSection, "unknown mandatory section")
            } else {
                let path = "\(directory)/extended.ckpt"
                try Data(extended).write(to: URL(fileURLWithPath: path))
                let learner = try CheckpointFile(path: path).restoreLearner(configuration: SampleCheckpoint.configuration())
                #expect(try learner.archived().sections == SampleCheckpoint.learner().archived().sections)
            }
        }
    }

    @Test func newerVersionIsRefusedWithBothVersionsInTheMessage() throws {
        let directory = try makeShortTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var (_, bytes) = try Self.writeSample(in: directory)
        bytes[8] = UInt8(CheckpointFormat.version + 1)
        Self.resealHeader(&bytes)
        try Self.expectRefused(bytes, in: directory, .newerVersion, "newer version")
        let error = try #require(throws: CheckpointError.self) { try CheckpointFile(path: "\(directory)/damaged.ckpt") }
        #expect(error.message.contains(
            "format version \(CheckpointFormat.version + 1) is newer than this build reads (\(CheckpointFormat.version))"))
    }

    @Test func otherConfigurationIsRefusedAsIncompatible() throws {
        let directory = try makeShortTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (path, _) = try Self.writeSample(in: directory)
        let error = try #require(throws: CheckpointError.self) {
            try CheckpointFile(path: path).restoreLearner(configuration: SampleCheckpoint.configuration(dimension: 8))
        }
        #expect(error.code == .incompatible)
        #expect(error.message.contains("model.dimension is 8, checkpoint has 4"))
    }

    @Test func garbageIsRefusedAsBadMagic() throws {
        let directory = try makeShortTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.expectRefused(Array("not a checkpoint at all, just text\n".utf8), in: directory, .badMagic, "text file")
    }

    /// Re-computes the file header checksum after a test edits the header.
    static func resealHeader(_ bytes: inout [UInt8]) {
        let crc = CRC32C.checksum(bytes[0..<24])
        withUnsafeBytes(of: crc.littleEndian) { bytes.replaceSubrange(24..<28, with: $0) }
    }

    /// A well-formed section of `kind` inserted before the end section (whose count is fixed up).
    static func insertingSection(kind: UInt16, flags: UInt32, body: [UInt8], into bytes: [UInt8]) -> [UInt8] {
        func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }
        var header = le(kind) + le(UInt16(0)) + le(flags) + le(UInt64(body.count)) + le(CRC32C.checksum(body))
        header += le(CRC32C.checksum(header))
        let endStart = bytes.count - 24 - 16
        let sectionCount = bytes[(endStart + 24)..<(endStart + 32)].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        let endBody = le(sectionCount + 1) + le(UInt64(endStart + header.count + body.count))
        var endHeader = le(CheckpointFormat.endKind) + le(UInt16(0)) + le(UInt32(0)) + le(UInt64(16)) + le(CRC32C.checksum(endBody))
        endHeader += le(CRC32C.checksum(endHeader))
        return Array(bytes[..<endStart]) + header + body + endHeader + endBody
    }
}
