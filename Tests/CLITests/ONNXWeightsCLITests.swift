import Foundation
import XCTest

/// `--weights model.onnx`: the commands take an ONNX network with no `--model`, compress writes
/// the student as ONNX that `eval` scores as compress did, and what cannot be known or does not
/// fit is refused before any work.
extension HostileInputTests {
    /// A random-init ResNet-20 written as ONNX by the tool (input 1×`side`×`side`).
    func onnxWeights(side: Int = 28) throws -> String {
        let path = work + "/r20-\(side).onnx"
        if FileManager.default.fileExists(atPath: path) { return path }
        let (status, out) = try run(["export", "--model", "resnet20", "--random-init", "--image-size", String(side), "--out", path])
        XCTAssertEqual(status, 0, out)
        return path
    }

    func testCompressAnONNXTeacherWritesAnONNXStudentThatEvalScoresTheSame() throws {
        let teacher = try onnxWeights()
        let (bs, blocks) = try run(["blocks", "--weights", teacher, "--no-latency", "--json", work + "/blocks.json"])
        XCTAssertEqual(bs, 0, blocks)
        let rows = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: work + "/blocks.json"))) as? [[String: Any]])
        let candidates = rows.map { $0["block"] as! String }
        XCTAssertEqual(candidates, ["layer1.1", "layer1.2", "layer2.1", "layer2.2", "layer3.1", "layer3.2"],
                       "the tool's export keeps the module paths, so the import names the blocks as the zoo does: \(blocks)")
        let out = work + "/c"
        let (status, text, err) = try runSplit(["compress", "--weights", teacher, "--data", "bundled", "--blocks", candidates[1], "--finetune-iterations", "2",
                                                "--num-samples", "8", "--batch-size", "4", "--latency-batch", "2", "--mean", "0.3", "--std", "0.4",
                                                "--out", out])
        XCTAssertEqual(status, 0, text + err)
        XCTAssertFalse(err.contains("records no normalisation"), "--mean/--std were given: \(err)")
        for f in ["model.onnx", "model.safetensors", "report.json"] { XCTAssert(FileManager.default.fileExists(atPath: out + "/" + f), f) }
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/report.json"))) as? [String: Any])
        XCTAssertEqual(report["model"] as? String, "onnx:r20-28")
        XCTAssertEqual(report["dropped_blocks"] as? [String], [candidates[1]])
        let student = try XCTUnwrap((report["top1"] as? [String: Any])?["student"] as? Double, "report.json: \(report)")

        // The written student, imported again with the normalisation it records, scores as compress measured it.
        let (es, etext, eerr) = try runSplit(["eval", "--weights", out + "/model.onnx", "--data", "bundled", "--json", work + "/eval.json"])
        XCTAssertEqual(es, 0, etext + eerr)
        XCTAssertFalse(eerr.contains("records no normalisation"), eerr)
        let eval = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: work + "/eval.json"))) as? [String: Any])
        XCTAssertEqual(try XCTUnwrap(eval["top1"] as? Double), student, accuracy: 0.001)
        let (bs2, blocks2) = try run(["blocks", "--weights", out + "/model.onnx", "--no-latency"])
        XCTAssertEqual(bs2, 0, blocks2)
        XCTAssertFalse(blocks2.contains(candidates[1] + " "), "the dropped block is gone: \(blocks2)")

        // Its safetensors holds an imported network's weights: practise points to the ONNX file.
        try assertRefused(["eval", "--weights", out + "/model.safetensors", "--data", "bundled"],
                          "holds the weights of a network imported from r20-28.onnx")
    }

    func testWhatAnONNXModelFixesIsRefusedWhenTheOptionsDisagree() throws {
        let w = try onnxWeights()
        try assertRefused(["eval", "--model", "resnet20", "--weights", w], "--model resnet20 and --weights \(w) exclude each other")
        try assertRefused(["eval", "--weights", w, "--num-classes", "5"], "--num-classes 5, but \(w) has 10 outputs")
        try assertRefused(["eval", "--weights", w, "--in-channels", "3"], "--in-channels 3, but \(w) takes 1-channel images")
        // Data of another size is converted to the graph's input, which needs the network's normalisation.
        let w32 = try onnxWeights(side: 32)
        try assertRefused(["eval", "--weights", w32, "--data", "bundled"],
                          "its images are converted to the model's input (grey 32x32), but \(w32) records no normalisation to give them")
        let (s32, o32, e32) = try runSplit(["eval", "--weights", w32, "--data", "bundled", "--limit", "4", "--mean", "0.3", "--std", "0.4"])
        XCTAssertEqual(s32, 0, o32 + e32)
        XCTAssert(e32.contains("converted to the model's input"), e32)
        try assertRefused(["eval", "--weights", w, "--data", "bundled", "--image-size", "30"], "is fixed at 28×28; an image size of 30×30 does not fit it")
        try assertRefused(["train", "--weights", w, "--out", work + "/t.safetensors"], "train starts from scratch")
        try assertRefused(["compress", "--weights", w, "--data", "bundled", "--scheme", "channels", "--prune-ratio", "0.3", "--out", work + "/o"],
                          "--scheme channels works on the zoo's architectures")
        try assertRefused(["compress", "--weights", w, "--data", "bundled", "--blocks", "layer1.0", "--out", work + "/o"],
                          "'layer1.0' is not a droppable block of onnx:r20-28")
        let (status, out, err) = try runSplit(["eval", "--weights", w, "--data", "bundled", "--limit", "10"])
        XCTAssertEqual(status, 0, out + err)
        XCTAssert(err.contains("records no normalisation; using"), err)
    }
}
