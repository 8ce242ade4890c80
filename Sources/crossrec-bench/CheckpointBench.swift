import ArgumentParser
import Checkpoint
import Dispatch
import Foundation
import RecModel
import Synchronization

/// Checkpoint write and restore of a large model: ingest stall while a checkpoint is cut and
/// written concurrently, write bytes/s against `dd` to the same directory, restore MB/s.
struct CheckpointBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint", abstract: "Checkpoint stall, write and restore speed for a big model.")

    @Option(help: "Users of the model.") var users = 1_000_000
    @Option(help: "Vector dimension.") var dimension = 64
    @Option(help: "Items of the model.") var items = 100_000
    @Option(help: "Directory for the checkpoints (its disk is measured).") var directory = "bench/data/checkpoint"
    @Option(help: "Repetitions; medians are reported.") var repeats = 3

    func run() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var configuration = LearnerConfiguration(domains: [DomainSpec(name: "bench", ratingRange: 1...5)])
        configuration.dimension = dimension
        var learner = Learner(configuration: configuration)
        var generator = SplitMix64(seed: 5)
        func event(user: UInt64? = nil) -> Rating {
            Rating(
                domain: 0, user: "user-\(user ?? generator.next() % UInt64(users))", item: "item-\(generator.next() % UInt64(items))",
                value: Double(generator.next() % 5 + 1), timestampMillis: 1_700_000_000_000)
        }
        let buildStart = DispatchTime.now().uptimeNanoseconds
        for user in 0..<UInt64(users) { learner.apply(event(user: user)) }
        print(String(format: "model: %d users × %d d, %d items, built in %.1f s", learner.userCount, dimension, items,
            Double(DispatchTime.now().uptimeNanoseconds - buildStart) / 1e9))

        let batches = (0..<100).map { _ in (0..<2_048).map { _ in event() } }
        let store = CheckpointStore(directory: directory, retain: 1)
        var precopyCounts: [Double] = [], baselineMax: [Double] = [], duringMax: [Double] = [], baselineMean: [Double] = []
        var duringMean: [Double] = [], writeRates: [Double] = [], restoreRates: [Double] = [], ddRates: [Double] = []
        var bytes: UInt64 = 0
        for _ in 0..<repeats {
            // The learner is uniquely owned here: no copy-on-write at all.
            let plain = applyTimed(batches, to: &learner)
            baselineMax.append(plain.max()!)
            baselineMean.append(plain.reduce(0, +) / Double(plain.count))

            // The daemon's cut, written by another thread while ingest goes on.
            let result = Mutex<(bytes: UInt64, seconds: Double, userCount: Int)?>(nil)
            let failed = Mutex(false)
            let (during, precopyBatches) = applyThroughCut(batches, to: &learner) { copy in
                Thread { [store] in
                    let start = DispatchTime.now().uptimeNanoseconds
                    do {
                        let written = try store.write(learner: copy, offsets: [], createdMillis: 0)
                        result.withLock {
                            $0 = (written.bytes, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, copy.userCount)
                        }
                    } catch {
                        FileHandle.standardError.write(Data("write failed: \(error)\n".utf8))
                        failed.withLock { $0 = true }
                    }
                }.start()
            } finished: { result.withLock { $0 != nil } || failed.withLock { $0 } }
            precopyCounts.append(Double(precopyBatches))
            duringMax.append(during.max()!)
            duringMean.append(during.reduce(0, +) / Double(during.count))
            guard let (written, seconds, userCount) = result.withLock({ $0 }) else { throw ValidationError("checkpoint write failed") }
            bytes = written
            writeRates.append(Double(written) / seconds / 1e6)

            let path = try store.list()[0].path
            let restoreStart = DispatchTime.now().uptimeNanoseconds
            let restored = try CheckpointFile(path: path).restoreLearner(configuration: configuration)
            restoreRates.append(Double(written) / (Double(DispatchTime.now().uptimeNanoseconds - restoreStart) / 1e9) / 1e6)
            precondition(restored.userCount == userCount)
            ddRates.append(try ddRate(bytes: written))
        }
        print(String(format: "checkpoint size: %.1f MB", Double(bytes) / 1e6))
        print(String(format: "cut: pre-copied by the writer over %.0f batches (median), %.1f ms of copying per safe point",
            median(precopyCounts), Double(Learner.snapshotStepNanos) / 1e6))
        print(String(format: "ingest batch of 2048 events, from the start of the pre-copy to the end of the write: max %.2f ms (without: %.2f ms, max over 100), mean %.2f ms (without: %.2f ms) (medians)",
            median(duringMax), median(baselineMax), median(duringMean), median(baselineMean)))
        print(String(format: "write (serialize + fsync + rename): median %.0f MB/s; dd conv=fsync same size: median %.0f MB/s (ratio %.2f)",
            median(writeRates), median(ddRates), median(writeRates) / median(ddRates)))
        print(String(format: "restore (read + verify + decode, page cache warm): median %.0f MB/s (%@)", median(restoreRates),
            restoreRates.map { String(Int($0)) }.joined(separator: ", ")))
    }

    /// `dd` of the same byte count to the same directory, fsync'd, timed here.
    private func ddRate(bytes: UInt64) throws -> Double {
        let blocks = max(1, bytes / (4 << 20))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/dd")
        process.arguments = ["if=/dev/zero", "of=\(directory)/dd.bin", "bs=4M", "count=\(blocks)", "conv=fsync", "status=none"]
        let start = DispatchTime.now().uptimeNanoseconds
        try process.run()
        process.waitUntilExit()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        try? FileManager.default.removeItem(atPath: "\(directory)/dd.bin")
        return Double(blocks * (4 << 20)) / seconds / 1e6
    }
}
