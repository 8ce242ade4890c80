/// What a delta version holds: the blocks of the encoded model that differ from its base
/// version's, in order. Applying it to the base's bytes gives the new model, whose size and
/// checksum the description carries so that the result is checked as a whole.
///
/// Why blocks of the encoding and not rows of the model: the encoding is a pure function of
/// the model (ServingModel+Encoding), so unchanged parts — id tables, seen lists, rows the
/// build left as they were — are unchanged bytes at unchanged places, and a replica can patch
/// the bytes it already verified without knowing the layout.
public struct DeltaDescription: Codable, Sendable, Equatable {
    /// The version whose bytes the blocks patch.
    public var base: Int
    public var blockBytes: Int
    /// Changed blocks as runs: [first block, block count] pairs, ascending.
    public var runs: [[Int]]
    /// Size and CRC-32C of the patched model.
    public var modelBytes: Int
    public var modelChecksum: UInt32

    public var blockCount: Int { runs.reduce(0) { $0 + $1[1] } }
}

public enum ModelDelta {
    /// 64 KiB: a 500 MB model has 7 800 blocks, so even a delta of every block lists its runs
    /// in a manifest far below the broker's message size.
    public static let defaultBlockBytes = 64 * 1024

    public enum Problem: Error, Equatable, CustomStringConvertible {
        /// The replica does not hold the base version's bytes.
        case baseMissing(base: Int, held: Int?)
        /// The runs or sizes do not fit the payload or the model.
        case malformed(String)
        /// Patched, the bytes do not match the checksum of the version.
        case corruptResult(version: Int)

        public var description: String {
            switch self {
            case .baseMissing(let base, let held): "delta against version \(base), but this replica holds \(held.map(String.init) ?? "none")"
            case .malformed(let why): "malformed delta: \(why)"
            case .corruptResult(let version): "version \(version): the patched bytes do not match the manifest's checksum"
            }
        }
    }

    /// The blocks of `new` that differ from `base` at the same place (every block past the
    /// end of `base` included), and their bytes concatenated.
    public static func make(from base: [UInt8], version baseVersion: Int, to new: [UInt8], blockBytes: Int = defaultBlockBytes)
        -> (description: DeltaDescription, payload: [UInt8])
    {
        precondition(blockBytes > 0)
        var runs: [[Int]] = []
        var payload: [UInt8] = []
        let blocks = (new.count + blockBytes - 1) / blockBytes
        base.withUnsafeBytes { old in
            new.withUnsafeBytes { current in
                for block in 0..<blocks {
                    let start = block * blockBytes
                    let end = min(start + blockBytes, new.count)
                    let same = end <= old.count && (old.baseAddress! + start).compareBytes(with: current.baseAddress! + start, count: end - start)
                    guard !same else { continue }
                    payload.append(contentsOf: current[start..<end])
                    if let last = runs.last, last[0] + last[1] == block { runs[runs.count - 1][1] += 1 } else { runs.append([block, 1]) }
                }
            }
        }
        let description = DeltaDescription(
            base: baseVersion, blockBytes: blockBytes, runs: runs, modelBytes: new.count, modelChecksum: ModelChunks.checksum(new))
        return (description, payload)
    }

    /// The base's bytes patched with the payload, checked against the description's checksum.
    public static func apply(_ payload: [UInt8], _ delta: DeltaDescription, to base: [UInt8], version: Int) throws(Problem) -> [UInt8] {
        guard delta.blockBytes > 0, delta.modelBytes >= 0 else { throw .malformed("block size \(delta.blockBytes)") }
        var model = Array(base.prefix(delta.modelBytes))
        if model.count < delta.modelBytes { model.append(contentsOf: repeatElement(0, count: delta.modelBytes - model.count)) }
        var read = 0
        for run in delta.runs {
            guard run.count == 2, run[0] >= 0, run[1] > 0 else { throw .malformed("run \(run)") }
            let start = run[0] * delta.blockBytes
            let end = min((run[0] + run[1]) * delta.blockBytes, delta.modelBytes)
            guard start < end, read + (end - start) <= payload.count else { throw .malformed("run \(run) past the payload or the model") }
            model.replaceSubrange(start..<end, with: payload[read..<(read + end - start)])
            read += end - start
        }
        guard read == payload.count else { throw .malformed("\(payload.count - read) payload bytes left over") }
        guard ModelChunks.checksum(model) == delta.modelChecksum else { throw .corruptResult(version: version) }
        return model
    }
}

import Glibc

extension UnsafeRawPointer {
    fileprivate func compareBytes(with other: UnsafeRawPointer, count: Int) -> Bool {
        memcmp(self, other, count) == 0
    }
}
