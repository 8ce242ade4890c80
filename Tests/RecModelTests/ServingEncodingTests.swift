@testable import RecModel
import Testing

/// A serving model as bytes and back (what read replicas would receive): the decoded model
/// answers every query as the original does, re-encodes to the same bytes, and bad bytes are
/// refused with an error, never a trap.
@Suite("Serving model encoding")
struct ServingEncodingTests {
    /// Two domains with a target (transfer map, refit, ranking head) and one built with the
    /// cluster index.
    static let models: [ServingModel] = {
        let learner = DistillTests.learner()
        var indexed = DistillTests.options
        indexed.indexClusters = 8
        indexed.indexProbe = 3
        return [learner.distill(version: 7, options: DistillTests.options), learner.distill(version: 8, options: indexed)]
    }()

    @Test(arguments: [0, 1]) func decodedModelAnswersAsTheOriginalAndReencodesToTheSameBytes(which: Int) throws {
        let model = Self.models[which]
        let bytes = model.encoded()
        let decoded = try ServingModel.decoded(bytes)
        #expect(decoded.encoded() == bytes)
        #expect(decoded.version == model.version && decoded.appliedEvents == model.appliedEvents)
        #expect(decoded.domains.map(\.name) == model.domains.map(\.name))
        #expect(decoded.domains.map(\.transfer) == model.domains.map(\.transfer))
        #expect(model.jointRefit != nil && decoded.jointRefit == model.jointRefit)
        #expect(decoded.domains.map(\.indexSummary?.clusters) == model.domains.map(\.indexSummary?.clusters))
        if which == 1 { #expect(model.domains[0].indexSummary != nil, "the second model has an index") }
        // Known users of both kinds, transfer users and strangers; seen items excluded or not.
        let users = ["u1", "u150", "u250", "u399", "stranger"]
        for d in model.domains.indices {
            #expect(decoded.popular(domain: d, k: 20).map(\.item) == model.popular(domain: d, k: 20).map(\.item))
            for user in users {
                for excludeSeen in [true, false] {
                    let a = model.recommend(user: user, domain: d, k: 15, excludeSeen: excludeSeen)
                    let b = decoded.recommend(user: user, domain: d, k: 15, excludeSeen: excludeSeen)
                    #expect(a.items == b.items && a.strategy == b.strategy, "\(user) in domain \(d)")
                }
                for item in ["i0", "i7", "i42", "missing"] {
                    let a = model.predict(user: user, item: item, domain: d), b = decoded.predict(user: user, item: item, domain: d)
                    #expect(a?.score == b?.score && a?.strategy == b?.strategy)
                }
            }
            #expect(decoded.similar(item: "i3", domain: d, k: 5) == model.similar(item: "i3", domain: d, k: 5))
        }
    }

    @Test func truncatedOrAlteredBytesAreRefused() throws {
        let bytes = Self.models[1].encoded()
        // Every prefix length class: the header, the user index, the middle of a domain, the end.
        for length in [0, 3, 8, 40, bytes.count / 3, bytes.count / 2, bytes.count - 1] {
            #expect(throws: ArchiveError.self, "\(length) bytes") { try ServingModel.decoded(Array(bytes.prefix(length))) }
        }
        #expect(throws: ArchiveError.self) { try ServingModel.decoded(bytes + [0]) }
        var magic = bytes
        magic[0] ^= 0xFF
        #expect(throws: ArchiveError.self) { try ServingModel.decoded(magic) }
        var format = bytes
        format[4] = 99
        let error = try #require(throws: ArchiveError.self) { try ServingModel.decoded(format) }
        #expect(error.code == .incompatible)
    }

    /// Format 1 (before the joint refit's report) still decodes: a replica upgraded before its
    /// learner keeps following it.
    @Test func theFormerFormatStillDecodes() throws {
        var options = DistillOptions()
        options.jointRefitSweeps = 0
        let model = DistillTests.learner().distill(version: 3, options: options)
        let bytes = model.encoded()
        // magic, format, version, events, clock, dimensions, build time, shared flag: 49 bytes;
        // then the joint refit's flag, absent from format 1.
        let flag = 4 + 4 + 8 + 8 + 8 + 4 + 4 + 8 + 1
        #expect(model.jointRefit == nil && bytes[flag] == 0)
        var former = bytes
        former[4] = 1
        former.remove(at: flag)
        let decoded = try ServingModel.decoded(former)
        #expect(decoded.encoded() == bytes && decoded.version == 3)
        former[4] = 2
        #expect(throws: ArchiveError.self, "format 2 needs the flag") { try ServingModel.decoded(former) }
    }
}

/// Bytes that decode field by field but describe a model no query could run on: what anyone
/// allowed to produce to the model topic could send a replica. Refused, never a trap.
extension ServingEncodingTests {
    static func altered(
        _ model: ServingModel, index: (ClusterIndex) -> ClusterIndex? = { $0 }, itemNorms: ([Float]) -> [Float] = { $0 },
        popular: ([(row: Int32, count: Double)]) -> [(row: Int32, count: Double)] = { $0 }
    ) -> ServingModel {
        let domains = model.domains.map { d in
            ServedDomain(
                name: d.name, ratingRange: d.ratingRange, isTarget: d.isTarget, mean: d.mean, items: d.items, liveItems: d.liveItems,
                itemRows: d.itemRows, itemBias: d.itemBias, lists: d.lists, index: d.index.flatMap(index), itemNorms: itemNorms(d.itemNorms),
                userRows: d.userRows, userBias: d.userBias, personal: d.personal, seen: d.seen, seenLimit: d.seenLimit,
                popular: popular(d.popular), fidelity: d.fidelity, transfer: d.transfer, refit: d.refit)
        }
        return ServingModel(
            version: model.version, appliedEvents: model.appliedEvents, clockMillis: model.clockMillis, dimension: model.dimension,
            teacherDimension: model.teacherDimension, domains: domains, buildNanos: model.buildNanos, users: model.users,
            shareUserVectors: model.shareUserVectors, jointRefit: model.jointRefit)
    }

