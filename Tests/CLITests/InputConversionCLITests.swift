import Foundation
import XCTest

/// Every command that reads images brings them to the model's input by one rule (`ModelInput`):
/// a synthetic set (grey PNGs, decoded as RGB) is read by `eval` and `train` of a grey model.
final class InputConversionCLITests: CLITestCase {
    /// Ten synthetic images of the bundled (grey, 28-pixel) ResNet-20 teacher, in `work/syn`.
    func syntheticSet() throws -> String {
        let dir = work + "/syn"
        let (status, text) = try run(["synthesize", "--model", "resnet20", "--weights", "bundled", "--num-samples", "10",
                                      "--synthesis-iterations", "2", "--synthesis-batch-size", "10", "--out", dir])
        XCTAssertEqual(status, 0, text)
        return dir
    }

    func testEvalReadsTheSyntheticSetOfAGreyTeacher() throws {
        let syn = try syntheticSet()
        let (status, out, err) = try runSplit(["eval", "--model", "resnet20", "--weights", "bundled", "--data", "imagefolder:" + syn,
                                               "--json", work + "/e.json"])
        XCTAssertEqual(status, 0, out + err)
        XCTAssert(err.contains("note: imagefolder:\(syn)'s images are converted to the model's input: grey 28x28"), err)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: work + "/e.json"))) as! [String: Any]
        XCTAssertEqual(json["count"] as? Int, 10)
        // The teacher's own data is read as it is.
        let (s2, _, e2) = try runSplit(["eval", "--model", "resnet20", "--weights", "bundled", "--data", "bundled", "--limit", "5"])
        XCTAssertEqual(s2, 0, e2)
        XCTAssertFalse(e2.contains("converted"), e2)
    }

    func testConvertedImagesNeedTheModelsOwnNormalisation() throws {
        let syn = try syntheticSet()
        let w = try weights()   // random init: no normalisation in its metadata
        let (status, text) = try run(["eval", "--weights", w, "--data", "imagefolder:" + syn])
        XCTAssertNotEqual(status, 0)
        XCTAssert(text.contains("--data imagefolder:\(syn): its images are converted to the model's input (grey 28x28), but \(w) records no normalisation"), text)
        XCTAssert(text.contains("pass --mean and --std"), text)
        let (s2, t2) = try run(["eval", "--weights", w, "--data", "imagefolder:" + syn, "--mean", "0.3", "--std", "0.3"])
        XCTAssertEqual(s2, 0, t2)
        let (s3, t3) = try run(["eval", "--weights", w, "--data", "imagefolder:" + syn, "--image-size", "7"])
        XCTAssertNotEqual(s3, 0)
        XCTAssert(t3.contains("--image-size must be in 8...1024, got 7"), t3)
    }

    func testTrainConvertsOnlyWhenTheChannelsAreGiven() throws {
        let syn = try syntheticSet()
        let out = work + "/t.safetensors"
        let base = ["train", "--model", "resnet20", "--data", "imagefolder:" + syn, "--split", "train", "--epochs", "1",
                    "--batch-size", "5", "--mean", "0.3", "--std", "0.3", "--out", out]
        let (status, text) = try run(base)
        XCTAssertNotEqual(status, 0)
        XCTAssert(text.contains("has 3-channel images but a new resnet20 takes 1; pass --in-channels 3, or --in-channels 1 to convert the images"), text)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        let (s2, t2) = try run(base + ["--in-channels", "1"])
        XCTAssertEqual(s2, 0, t2)
        XCTAssert(t2.contains("converted to the model's input: grey 28x28"), t2)
        let (s3, t3) = try run(["inspect", out])
        XCTAssertEqual(s3, 0, t3)
        XCTAssert(t3.contains("practise.image_size"), t3)
        // The trained grey model reads the bundled Fashion-MNIST images as they are.
        let (s4, t4) = try run(["eval", "--weights", out, "--data", "bundled", "--limit", "5"])
        XCTAssertEqual(s4, 0, t4)
        XCTAssertFalse(t4.contains("converted"), t4)
    }
}
