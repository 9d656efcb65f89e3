import Foundation
import XCTest

/// The tiny set and the evaluation data come from separate sources (`--data`, `--eval-data`);
/// an unlabelled folder feeds MiR and is refused by BP.
final class SeparateSourcesTests: CLITestCase {
    /// Eight RGB images of several sizes, in nested folders, used as an unlabelled set.
    var unlabelled: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ImageDataTests/Fixtures/folder").path
    }

    func testUnlabelledTinySetRunsMiRAndTheReportRecordsBothSources() throws {
        let w = try weights()
        let out = work + "/mir"
        let (status, text) = try run(["compress", "--weights", w, "--data", "images:" + unlabelled, "--eval-data", "bundled",
                                      "--num-samples", "6", "--blocks", "layer1.1", "--finetune-iterations", "2",
                                      "--batch-size", "4", "--latency-batch", "2", "--no-onnx", "--out", out])
        XCTAssertEqual(status, 0, text)
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/report.json"))) as! [String: Any]
        XCTAssertEqual(report["data"] as? String, "images:\(unlabelled) train")
        XCTAssertEqual(report["eval_data"] as? String, "bundled test")
        XCTAssertEqual(report["input_conversion"] as? String, "grey 28x28")
        XCTAssertEqual(report["eval_count"] as? Int, 2000)
        let samples = try String(contentsOfFile: out + "/samples.txt", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(samples.count, 6)
        XCTAssert(samples.allSatisfy { $0.hasPrefix("train/") || $0.hasPrefix("val/") }, "\(samples)")
    }

    func testBPRefusesAnUnlabelledTinySet() throws {
        let w = try weights()
        let (status, text) = try run(["compress", "--weights", w, "--data", "images:" + unlabelled, "--eval-data", "bundled",
                                      "--num-samples", "4", "--blocks", "layer1.1", "--method", "BP", "--out", work + "/bp"])
        XCTAssertNotEqual(status, 0)
        XCTAssert(text.contains("--method BP trains on labels (cross-entropy), but the tiny set images:"), text)
        XCTAssert(text.contains("use --method MiR"), text)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work + "/bp"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: work + "/bp.partial"))
    }

    func testUnlabelledDataCannotBeTheEvaluationData() throws {
        let w = try weights()
        let (status, text) = try run(["analyze", "--weights", w, "--data", "images:" + unlabelled, "--out", work + "/a"])
        XCTAssertNotEqual(status, 0)
        XCTAssert(text.contains("--data images:\(unlabelled) has no labels; give the teacher's own labelled data with --eval-data"), text)
        let (s2, t2) = try run(["analyze", "--weights", w, "--data", "bundled", "--eval-data", "synthetic:10", "--out", work + "/a"])
        XCTAssertNotEqual(s2, 0)
        XCTAssert(t2.contains("--eval-data synthetic:10: synthetic images cannot be the evaluation data"), t2)
    }
}

/// `--data synthetic:N` synthesises the tiny set from the teacher and publishes it with the run.
final class SyntheticDataTests: CLITestCase {
    func testSyntheticTinySetIsMadePublishedAndRecorded() throws {
        let w = try weights()
        let out = work + "/syn"
        let (status, text) = try run(["compress", "--weights", w, "--data", "synthetic:6", "--eval-data", "bundled",
                                      "--synthesis-iterations", "3", "--synthesis-batch-size", "4", "--blocks", "layer1.1",
                                      "--finetune-iterations", "2", "--batch-size", "4", "--latency-batch", "2", "--no-onnx", "--out", out])
        XCTAssertEqual(status, 0, text)
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/report.json"))) as! [String: Any]
        XCTAssertEqual(report["data"] as? String, "synthetic:6 (\(out)/synthetic)")
        XCTAssertEqual(report["eval_data"] as? String, "bundled test")
        XCTAssertEqual(report["num_samples"] as? Int, 6)
        let fm = FileManager.default
        XCTAssert(fm.fileExists(atPath: out + "/synthetic/contact-sheet.png"))
        XCTAssert(fm.fileExists(atPath: out + "/synthetic/5/00005.png"))
        let samples = try String(contentsOfFile: out + "/samples.txt", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(samples.first, "0/00000.png")
        let (s2, t2) = try run(["synthesize", "--weights", w, "--num-samples", "2", "--mean", "0.3", "--std", "0.3", "--synthesis-method", "nope", "--out", work + "/x"])
        XCTAssertNotEqual(s2, 0)
        XCTAssert(t2.contains("'nope' is invalid for '--synthesis-method"), t2)
        XCTAssert(t2.contains("deepinversion") && t2.contains("zeroq"), t2)
    }

    /// Impossible synthesis settings are refused by the parser, before any work: nothing written.
    func testImpossibleSynthesisSettingsAreRefusedBeforeAnyWork() throws {
        for (option, value, message) in [("--synthesis-iterations", "0", "synthesis iterations must be positive, got 0"),
                                         ("--synthesis-batch-size", "1", "synthesis batch size must be at least 2"),
                                         ("--synthesis-tv", "-1", "synthesis TV weight must be ≥ 0, got -1.0")] {
            let out = work + "/refused"
            let (status, text) = try run(["compress", "--weights", try weights(), "--data", "synthetic:4",
                                          "--blocks", "layer1.1", option, value, "--out", out])
            XCTAssertNotEqual(status, 0, option)
            XCTAssert(text.contains(message), "\(option): \(text)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), option)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out + ".partial"), option)
        }
    }
}
