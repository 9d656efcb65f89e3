import Engine
import XCTest
@testable import ImageData

final class UnlabelledFolderTests: XCTestCase {
    func testListsEveryImageAtAnyDepthWithoutLabels() throws {
        let d = try UnlabelledFolder(root: fixture("folder"))
        XCTAssertEqual(d.files, ["train/cat/a.jpg", "train/cat/b.PNG", "train/cat/c.JPEG", "train/cat/sub/d.jpeg",
                                 "train/dog/x.jpeg", "train/dog/y.png", "val/cat/v1.jpg", "val/dog/v2.png"])
        XCTAssertFalse(d.isLabelled)
        XCTAssertEqual(d.classCount, 0)
        XCTAssertEqual(d.label(at: 0), -1)
        XCTAssertEqual(d.index(forSampleKey: "./train/dog/y.png"), 5)
        XCTAssertEqual(try d.image(at: 5).channels, 3)
    }

    /// The contact sheet at the top of a synthesised set (beside its settings.json) is not one
    /// of its images; in any other folder a file of that name is.
    func testASyntheticSetsContactSheetIsNotAnImage() throws {
        let dir = try temporaryDirectory(self)
        let png = try Data(contentsOf: URL(fileURLWithPath: fixture("folder") + "/train/dog/y.png"))
        try FileManager.default.createDirectory(atPath: dir + "/3", withIntermediateDirectories: true)
        try png.write(to: URL(fileURLWithPath: dir + "/3/00003.png"))
        try png.write(to: URL(fileURLWithPath: dir + "/" + SyntheticSetLayout.contactSheetFile))
        XCTAssertEqual(try UnlabelledFolder(root: dir).files, ["contact-sheet.png", "3/00003.png"])
        try Data("{}".utf8).write(to: URL(fileURLWithPath: dir + "/" + SyntheticSetLayout.manifestFile))
        XCTAssertEqual(try UnlabelledFolder(root: dir).files, ["3/00003.png"])
    }

    func testEmptyFolderIsAnErrorNamingIt() throws {
        let dir = try temporaryDirectory(self)
        assertDataError(try UnlabelledFolder(root: dir), contains: [dir, "no .jpg/.jpeg/.png file"])
        assertDataError(try UnlabelledFolder(root: dir + "/missing"), contains: ["missing", "no such file"])
    }

    func testSpecsParse() throws {
        XCTAssertEqual(try DataSpec.parse("images:/x").kind, .images)
        let s = try DataSpec.parse("synthetic:100")
        XCTAssertEqual(s.kind, .synthetic)
        XCTAssertEqual(s.syntheticCount, 100)
        XCTAssertEqual(s.description, "synthetic:100")
        assertDataError(try DataSpec.parse("synthetic:0"), contains: ["positive image count"])
        assertDataError(try DataSpec.parse("synthetic"), contains: ["synthetic:N"])
        assertDataError(try DataSpec.parse("synthetic:"), contains: ["positive image count"])
        assertDataError(try DataSpec.parse("bundled:"), contains: ["takes no directory"])
        assertDataError(try DataSpec.parse("images:"), contains: ["empty directory after ':'"])
        assertDataError(try DataSpec.parse("synthetic:100").open(split: .train), contains: ["made from the teacher"])
        XCTAssertEqual(try DataSpec.parse("images:" + fixture("folder")).open(split: .test).count, 8)
    }

    func testSamplingAnUnlabelledSetIsUniformWithoutRepeats() throws {
        let d = try UnlabelledFolder(root: fixture("folder"))
        let a = try FewShotSampler.sample(d, rule: .random(count: 5, balanced: false), seed: 7)
        XCTAssertEqual(Set(a).count, 5)
        XCTAssertEqual(a, try FewShotSampler.sample(d, rule: .random(count: 5, balanced: false), seed: 7))
        assertDataError(try FewShotSampler.sample(d, rule: .perClass(1), seed: 7), contains: ["has no labels"])
    }
}

final class InputConversionTests: XCTestCase {
    func testRGBToGreyIsPillowLuma() {
        var g = SeededGenerator(seed: 0)
        let rgb = Image(width: 2, height: 1, channels: 3, pixels: [255, 0, 0, 10, 200, 30])
        let grey = ConvertChannels(channels: 1).apply(rgb, using: &g)
        // PIL: Image.new("RGB", (2, 1)) with those pixels, convert("L") -> [76, 124]
        XCTAssertEqual(grey.pixels, [76, 124])
        XCTAssertEqual(grey.channels, 1)
        let back = ConvertChannels(channels: 3).apply(grey, using: &g)
        XCTAssertEqual(back.pixels, [76, 76, 76, 124, 124, 124])
    }

    func testResizeThenCentreCropToTheTarget() {
        var g = SeededGenerator(seed: 0)
        let wide = Image(width: 60, height: 30, channels: 3, pixels: [UInt8](repeating: 9, count: 60 * 30 * 3))
        let c = InputConversion(channels: 1, height: 28, width: 28)
        let out = c.prepended(to: .tensorOnly(nil)).applyImageSteps(wide, using: &g)
        XCTAssertEqual([out.channels, out.height, out.width], [1, 28, 28])
        XCTAssertEqual(Set(out.pixels), [9])
        XCTAssertEqual(c.description, "grey 28x28")
        let same = Image(width: 28, height: 28, channels: 1, pixels: [UInt8](repeating: 3, count: 784))
        XCTAssertEqual(c.prepended(to: .tensorOnly(nil)).applyImageSteps(same, using: &g), same)
    }
}

final class PNGEncoderTests: XCTestCase {
    func testGreyAndRGBRoundTripThroughTheDecoder() throws {
        var rng = SeededGenerator(seed: 3)
        for channels in [1, 3] {
            let px = (0..<(7 * 5 * channels)).map { _ in UInt8(rng.nextInt(below: 256)) }
            let img = Image(width: 7, height: 5, channels: channels, pixels: px)
            let decoded = try ImageDecoder.decode(try PNGEncoder.encode(img), name: "mem")
            XCTAssertEqual([decoded.width, decoded.height], [7, 5])
            let rgb = ConvertChannels(channels: 3).apply(img, using: &rng)
            XCTAssertEqual(decoded.pixels, rgb.pixels)
        }
        XCTAssertThrowsError(try PNGEncoder.encode(Image(width: 1, height: 1, channels: 2)))
    }
}
