import Checkpoint
import Foundation
import RecModel
import TestSupport
import Testing

@Suite("Checkpoint store")
struct CheckpointStoreTests {
    static func write(_ store: CheckpointStore, offset: Int64) throws -> CheckpointStore.Written {
        try store.write(
            learner: SampleCheckpoint.learner(), offsets: [StoredOffset(topic: "t", partition: 0, offset: offset)],
            createdMillis: 1)
    }

    @Test func keepsTheNewestThreeAndRemovesCrashLeftovers() throws {
        let directory = try makeShortTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = CheckpointStore(directory: directory, retain: 3)
        #expect(FileManager.default.createFile(atPath: "\(directory)/.checkpoint-000000000009.tmp", contents: Data([1, 2])))
        #expect(FileManager.default.createFile(atPath: "\(directory)/notes.txt", contents: Data()))
        for offset in 1...5 { _ = try Self.write(store, offset: Int64(offset)) }
        #expect(try store.list().map(\.sequence) == [5, 4, 3])
        #expect(try store.removeTemporaryFiles() == ["\(directory)/.checkpoint-000000000009.tmp"])
        #expect(FileManager.default.fileExists(atPath: "\(directory)/notes.txt"))
        let restored = try store.restoreNewest(configuration: SampleCheckpoint.configuration())
        #expect(restored.file?.offsets.first?.offset == 5)
        #expect(restored.skipped.isEmpty)
    }

    @Test func fallsBackPastDamagedCheckpointsAndSaysWhy() throws {
        let directory = try makeShortTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = CheckpointStore(directory: directory)
        _ = try Self.write(store, offset: 10)
        let second = try Self.write(store, offset: 20)
        let third = try Self.write(store, offset: 30)
        try Data([UInt8](repeating: 0, count: 100)).write(to: URL(fileURLWithPath: third.path))
        let handle = try #require(FileHandle(forUpdatingAtPath: second.path))
        try handle.truncate(atOffset: 5_000)
        try handle.close()
        let restored = try store.restoreNewest(configuration: SampleCheckpoint.configuration())
        #expect(restored.file?.offsets.first?.offset == 10)
        #expect(restored.skipped.map(\.code) == [.badMagic, .truncated])
        #expect(try restored.learner?.archived().sections == SampleCheckpoint.learner().archived().sections)
    }

    @Test func startsEmptyWhenNothingVerifies() throws {
        let directory = try makeShortTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = CheckpointStore(directory: directory)
        #expect(try store.restoreNewest(configuration: SampleCheckpoint.configuration()).learner == nil)
        let written = try Self.write(store, offset: 1)
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: written.path))
        let restored = try store.restoreNewest(configuration: SampleCheckpoint.configuration())
        #expect(restored.learner == nil)
        #expect(restored.skipped.count == 1)
    }

    @Test func incompatibleCheckpointStopsTheStartUnlessDiscarded() throws {
        let directory = try makeShortTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = CheckpointStore(directory: directory)
        _ = try Self.write(store, offset: 1)
        let other = SampleCheckpoint.configuration(dimension: 6)
        let error = try #require(throws: CheckpointError.self) { try store.restoreNewest(configuration: other) }
        #expect(error.code == .incompatible)
        let discarded = try store.restoreNewest(configuration: other, discardIncompatible: true)
        #expect(discarded.learner == nil)
        #expect(discarded.skipped.map(\.code) == [.incompatible])
    }
}
