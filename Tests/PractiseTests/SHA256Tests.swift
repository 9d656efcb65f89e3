import Foundation
import Practise
import XCTest

/// FIPS 180-4 test vectors, and a file hashed in chunks equals the same bytes hashed at once.
final class SHA256Tests: XCTestCase {
    func testKnownDigests() {
        XCTAssertEqual(SHA256.hex(Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hex(Data(repeating: UInt8(ascii: "a"), count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testFileInChunksEqualsWholeData() throws {
        let bytes = Data((0..<(3 << 20) + 77).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) })
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("practise-sha-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try bytes.write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try SHA256.hex(file: path), SHA256.hex(bytes))
        XCTAssertThrowsError(try SHA256.hex(file: path + ".absent")) { XCTAssert("\($0)".contains(".absent"), "\($0)") }
    }
}
