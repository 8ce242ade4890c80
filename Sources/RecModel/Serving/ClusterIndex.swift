internal import CKernels

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Approximate top-k for large catalogs: the domain's items grouped by k-means over their
/// student rows, with the item bias as one more coordinate, so that a cluster's centroid
/// scores like its members: score = b + q·x = (q, 1)·(x, b). A query scores every centroid and
/// scans only the `probe` best clusters, best first; probing every cluster gives exactly the
/// answer of the full scan.
///
/// Isolation: an immutable value built at distillation.
struct ClusterIndex: Sendable {
    /// The item rows in cluster order; each cluster starts on a block of 16 rows, the padding
    /// rows between clusters hold zeros (a light version's new items fill it: `updated`).
    let rows: Int8Rows
    /// Item bias by position, -∞ for padding and holes (the scan never returns those).
    let offsets: [Float]
    /// Item row by position (-1 for padding, and for a hole a light version left in a cluster).
    let itemAt: [Int32]
    /// Item id hash by position (0 for padding): the seen test of a candidate reads here, next
    /// to the rows just scanned, instead of chasing the item index.
    let hashAt: [UInt64]
    /// Positions of each cluster in `rows`.
    let ranges: [Range<Int>]
    /// Centroids with the bias coordinate last, quantized like the items.
    let centroids: Int8Rows
    /// Per cluster, what its best member is expected to add to the centroid's score per unit of
    /// query norm: the expected maximum of n Gaussian draws, √(2 ln n), times the cluster's
    /// spread along one direction (RMS distance to the centroid / √width). A wide cluster of
    /// many items can hold a top item even when its centroid scores lower than a tight one's.
    let reach: [Float]
    /// Clusters scanned by a query.
    let probe: Int
    /// Mean share of the exact top 10 that the probed clusters return, measured at build time
    /// on sampled users (nil until measured).
    var recallAt10: Double?

    var clusters: Int { ranges.count }

    /// An index as it was encoded (ServingModel+Encoding.swift).
    init(
        rows: Int8Rows, offsets: [Float], itemAt: [Int32], hashAt: [UInt64], ranges: [Range<Int>], centroids: Int8Rows,
        reach: [Float], probe: Int, recallAt10: Double?
    ) {
        (self.rows, self.offsets, self.itemAt, self.hashAt, self.ranges) = (rows, offsets, itemAt, hashAt, ranges)
        (self.centroids, self.reach, self.probe, self.recallAt10) = (centroids, reach, probe, recallAt10)
    }

    /// What makes this index unfit for queries over `items` item rows of `dimension`, if
    /// anything (a decoded index is checked before it serves): members name item rows or
    /// padding, clusters start on a block, and each cluster has its centroid and reach.
    func inconsistency(items: Int, dimension k: Int) -> String? {
        guard rows.dimension == k, centroids.dimension == k + 1 else {
            return "rows of dimension \(rows.dimension), centroids \(centroids.dimension)"
        }
        guard centroids.count == ranges.count, reach.count == ranges.count else {
            return "\(ranges.count) clusters, \(centroids.count) centroids, \(reach.count) reaches"
        }
        guard ranges.allSatisfy({ $0.lowerBound % Int8Rows.rowsPerBlock == 0 }) else { return "a cluster starts inside a block" }
        guard itemAt.allSatisfy({ $0 >= -1 && Int($0) < items }) else { return "a member names no item row" }
        return nil
    }

    var byteCount: Int { rows.byteCount + centroids.byteCount + offsets.count * 4 + itemAt.count * 4 + hashAt.count * 8 }

