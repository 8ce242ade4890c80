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
}
