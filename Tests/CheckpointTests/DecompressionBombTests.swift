import Foundation
import XCTest
@testable import Checkpoint

/// Zip entries that claim to inflate to far more than the checkpoint needs are refused from
/// their declared sizes, before anything is inflated (no allocation of the claimed size).
final class DecompressionBombTests: XCTestCase {
    /// `deflated.pth` with the central directory's uncompressed size of `entry` replaced.
    func patched(_ entry: String, uncompressedSize: UInt32) throws -> Data {
        var bytes = [UInt8](try Fixtures.data("deflated.pth"))
        let name = Array(entry.utf8)
        let signature: [UInt8] = [0x50, 0x4b, 0x01, 0x02]
        for at in 0..<(bytes.count - 46 - name.count) where Array(bytes[at..<(at + 4)]) == signature {
            let nameLength = Int(bytes[at + 28]) | Int(bytes[at + 29]) << 8
            guard nameLength == name.count, Array(bytes[(at + 46)..<(at + 46 + nameLength)]) == name else { continue }
            for i in 0..<4 { bytes[at + 24 + i] = UInt8(truncatingIfNeeded: uncompressedSize >> (8 * UInt32(i))) }
            return Data(bytes)
        }
        throw CheckpointError("no central directory record for \(entry)")
    }

    func testUnpatchedFixtureLoads() throws {
        XCTAssertEqual(try Checkpoint.load(data: try Fixtures.data("deflated.pth"), fileName: "deflated.pth").order.count, 3)
    }

    func testStorageEntryLargerThanThePickleDeclaresIsNotInflated() throws {
        let data = try patched("fp32/data/0", uncompressedSize: 2_000_000_000)
        assertError("bomb.pth: storage 'data/0' of tensor 'conv.weight' is declared by the pickle as 108 F32 elements (432 bytes) but its zip entry inflates to 2000000000 bytes; refusing to inflate it") {
            try Checkpoint.load(data: data, fileName: "bomb.pth")
        }
    }

    func testEntriesPastTheInflationLimitAreRefusedFromTheirHeaders() throws {
        let data = try patched("fp32/data.pkl", uncompressedSize: 0xffff_fff0)
        assertError("bomb.pth: zip entry 'fp32/data.pkl' declares 4294967280 bytes uncompressed, which takes the file's decompressed data to 4294967280 bytes, more than the limit of 1073741824 bytes") {
            try Checkpoint.load(data: data, fileName: "bomb.pth")
        }
    }
}
