import Engine
import XCTest
@testable import ImageData

final class DecoderTests: XCTestCase {
    /// Every fixture (RGB/grey/CMYK JPEG, palette/grey/bilevel/LA/RGBA/16-bit
    /// PNG, a PNG named .JPEG) decodes to exactly Pillow's `convert("RGB")`
    /// (16-bit: high byte). Tolerance 0.
    func testFixturesMatchPillowExactly() throws {
        let manifest = try Manifest.load()
        XCTAssertGreaterThanOrEqual(manifest.decode.count, 12)
        for c in manifest.decode {
            let image = try ImageDecoder.decode(path: fixture("decode/" + c.file))
            XCTAssertEqual(image.width, c.width, c.file)
            XCTAssertEqual(image.height, c.height, c.file)
            XCTAssertEqual(image.channels, 3, c.file)
            let expected = try readBytes(fixture("decode/" + c.file + ".rgb"))
            XCTAssertEqual(image.pixels, expected, "pixels differ from Pillow for \(c.file)")
        }
    }

    func testMagicBytesDecideFormat() throws {
        let bytes = try readBytes(fixture("decode/png-named.JPEG"))
        bytes.withUnsafeBytes { XCTAssertEqual(ImageDecoder.sniff($0), .png) }
        XCTAssertEqual(try ImageDecoder.decode(path: fixture("decode/png-named.JPEG")).width, 20)
    }

    func testBadFilesThrowNamingTheFile() {
        assertDataError(try ImageDecoder.decode(path: fixture("bad/truncated.jpg")),
                        contains: ["bad/truncated.jpg", "truncated"])
        assertDataError(try ImageDecoder.decode(path: fixture("bad/truncated.png")),
                        contains: ["bad/truncated.png", "PNG"])
        assertDataError(try ImageDecoder.decode(path: fixture("bad/text.png")),
                        contains: ["bad/text.png", "not a JPEG or PNG"])
        assertDataError(try ImageDecoder.decode(path: fixture("bad/empty.jpg")),
                        contains: ["bad/empty.jpg", "empty"])
        assertDataError(try ImageDecoder.decode(path: fixture("bad/missing.jpg")),
                        contains: ["bad/missing.jpg", "no such file"])
    }

    /// A corrupt JPEG body either decodes to something or throws; it must never abort.
    func testCorruptJPEGDoesNotAbort() {
        _ = try? ImageDecoder.decode(path: fixture("bad/corrupt.jpg"))
        // Random garbage after a JPEG marker.
        var rng = SeededGenerator(seed: 9)
        for _ in 0..<50 {
            var bytes: [UInt8] = [0xFF, 0xD8, 0xFF]
            for _ in 0..<Int(rng.nextInt(below: 400)) { bytes.append(UInt8(truncatingIfNeeded: rng.next())) }
            _ = try? ImageDecoder.decode(bytes, name: "garbage.jpg")
            var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
            png += bytes
            _ = try? ImageDecoder.decode(png, name: "garbage.png")
        }
    }
}