    /// The index with each member's row and bias read again from `items`/`bias` (by item row),
    /// in the clusters the full build put it in, and the items of `newItems` (rows the index
    /// does not hold, or holds for another id now) placed: a light version's items. Centroids,
    /// reach and the measured recall stay the full build's. `hash`: an item row's id hash.
    ///
    /// A new item goes to the free padding right after the nearest cluster (by the k-means
    /// distance, bias included) that has a free slot, so that every other position keeps its
    /// bytes and a replica's patch stays small. New items look alike (few ratings, rows near
    /// their initial values) and crowd into the same clusters: one that lands past its
    /// nearest is found only when that cluster is probed, which the light version's measured
    /// recall shows. nil when no cluster has room left: a full build regroups the catalog. A
    /// row that now holds another id leaves a hole (bias −∞, never returned) where its old
    /// item was.
    func updated(rows items: Int8Rows, bias: [Float], placing newItems: [Int] = [], hash: (Int32) -> UInt64 = { _ in 0 }) -> ClusterIndex? {
        var itemAt = self.itemAt, hashAt = self.hashAt, ranges = self.ranges
        if !newItems.isEmpty {
            let moving = Set(newItems.map(Int32.init))
            for position in itemAt.indices where moving.contains(itemAt[position]) {
                itemAt[position] = -1
                hashAt[position] = 0
            }
            let width = rows.dimension + 1
            let nearness = (0..<clusters).map { cluster in -centroids.row(cluster).reduce(0) { $0 + $1 * $1 } / 2 }
            var scores = [Float](repeating: 0, count: clusters)
            var point = [Float](repeating: 0, count: width)
            for item in newItems {
                let row = items.row(item)
                for j in 0..<width - 1 { point[j] = row[j] }
                point[width - 1] = bias[item]
                point.withUnsafeBufferPointer { point in
                    scores.withUnsafeMutableBufferPointer { centroids.scores(point.baseAddress!, offsets: nearness, into: $0) }
                }
                // The first of the nearest clusters with a free padding slot after its members:
                // clusters start on a block, so a slot at a block's start belongs to the next one.
                let free = Self.best(clusters, of: scores).lazy.map { cluster in (cluster, ranges[cluster].upperBound) }
                    .first { _, position in position < itemAt.count && position % Int8Rows.rowsPerBlock != 0 && itemAt[position] < 0 }
                guard let (cluster, position) = free else { return nil }
                itemAt[position] = Int32(item)
                hashAt[position] = hash(Int32(item))
                ranges[cluster] = ranges[cluster].lowerBound..<position + 1
            }
        }
        var offsets = [Float](repeating: -.infinity, count: itemAt.count)
        var pairs: [(to: Int, from: Int)] = []
        for (position, item) in itemAt.enumerated() where item >= 0 {
            pairs.append((position, Int(item)))
            offsets[position] = bias[Int(item)]
        }
        return ClusterIndex(
            rows: rows.copying(pairs, of: items), offsets: offsets, itemAt: itemAt, hashAt: hashAt, ranges: ranges, centroids: centroids,
            reach: reach, probe: probe, recallAt10: recallAt10)
    }

    /// `clusters` groups of the `live` rows of `items` (k floats per row) and `bias`, whose id
    /// hashes `hash` gives; nil when there are too few items to group.
    init?(
        items: [Float], bias: [Float], live: [Int], hash: (Int32) -> UInt64, dimension k: Int, clusters requested: Int,
        probe: Int
    ) {
        let clusterCount = min(requested, live.count / 4)
        guard clusterCount >= 2 else { return nil }
        let width = k + 1
        // Points with the bias coordinate, for the live rows.
        var points = [Float](repeating: 0, count: live.count * width)
        for (index, row) in live.enumerated() {
            for j in 0..<k { points[index * width + j] = items[row * k + j] }
            points[index * width + k] = bias[row]
        }
        let centroids = Self.kMeans(points, width: width, clusters: clusterCount)
        let assignment = Self.assign(points, width: width, centroids: centroids)

        var members = [[Int]](repeating: [], count: clusterCount)
        for (index, cluster) in assignment.enumerated() { members[cluster].append(index) }
        self.reach = members.enumerated().map { cluster, indices in
            guard indices.count > 1 else { return 0 }
            var squared = 0.0
            for index in indices {
                for j in 0..<width {
                    let difference = Double(points[index * width + j] - centroids[cluster * width + j])
                    squared += difference * difference
                }
            }
            let spread = (squared / Double(indices.count) / Double(width)).squareRoot()
            return Float(spread * (2 * log(Double(indices.count))).squareRoot())
        }
        var ranges: [Range<Int>] = []
        var itemAt: [Int32] = []
        for cluster in members {
            let start = itemAt.count
            itemAt.append(contentsOf: cluster.map { Int32(live[$0]) })
            ranges.append(start..<itemAt.count)
            let padding = (Int8Rows.rowsPerBlock - itemAt.count % Int8Rows.rowsPerBlock) % Int8Rows.rowsPerBlock
            itemAt.append(contentsOf: repeatElement(-1, count: padding))
        }
        let zeros = [Float](repeating: 0, count: k)
        self.rows = items.withUnsafeBufferPointer { items in
            zeros.withUnsafeBufferPointer { zeros in
                Int8Rows(dimension: k, count: itemAt.count) { position in
                    itemAt[position] < 0 ? zeros.baseAddress! : items.baseAddress! + Int(itemAt[position]) * k
                }
            }
        }
        self.offsets = itemAt.map { $0 < 0 ? -.infinity : bias[Int($0)] }
        self.itemAt = itemAt
        self.hashAt = itemAt.map { $0 < 0 ? 0 : hash($0) }
        self.ranges = ranges
        self.centroids = centroids.withUnsafeBufferPointer { centroids in
            Int8Rows(dimension: width, count: clusterCount) { centroids.baseAddress! + $0 * width }
        }
        self.probe = max(1, min(probe, clusterCount))
    }

