import Checkpoint
import Testing

@Suite("CRC-32C")
struct CRC32CTests {
    @Test func matchesPublishedCheckValues() {
        // RFC 3720 (iSCSI) appendix B.4 and the standard "123456789" check value.
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum([UInt8]()) == 0)
    }

    @Test func incrementalUpdatesEqualOneShot() {
        let bytes = (0..<1_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var crc = CRC32C()
        for split in stride(from: 0, to: bytes.count, by: 77) {
            bytes[split..<min(split + 77, bytes.count)].withUnsafeBytes { crc.update($0) }
        }
        #expect(crc.value == CRC32C.checksum(bytes))
    }

    /// The table path must agree with the CPU instruction (and with the check values) on
    /// every length and alignment, so that files move between machines with and without it.
    @Test func tablePathAgreesWithTheDefaultPath() {
        let bytes = (0..<4_099).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 17) }
        bytes.withUnsafeBytes { all in
            for (start, end) in [(0, 0), (0, 9), (1, 4_099), (3, 2_050), (7, 15)] {
                let slice = UnsafeRawBufferPointer(rebasing: all[start..<end])
                var table = CRC32C()
                table.updateWithTables(slice)
                var fast = CRC32C()
                fast.update(slice)
                #expect(table.value == fast.value, "bytes \(start)..<\(end)")
            }
        }
        var check = CRC32C()
        Array("123456789".utf8).withUnsafeBytes { check.updateWithTables($0) }
        #expect(check.value == 0xE306_9283)
    }
}
