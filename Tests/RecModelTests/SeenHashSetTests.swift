import Testing

@testable import RecModel

@Suite("Seen hash set")
struct SeenHashSetTests {
    /// Membership agrees with `Set` for lists with duplicates, a zero hash and sizes across
    /// growth steps of the table.
    @Test func agreesWithSetMembership() {
        var generator = SplitMix64(seed: 7)
        for count in [0, 1, 7, 8, 9, 100, 1_000, 4_097] {
            var hashes = (0..<count).map { _ in generator.next() }
            if count > 2 {
                hashes[1] = hashes[0]  // a re-rating
                hashes[2] = 0
            }
            let set = SeenHashSet(hashes[...])
            let expected = Set(hashes)
            // Counted outside #expect: the macro cannot borrow a noncopyable value.
            let found = hashes.filter { set.contains($0) }.count
            #expect(found == hashes.count)
            let zeroFound = set.contains(0)
            #expect(zeroFound == expected.contains(0))
            let probes = (0..<2_000).map { _ in generator.next() }
            let mismatches = probes.filter { set.contains($0) != expected.contains($0) }
            #expect(mismatches.isEmpty)
        }
    }
}
