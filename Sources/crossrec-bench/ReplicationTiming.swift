import Dispatch
import Foundation
import RecModel
import Replication

/// The serving model as bytes and what replication costs at the distill bench's scale, one
/// core, no broker (the dev broker keeps only ~5 MiB per partition): the learner's side
/// (encode, diff against the previous version, chunks with their checksums) and the
/// replica's (chunks checked and assembled, or a delta patched, then decoded). The delta
/// needs two consecutive builds of the bench (`--repeats` ≥ 2).
struct ReplicationTiming {
    var repeats: Int

    func run(previous: ServingModel?, model: ServingModel) throws {
        let old = previous?.encoded()
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
            if let old, let previous {
                delta = ModelDelta.make(from: old, version: previous.version, to: bytes)
                diff.append(lap())
            }
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
            if let delta, let old {
                let patched = try ModelDelta.apply(delta.payload, delta.description, to: old, version: model.version)
                patch.append(lap())
                guard patched == bytes else { throw BenchFailure("the patched model differs") }
            }
        }
        let megabytes = Double(bytes.count) / 1e6
        func rate(_ times: [Double]) -> String { String(format: "%.0f ms (%.0f MB/s)", median(times) * 1e3, megabytes / median(times)) }
        print(String(format: "serving model as bytes: %.1f MB, encoded in %@, decoded in %@ (medians)", megabytes, rate(encode), rate(decode)))
        print(String(format: "replication, learner side: chunks + CRC-32C %@ (medians)", rate(split)))
        print(String(format: "replication, replica side: checked and assembled %@, then decoded: a full version applied at %.0f MB/s",
            rate(assemble), megabytes / (median(assemble) + median(decode))))
        guard let delta, let previous else { return }
        print(String(format: "delta between two consecutive builds (%d events apart): %d of %d blocks of %d KiB changed, %.1f MB (%.1f %% of the whole); diffed in %@, patched in %@",
            model.appliedEvents - previous.appliedEvents, delta.description.blockCount,
            (bytes.count + ModelDelta.defaultBlockBytes - 1) / ModelDelta.defaultBlockBytes, ModelDelta.defaultBlockBytes / 1024,
            Double(delta.payload.count) / 1e6, Double(delta.payload.count) / Double(bytes.count) * 100, rate(diff), rate(patch)))
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