    static func index(_ i: ClusterIndex, itemAt: [Int32]? = nil, ranges: [Range<Int>]? = nil, reach: [Float]? = nil) -> ClusterIndex {
        ClusterIndex(
            rows: i.rows, offsets: i.offsets, itemAt: itemAt ?? i.itemAt, hashAt: i.hashAt, ranges: ranges ?? i.ranges,
            centroids: i.centroids, reach: reach ?? i.reach, probe: i.probe, recallAt10: i.recallAt10)
    }

    @Test func craftedFieldsAreRefusedNotTrapped() throws {
        let model = Self.models[1]
        let valid = Self.altered(model)
        #expect(try ServingModel.decoded(valid.encoded()).encoded() == model.encoded(), "the helper changes nothing by itself")

        var version = model.encoded()
        for offset in 8..<16 { version[offset] = 0xFF }
        #expect(throws: ArchiveError.self, "a version beyond Int") { try ServingModel.decoded(version) }
        var dimension = model.encoded()
        for offset in 32..<36 { dimension[offset] = 0 }
        #expect(throws: ArchiveError.self, "student dimension 0") { try ServingModel.decoded(dimension) }

        let items = model.domains[0].items.rowLimit
        let crafted: [(String, ServingModel)] = [
            ("an index member past the items", Self.altered(model, index: { Self.index($0, itemAt: $0.itemAt.map { $0 < 0 ? $0 : Int32(items + 3) }) })),
            ("a cluster inside a block", Self.altered(model, index: { Self.index($0, ranges: $0.ranges.map { $0.lowerBound + 1..<$0.upperBound }) })),
            ("a cluster without its reach", Self.altered(model, index: { Self.index($0, reach: Array($0.reach.dropLast())) })),
            ("item norms short of the items", Self.altered(model, itemNorms: { Array($0.dropLast()) })),
            ("a popular item past the items", Self.altered(model, popular: { $0.map { (row: Int32(items + 1), count: $0.count) } })),
        ]
        for (what, model) in crafted {
            #expect(throws: ArchiveError.self, "\(what)") { try ServingModel.decoded(model.encoded()) }
        }
    }
}
