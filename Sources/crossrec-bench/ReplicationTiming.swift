import Dispatch
import Foundation
import RecModel
import Replication

/// The serving model as bytes and what replication costs at the distill bench's scale, one
/// core, no broker (the dev broker keeps only ~5 MiB per partition): the learner's side
/// (encode, chunks with their checksums) and the replica's (chunks checked and assembled,
/// then decoded). Patches between versions: DistillBench's `measureDeltaAtRate`.
struct ReplicationTiming {
    var repeats: Int

    func run(model: ServingModel) throws {
        var bytes: [UInt8] = []
        var encode: [Double] = [], split: [Double] = [], assemble: [Double] = [], decode: [Double] = []
        for _ in 0..<repeats {
            var start = DispatchTime.now().uptimeNanoseconds
            func lap() -> Double {
                let now = DispatchTime.now().uptimeNanoseconds
                defer { start = now }
                return Double(now - start) / 1e9
            }
            bytes = model.encoded()
            encode.append(lap())
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
        }
        let megabytes = Double(bytes.count) / 1e6
        func rate(_ times: [Double]) -> String { String(format: "%.0f ms (%.0f MB/s)", median(times) * 1e3, megabytes / median(times)) }
        print(String(format: "serving model as bytes: %.1f MB, encoded in %@, decoded in %@ (medians)", megabytes, rate(encode), rate(decode)))
        print(String(format: "replication, learner side: chunks + CRC-32C %@ (medians)", rate(split)))
        print(String(format: "replication, replica side: checked and assembled %@, then decoded: a full version applied at %.0f MB/s",
            rate(assemble), megabytes / (median(assemble) + median(decode))))
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