    /// The clusters to scan for the user row `query` (k floats), best centroid score first.
    func clustersToProbe(_ query: UnsafePointer<Float>) -> [Range<Int>] {
        let k = rows.dimension
        var augmented = [Float](repeating: 1, count: k + 1)
        for j in 0..<k { augmented[j] = query[j] }
        var scores = [Float](repeating: 0, count: clusters)
        augmented.withUnsafeBufferPointer { augmented in
            scores.withUnsafeMutableBufferPointer { centroids.scores(augmented.baseAddress!, offsets: nil, into: $0) }
        }
        let norm = augmented.reduce(0) { $0 + $1 * $1 }.squareRoot()
        for cluster in 0..<clusters { scores[cluster] += norm * reach[cluster] }
        return Self.best(probe, of: scores).map { ranges[$0] }
    }

    /// The indices of the `count` highest of `scores`, best first, ties to the lower index.
    ///
    /// Why not a k-best buffer (`Learner.best`): its comparisons branch at random, and the
    /// mispredictions made choosing 32 of 316 clusters a quarter of a query. Here the count-th
    /// largest key is found by bisection over order-preserving integer keys, each step one
    /// branch-free (vectorized) counting pass, and only the chosen few are sorted.
    static func best(_ count: Int, of scores: [Float]) -> [Int] {
        guard count > 0 else { return [] }
        // Float order as signed integer order (-0 as +0, NaN lowest).
        let keys = scores.map { score -> Int32 in
            guard !score.isNaN else { return .min }
            let bits = Int32(bitPattern: (score + 0).bitPattern)
            return bits >= 0 ? bits : bits ^ .max
        }
        return keys.withUnsafeBufferPointer { keys in
            // The largest threshold that at least `count` keys reach: bisection between the
            // smallest and largest key, stopping early when exactly `count` reach the middle.
            var threshold = Int32.min, ties = Int.max
            if count < keys.count {
                var (low, high) = (Int64(keys.min()!), Int64(keys.max()!))
                var exact = false
                while low < high {
                    let middle = (low + high + 1) >> 1
                    let reached = reaching(Int32(middle), in: keys)
                    if reached >= count { low = middle } else { high = middle - 1 }
                    if reached == count {
                        exact = true
                        break
                    }
                }
                threshold = Int32(low)
                // Keys at the threshold beyond `count` are left out, the higher indices first.
                if !exact { ties = count - (threshold == .max ? 0 : reaching(threshold + 1, in: keys)) }
            }
            var chosen: [UInt64] = []
            chosen.reserveCapacity(min(count, keys.count))
            for (index, key) in keys.enumerated() where key > threshold || (key == threshold && ties > 0) {
                if key == threshold { ties -= 1 }
                // Sorts as (key, then lower index) descending.
                chosen.append(UInt64(UInt32(bitPattern: key) ^ 0x8000_0000) << 32 | UInt64(UInt32.max - UInt32(index)))
            }
            return chosen.sorted(by: >).map { Int(UInt32.max - UInt32(truncatingIfNeeded: $0)) }
        }
    }

