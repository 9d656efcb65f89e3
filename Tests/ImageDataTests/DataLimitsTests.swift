import Foundation
import XCTest
@testable import ImageData

/// Files that declare (or are) more than ``DataLimits`` allow are refused before the reader
/// allocates for them, with an error naming the file, what was declared and the limit.
final class DataLimitsTests: XCTestCase {
    func gzip(_ bytes: [UInt8], in dir: String, name: String) throws -> String {
        let raw = dir + "/" + name
        try writeBytes(bytes, to: raw)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gzip", "-n", "-f", raw]
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        return raw + ".gz"
    }

    /// A gzip IDX whose header declares 3.3 GB (100,000 images of 100×330) is refused from the
    /// header: only its first bytes are inflated.
    func testGzipIDXDeclaringMoreThanTheLimitIsRefusedFromItsHeader() throws {
        let dir = try temporaryDirectory(self)
        // Header plus 1 MiB of zeros: inflating all of it would not reach the declared size either.
        let images = try gzip(DataFuzzing.header([100_000, 100, 330]) + [UInt8](repeating: 0, count: 1 << 20), in: dir, name: "bomb-images")
        let labels = try gzip(DataFuzzing.header([100_000]) + [UInt8](repeating: 0, count: 100_000), in: dir, name: "labels")
        assertDataError(try IDXDataset(imagesPath: images, labelsPath: labels),
                        contains: [images, "dimensions [100000, 100, 330]", "3300000000 bytes", "limit of 1073741824 bytes"])
    }

    /// Within the limit, a header that declares more than DEFLATE can expand the file to is
    /// refused without inflating it.
    func testGzipIDXDeclaringMoreThanDeflateCanHoldIsRefused() throws {
        let dir = try temporaryDirectory(self)
        let images = try gzip(DataFuzzing.header([10_000, 100, 100]) + [UInt8](repeating: 0, count: 1000), in: dir, name: "images")
        assertDataError(try IDXDataset.decode(try readBytes(images), path: images, expectedDims: 3),
                        contains: [images, "dimensions [10000, 100, 100] need 100000016 bytes", "gzip file can inflate to"])
    }

    /// Found by the fuzzer: dimensions whose product overflows 64 bits trapped.
    func testIDXDimensionsWhoseProductOverflowsAreRefused() {
        let header = DataFuzzing.header([0xffff_ff2c, 0xef30_d40d, 0x7fff_ffff])
        assertDataError(try IDXDataset.parseHeader(header, path: "big.idx", expectedDims: 3),
                        contains: ["big.idx", "more than 2^63 bytes", "limit of 1073741824 bytes"])
        // A zero dimension makes the product zero however large the others are.
        XCTAssertEqual(try IDXDataset.parseHeader(DataFuzzing.header([0xffff_ff2c, 0xef30_d40d, 0]), path: "z", expectedDims: 3),
                       [0xffff_ff2c, 0xef30_d40d, 0])
    }

    /// A gzip stream longer than its header declares is refused once it passes the declared size.
    func testGzipIDXWithMoreDataThanDeclaredIsRefused() throws {
        let dir = try temporaryDirectory(self)
        let images = try gzip(DataFuzzing.header([2, 2, 2]) + [UInt8](repeating: 7, count: 100), in: dir, name: "images")
        assertDataError(try IDXDataset.decode(try readBytes(images), path: images, expectedDims: 3),
                        contains: [images, "trailing bytes", "dimensions [2, 2, 2] need 24 bytes"])
    }

    /// A CIFAR batch file larger than the limit is refused from its size, without reading it
    /// (a sparse file: no disk is used).
    func testOversizedCIFARFileIsRefusedFromItsSize() throws {
        let dir = try temporaryDirectory(self)
        let path = dir + "/test_batch.bin"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        try handle.truncate(atOffset: UInt64(DataLimits.cifarFileBytes) + 3073)
        try handle.close()
        assertDataError(try CIFARDataset(directory: dir, variant: .cifar10, split: .test),
                        contains: [path, "CIFAR batch file", "1073744897 bytes", "limit of 1073741824 bytes"])
    }

    /// An image whose header declares more than ``DataLimits/imagePixels`` is refused before
    /// decoding (PNG: IHDR of 16384 × 16384; JPEG: SOF of 16384 × 8193).
    func testImagesDeclaringTooManyPixelsAreRefusedFromTheHeader() throws {
        var png = try readBytes(fixture("decode/rgb.png"))
        // IHDR width/height at bytes 16..<24, then the chunk's CRC (libpng checks it).
        let big: [UInt8] = [0, 0, 0x40, 0, 0, 0, 0x40, 0]
        png.replaceSubrange(16..<24, with: big)
        let crc = crc32(Array(png[12..<29]))
        png.replaceSubrange(29..<33, with: (0..<4).map { UInt8(truncatingIfNeeded: crc >> (24 - 8 * UInt32($0))) })
        assertDataError(try ImageDecoder.decode(png, name: "huge.png"),
                        contains: ["huge.png", "PNG dimensions 16384x16384", "more than 67108864 pixels"])
        var jpeg = try readBytes(fixture("decode/rgb.jpg"))
        let sof = try XCTUnwrap((0..<(jpeg.count - 9)).first { jpeg[$0] == 0xFF && (jpeg[$0 + 1] == 0xC0 || jpeg[$0 + 1] == 0xC2) })
        jpeg.replaceSubrange((sof + 5)..<(sof + 9), with: [0x20, 0x01, 0x40, 0x00])   // height 8193, width 16384
        assertDataError(try ImageDecoder.decode(jpeg, name: "huge.jpg"),
                        contains: ["huge.jpg", "JPEG dimensions 16384x8193", "more than 67108864 pixels"])
    }

    /// A strip whose long side is more than 64 times its short one is refused (resizing its
    /// short side to a model's input would take gigabytes); 64:1 itself is an image.
    func testImagesNarrowerThanTheAspectLimitAreRefused() throws {
        let strip = try PNGEncoder.encode(Image(width: 65, height: 1, channels: 1, pixels: [UInt8](repeating: 7, count: 65)))
        assertDataError(try ImageDecoder.decode(strip, name: "strip.png"), contains: ["strip.png", "65×1 pixels", "more than 64 times the other"])
        let tall = try PNGEncoder.encode(Image(width: 1, height: 130, channels: 1, pixels: [UInt8](repeating: 7, count: 130)))
        assertDataError(try ImageDecoder.decode(tall, name: "tall.png"), contains: ["1×130 pixels"])
        let ok = try PNGEncoder.encode(Image(width: 128, height: 2, channels: 1, pixels: [UInt8](repeating: 7, count: 256)))
        XCTAssertEqual(try ImageDecoder.decode(ok, name: "ok.png").width, 128)
    }

    /// zlib's CRC-32 of `bytes` (for the PNG chunk rewritten above).
    private func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xffff_ffff
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xedb8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
