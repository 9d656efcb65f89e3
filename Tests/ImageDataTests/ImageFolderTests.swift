import XCTest
@testable import ImageData

final class ImageFolderTests: XCTestCase {
    /// Same classes, order and labels as torchvision's ImageFolder on this tree.
    func testTorchvisionOrder() throws {
        let ds = try ImageFolder(root: fixture("folder/train"))
        XCTAssertEqual(ds.classes, ["cat", "dog"])
        XCTAssertEqual(ds.files, ["cat/a.jpg", "cat/b.PNG", "cat/c.JPEG", "cat/sub/d.jpeg", "dog/x.jpeg", "dog/y.png"])
        XCTAssertEqual(ds.labels, [0, 0, 0, 0, 1, 1])
        XCTAssertEqual(ds.channels, 3)
        XCTAssertEqual(ds.defaultNormalization, .imageNet)
        let png = try ds.image(at: 2)        // PNG named .JPEG
        XCTAssertEqual([png.width, png.height, png.channels], [9, 9, 3])
        let grey = try ds.image(at: 5)       // grey PNG → RGB
        XCTAssertEqual(grey.channels, 3)
        XCTAssertEqual(grey[3, 4, 0], grey[3, 4, 2])
    }

    func testSplitsThroughDataSpec() throws {
        let spec = try DataSpec.parse("imagefolder:" + fixture("folder"))
        XCTAssertEqual(try spec.open(split: .train).count, 6)
        let val = try spec.open(split: .test)
        XCTAssertEqual(val.count, 2)
        XCTAssertEqual(val.classes, ["cat", "dog"])
        // Flat class folder: the folder itself for both splits.
        let flat = try DataSpec.parse("imagefolder:" + fixture("folder/val"))
        XCTAssertEqual(try flat.open(split: .train).count, 2)
        XCTAssertEqual(try flat.open(split: .test).count, 2)
        XCTAssertTrue(flat.isFlatImageFolder)
        XCTAssertFalse(spec.isFlatImageFolder)
    }

    func testAnEvaluationSplitWithOtherClassesThanTrainIsRefused() throws {
        let dir = try temporaryDirectory(self)
        try FileManager.default.copyItem(atPath: fixture("folder"), toPath: dir + "/f")
        try FileManager.default.moveItem(atPath: dir + "/f/val/dog", toPath: dir + "/f/val/bird")
        let spec = try DataSpec.parse("imagefolder:" + dir + "/f")
        XCTAssertEqual(try spec.open(split: .train).count, 6)
        assertDataError(try spec.open(split: .test), contains: ["\(dir)/f/val has other classes than \(dir)/f/train",
                                                                 "only in \(dir)/f/train: dog", "only in \(dir)/f/val: bird"])
    }

    func testBadImagesFailNamingTheFileOrAreSkipped() throws {
        let ds = try ImageFolder(root: fixture("badfolder"))
        XCTAssertEqual(ds.files, ["cls_a/good.jpg", "cls_a/truncated.jpg", "cls_b/good.png", "cls_b/text.png"])
        XCTAssertNoThrow(try ds.image(at: 0))
        assertDataError(try ds.image(at: 1), contains: ["badfolder/cls_a/truncated.jpg", "truncated"])
        assertDataError(try ds.image(at: 3), contains: ["badfolder/cls_b/text.png", "not a JPEG or PNG"])

        let skipping = try ImageFolder(root: fixture("badfolder"), skipBadImages: true)
        XCTAssertEqual(skipping.files, ["cls_a/good.jpg", "cls_b/good.png"])
        XCTAssertEqual(skipping.labels, [0, 1])
        XCTAssertEqual(skipping.skippedFiles.map(\.path), ["cls_a/truncated.jpg", "cls_b/text.png"])
        var spec = try DataSpec.parse("imagefolder:" + fixture("badfolder"))
        spec.skipBadImages = true
        XCTAssertEqual(try spec.open(split: .train).count, 2)
        XCTAssertEqual(try spec.open(split: .train).skippedFiles.count, 2)

        // images:DIR skips the same files (it once ignored the flag and failed on the first).
        var unlabelled = try DataSpec.parse("images:" + fixture("badfolder"))
        XCTAssertEqual(try unlabelled.open(split: .train).count, 4)
        unlabelled.skipBadImages = true
        let skippingUnlabelled = try unlabelled.open(split: .train)
        XCTAssertEqual((skippingUnlabelled as? UnlabelledFolder)?.files, ["cls_a/good.jpg", "cls_b/good.png"])
        XCTAssertEqual(skippingUnlabelled.skippedFiles.map(\.path), ["cls_a/truncated.jpg", "cls_b/text.png"])
    }

    func testEmptyAndMissingFolders() throws {
        let dir = try temporaryDirectory(self)
        assertDataError(try ImageFolder(root: dir), contains: [dir, "no class sub-folders"])
        try FileManager.default.createDirectory(atPath: dir + "/a", withIntermediateDirectories: true)
        try writeBytes([1, 2, 3], to: dir + "/a/readme.txt")
        assertDataError(try ImageFolder(root: dir), contains: [dir + "/a", "no .jpg/.jpeg/.png"])
        assertDataError(try DataSpec.parse("imagefolder:" + dir + "/missing").open(split: .train),
                        contains: ["missing", "no such file"])
        // Split folders present but not the one asked for.
        try FileManager.default.createDirectory(atPath: dir + "/s/train/a", withIntermediateDirectories: true)
        assertDataError(try DataSpec.parse("imagefolder:" + dir + "/s").open(split: .test), contains: ["val or test"])
    }

    func testSampleKeys() throws {
        let ds = try ImageFolder(root: fixture("folder/train"))
        XCTAssertEqual(ds.sampleKey(at: 3), "cat/sub/d.jpeg")
        XCTAssertEqual(ds.index(forSampleKey: "cat/sub/d.jpeg"), 3)
        XCTAssertEqual(ds.index(forSampleKey: "./train/dog/y.png"), 5)
        XCTAssertNil(ds.index(forSampleKey: "dog/zzz.png"))
    }
}