    /// How many keys are at least `threshold`.
    private static func reaching(_ threshold: Int32, in keys: UnsafeBufferPointer<Int32>) -> Int {
        crossrec_count_at_least(keys.baseAddress, keys.count, threshold)
    }

    // MARK: Building

    /// Lloyd's k-means on an evenly spaced sample of the points (at most 64 per cluster),
    /// started from evenly spaced sample points: deterministic, and bounded in time whatever
    /// the catalog's size.
    static func kMeans(_ points: [Float], width: Int, clusters: Int, iterations: Int = 8) -> [Float] {
        func rows(_ indices: [Int], of source: [Float]) -> [Float] {
            indices.flatMap { source[$0 * width..<($0 + 1) * width] }
        }
        let count = points.count / width
        let sample = rows(Learner.evenlySpaced(Array(0..<count), 64 * clusters), of: points)
        var centroids = rows(Learner.evenlySpaced(Array(0..<sample.count / width), clusters), of: sample)
        for _ in 0..<iterations {
            let assignment = assign(sample, width: width, centroids: centroids)
            var sums = [Double](repeating: 0, count: clusters * width)
            var sizes = [Int](repeating: 0, count: clusters)
            for (index, cluster) in assignment.enumerated() {
                sizes[cluster] += 1
                for j in 0..<width { sums[cluster * width + j] += Double(sample[index * width + j]) }
            }
            // An empty cluster keeps its centroid.
            for cluster in 0..<clusters where sizes[cluster] > 0 {
                for j in 0..<width { centroids[cluster * width + j] = Float(sums[cluster * width + j] / Double(sizes[cluster])) }
            }
        }
        return centroids
    }

    /// The nearest centroid of each point (Euclidean; ties to the lower cluster), scored by
    /// the int8 kernel: argmin ‖x − c‖² = argmax x·c − ‖c‖²/2.
    static func assign(_ points: [Float], width: Int, centroids: [Float]) -> [Int] {
        let clusters = centroids.count / width
        let count = points.count / width
        let quantized = centroids.withUnsafeBufferPointer { centroids in
            Int8Rows(dimension: width, count: clusters) { centroids.baseAddress! + $0 * width }
        }
        // Half squared norms of the quantized centroids, so that the kernel's scores compare them.
        let offsets = (0..<clusters).map { cluster in -quantized.row(cluster).reduce(0) { $0 + $1 * $1 } / 2 }
        var scores = [Float](repeating: 0, count: clusters)
        var assignment = [Int](repeating: 0, count: count)
        points.withUnsafeBufferPointer { points in
            scores.withUnsafeMutableBufferPointer { scores in
                for index in 0..<count {
                    quantized.scores(points.baseAddress! + index * width, offsets: offsets, into: scores)
                    var best = 0
                    for cluster in 1..<clusters where scores[cluster] > scores[best] { best = cluster }
                    assignment[index] = best
                }
            }
        }
        return assignment
    }
}

extension ServingModel {
    /// Mean share of the exact top 10 (all items, seen ones included) that the index returns,
    /// over the user rows `users`; nil without an index or users.
    func indexRecall(domain d: Int, users rows: [Int]) -> Double? {
        guard domains[d].index != nil, !rows.isEmpty else { return nil }
        var sum = 0.0
        for row in rows {
            let exact = topItems(userRow: row, domain: d, k: 10, excludeSeen: false, useIndex: false)
            guard !exact.isEmpty else { continue }
            let approximate = Set(topItems(userRow: row, domain: d, k: 10, excludeSeen: false, useIndex: true).map(\.item))
            sum += Double(exact.filter { approximate.contains($0.item) }.count) / Double(exact.count)
        }
        return sum / Double(rows.count)
    }
}
