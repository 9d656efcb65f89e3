import Foundation
import XCTest

/// Issue 13, ImageFolder splits: top-1 is never measured on the images a command trains on
/// without saying so, and an evaluation split whose classes differ from the train split's is
/// refused naming the classes.
final class ImageFolderSplitTests: CLITestCase {
    /// `Tests/ImageDataTests/Fixtures/folder` (train/{cat,dog}, val/{cat,dog}) copied to `work/name`.
    func folder(_ name: String) throws -> String {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ImageDataTests/Fixtures/folder").path
        let dir = work + "/" + name
        try FileManager.default.copyItem(atPath: fixture, toPath: dir)
        return dir
    }

    /// A random-init RGB, two-class ResNet-20.
    func rgbWeights() throws -> String { try weights("rgb2", extra: ["--in-channels", "3", "--num-classes", "2"]) }

    /// `--skip-bad-images` says how many files it left out, for `imagefolder:` and `images:`.
    func testSkippedImagesAreCountedOnStandardError() throws {
        let bad = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ImageDataTests/Fixtures/badfolder").path
        let w = try rgbWeights()
        let (status, out, err) = try runSplit(["eval", "--weights", w, "--data", "imagefolder:" + bad, "--skip-bad-images",
                                               "--mean", "0.5", "--std", "0.25"])
        XCTAssertEqual(status, 0, out + err)
        XCTAssert(err.contains("--data \(bad): skipped 2 undecodable images (--skip-bad-images); the first, cls_a/truncated.jpg"), err)
        let (s2, o2, e2) = try runSplit(["compress", "--weights", w, "--data", "images:" + bad, "--skip-bad-images", "--eval-data", "imagefolder:" + bad,
                                         "--mean", "0.5", "--std", "0.25", "--blocks", "layer1.1", "--num-samples", "2", "--batch-size", "2",
                                         "--finetune-iterations", "1", "--latency-batch", "1", "--latency-budget", "0.1", "--no-onnx", "--out", work + "/c"])
        XCTAssertEqual(s2, 0, o2 + e2)
        XCTAssert(e2.contains("--eval-data \(bad): skipped 2 undecodable images"), e2)
        XCTAssert(e2.contains("--data \(bad): skipped 2 undecodable images"), e2)
    }

    func testAFlatFolderIsNotBothTheTrainingImagesAndTheTestSplit() throws {
        let w = try rgbWeights()
        let flat = try folder("split") + "/train"   // class folders only: no train/ or val/
        let compress = ["compress", "--weights", w, "--data", "imagefolder:" + flat, "--blocks", "layer1.1", "--finetune-iterations", "1",
                        "--num-samples", "4", "--latency-batch", "1", "--no-onnx", "--mean", "0.5", "--std", "0.25", "--out", work + "/o"]
        try assertRefused(compress, "--data imagefolder:\(flat) has no val/ (or test/) split folder, so its test top-1 would be measured on the images it trains on; lay it out as \(flat)/train/<class>/… and \(flat)/val/<class>/…, or give the evaluation data with --eval-data")
        try assertRefused(["train", "--model", "resnet20", "--in-channels", "3", "--num-classes", "2", "--data", "imagefolder:" + flat,
                           "--epochs", "1", "--batch-size", "2", "--out", work + "/t.safetensors"],
                          "--data imagefolder:\(flat) has no val/ (or test/) split folder, so its test top-1 would be measured on the images it trains on; lay it out as \(flat)/train/<class>/… and \(flat)/val/<class>/…, or pass --split train")
        // Named explicitly as the evaluation data, it is used and the run says so.
        let (status, _, err) = try runSplit(compress + ["--eval-data", "imagefolder:" + flat])
        XCTAssertEqual(status, 0, err)
        XCTAssert(err.contains("note: evaluating on the training images: \(flat) has no val/ or test/ split (--eval-data names it)"), err)
        // Evaluating a folder without training on it is what eval is for.
        let (s2, t2) = try run(["eval", "--weights", w, "--data", "imagefolder:" + flat, "--mean", "0.5", "--std", "0.25"])
        XCTAssertEqual(s2, 0, t2)
    }

    func testAValSplitWithOtherClassesIsRefusedNamingThem() throws {
        let dir = try folder("mismatch")
        try FileManager.default.moveItem(atPath: dir + "/val/dog", toPath: dir + "/val/bird")
        let w = try rgbWeights()
        let message = "\(dir)/val has other classes than \(dir)/train (only in \(dir)/train: dog; only in \(dir)/val: bird)"
        try assertRefused(["eval", "--weights", w, "--data", "imagefolder:" + dir, "--mean", "0.5", "--std", "0.25"], message)
        try assertRefused(["compress", "--weights", w, "--data", "imagefolder:" + dir, "--blocks", "layer1.1", "--mean", "0.5", "--std", "0.25",
                           "--out", work + "/o"], message)
    }

    /// One geometry for every command: what `train` trains a small-image network on is what it
    /// evaluates, records and what `eval` and `compress` (tiny set and evaluation) later feed it (here RGB 32×32 from
    /// photographs of other sizes), never Resize(256) + CenterCrop(224) for one of them.
    func testTrainEvalAndCompressFeedTheModelOneGeometry() throws {
        let dir = try folder("geometry")
        let out = work + "/t32.safetensors"
        let (status, _, err) = try runSplit(["train", "--model", "resnet20", "--in-channels", "3", "--num-classes", "2", "--data", "imagefolder:" + dir,
                                             "--epochs", "1", "--batch-size", "2", "--image-size", "32", "--out", out])
        XCTAssertEqual(status, 0, err)
        let note = "note: imagefolder:\(dir)'s images are converted to the model's input: RGB 32x32"
        XCTAssert(err.contains(note), err)
        let (s2, inspect) = try run(["inspect", out])
        XCTAssertEqual(s2, 0, inspect)
        XCTAssert(inspect.contains("practise.image_size: 32"), inspect)
        let (s3, _, e3) = try runSplit(["eval", "--weights", out, "--data", "imagefolder:" + dir])
        XCTAssertEqual(s3, 0, e3)
        XCTAssert(e3.contains(note), e3)
        let (s4, _, e4) = try runSplit(["compress", "--weights", out, "--data", "imagefolder:" + dir, "--blocks", "layer1.1", "--finetune-iterations", "1",
                                        "--num-samples", "4", "--latency-batch", "1", "--no-onnx", "--out", work + "/o"])
        XCTAssertEqual(s4, 0, e4)
        let report = try String(contentsOfFile: work + "/o/report.json", encoding: .utf8)
        XCTAssert(report.contains("\"input_conversion\" : \"RGB 32x32\""), report)       // the tiny set
        XCTAssert(report.contains("\"eval_input_conversion\" : \"RGB 32x32\""), report)  // top-1
    }
}
