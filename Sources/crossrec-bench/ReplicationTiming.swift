import Dispatch
import Foundation
import RecModel
import Replication

/// What replication costs at the distill bench's scale, one core, no broker (the dev broker
/// keeps only ~5 MiB per partition): the learner's side (encode, diff against the previous
/// version, chunks with their checksums) and the replica's (chunks checked and assembled,
/// or a delta patched, then decoded), for two consecutive builds of the bench.
struct ReplicationTiming {
    var repeats: Int

    func run(previous: ServingModel, model: ServingModel) throws {
        let old = previous.encoded()
        var bytes: [UInt8] = []
        var encode: [Double] = [], diff: [Double] = [], split: [Double] = [], assemble: [Double] = [], decode: [Double] = []
        var patch: [Double] = []
        var delta: (description: DeltaDescription, payload: [UInt8])?
        for _ in 0..<repeats {
            var start = DispatchTime.now().uptimeNanoseconds
            func lap() -> Double {
                let now = DispatchTime.now().uptimeNanoseconds
                defer { start = now }
                return Double(now - start) / 1e9
            }
            bytes = model.encoded()
            encode.append(lap())
            delta = ModelDelta.make(from: old, version: previous.version, to: bytes)
            diff.append(lap())
            let (manifest, chunks) = ModelChunks.split(bytes, version: model.version, publishedUnixMillis: 0)
            split.append(lap())
            var assembly = ModelAssembly(version: model.version)
            for chunk in chunks { try assembly.add(chunk) }
            try assembly.add(manifest: manifest)
            guard let whole = try assembly.assembled() else { throw BenchFailure("assembly incomplete") }
            assemble.append(lap())
            let decoded = try ServingModel.decoded(whole)
            decode.append(lap())
            guard decoded.version == model.version else { throw BenchFailure("the decoded model differs") }
            let patched = try ModelDelta.apply(delta!.payload, delta!.description, to: old, version: model.version)
            patch.append(lap())
            guard patched == bytes else { throw BenchFailure("the patched model differs") }
        }
        let megabytes = Double(bytes.count) / 1e6
        func rate(_ times: [Double]) -> String { String(format: "%.0f ms (%.0f MB/s)", median(times) * 1e3, megabytes / median(times)) }
        let events = model.appliedEvents - previous.appliedEvents
        let share = Double(delta!.payload.count) / Double(bytes.count)
        print(String(format: "replication, learner side: encode %@, diff against the previous version %@, chunks + CRC-32C %@ (medians)",
            rate(encode), rate(diff), rate(split)))
        print(String(format: "replication, replica side: a full version of %.1f MB checked and assembled %@, decoded %@: applied at %.0f MB/s; a delta patched %@",
            megabytes, rate(assemble), rate(decode), megabytes / (median(assemble) + median(decode)), rate(patch)))
        print(String(format: "delta between two consecutive builds (%d events apart): %d of %d blocks of %d KiB changed, %.1f MB (%.1f %% of the whole)",
            events, delta!.description.blockCount, (bytes.count + ModelDelta.defaultBlockBytes - 1) / ModelDelta.defaultBlockBytes,
            ModelDelta.defaultBlockBytes / 1024, Double(delta!.payload.count) / 1e6, share * 100))
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
