import Foundation
import ONNX
import XCTest

/// The other paths of an ONNX teacher (`--weights model.onnx`): a sharded analysis merges to the
/// one-process result and `compress --analysis` continues from it; `synthesize` writes a tiny set
/// that `compress --data imagefolder:DIR` takes; a file without BatchNorm is refused by synthesis
/// with the reason.
extension HostileInputTests {
    /// A small CIFAR-style residual CNN with its BatchNorms kept (as `torch.onnx.export` writes
    /// it with `training=TrainingMode.PRESERVE`; our own export folds them), node names carrying
    /// PyTorch module paths: input `[batch, 1, 28, 28]`, 10 classes.
    ///
    ///     conv1·bn1·ReLU · layer1.0, layer1.1, layer1.2 (Conv·BN·ReLU·Conv·BN + x · ReLU) · GAP · Flatten · Gemm
    func onnxTeacherWithBatchNorm() throws -> String {
        let path = work + "/bn-teacher.onnx"
        if FileManager.default.fileExists(atPath: path) { return path }
        var state: UInt64 = 7
        /// Uniform in `[-scale, scale)`, a fixed sequence.
        func values(_ count: Int, _ scale: Float) -> [Float] {
            (0..<count).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
            }
        }
        let c = 8
        var b = ONNXGraphBuilder(name: "bn-teacher", inputShape: [.symbolic("batch"), .fixed(1), .fixed(28), .fixed(28)])
        func convBN(_ x: String, _ cin: Int, _ path: String, _ conv: String, _ bn: String) -> String {
            let y = b.conv(x, weight: values(c * cin * 9, (6 / Float(cin * 9)).squareRoot()), weightShape: [c, cin, 3, 3], bias: nil,
                           stride: 1, padding: 1, groups: 1, name: "\(path)/\(conv)/Conv")
            return b.batchNormalization(y, scale: values(c, 0.2).map { 1 + $0 }, bias: values(c, 0.1), mean: values(c, 0.2),
                                        variance: values(c, 0.3).map { 1 + $0 }, epsilon: 1e-5, name: "\(path)/\(bn)/BatchNormalization")
        }
        var x = b.relu(convBN("input", 1, "", "conv1", "bn1"), name: "/relu/Relu")
        for k in 0..<3 {
            let p = "/layer1/layer1.\(k)"
            let h = convBN(b.relu(convBN(x, c, p, "conv1", "bn1"), name: "\(p)/relu/Relu"), c, p, "conv2", "bn2")
            x = b.relu(b.add(h, x, name: "\(p)/Add"), name: "\(p)/relu_1/Relu")
        }
        x = b.gemm(b.flatten(b.globalAveragePool(x, name: "/avgpool/GlobalAveragePool"), name: "/Flatten"),
                   weight: values(10 * c, 0.5), weightShape: [10, c], bias: values(10, 0.1), name: "/fc/Gemm")
        b.output(x, name: "logits", shape: [.symbolic("batch"), .fixed(10)])
        try Data(b.serialize(producerVersion: "test", metadata: [:])).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A latency table written by hand for the ONNX teacher at `path` (distinct figures per block),
    /// so that no latency is measured and every run sees the same figures.
    func handTable(for path: String) throws -> String {
        let blocksJSON = work + "/\(UUID().uuidString).json"
        let (s, text) = try run(["blocks", "--weights", path, "--no-latency", "--json", blocksJSON])
        XCTAssertEqual(s, 0, text)
        let rows = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: blocksJSON))) as? [[String: Any]])
        let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        let table: [String: Any] = ["format": "practise-latency-table/1", "model": "onnx:\(name)", "image_shape": [1, 28, 28], "batch": 1,
                                    "threads": 1, "cpu": "by hand", "engine": "by hand",
                                    "blocks": rows.enumerated().map { i, r in ["block": r["block"]!, "latency_reduction": 2.0 + 0.5 * Double(i)] }]
        let out = work + "/\(name).table.json"
        try JSONSerialization.data(withJSONObject: table).write(to: URL(fileURLWithPath: out))
        return out
    }

    /// `[block: recoverability]` and the order of a `--json` written by analyze.
    func scores(_ path: String) throws -> [(String, Double)] {
        let rows = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [[String: Any]])
        return try rows.map { (try XCTUnwrap($0["block"] as? String), try XCTUnwrap($0["recoverability"] as? Double)) }
    }

    func testShardedAnalysisOfAnONNXTeacherMergesToTheOneProcessResult() throws {
        let teacher = try onnxTeacherWithBatchNorm()
        let common = ["--weights", teacher, "--data", "bundled", "--num-samples", "8", "--analysis-iterations", "3", "--batch-size", "4",
                      "--mean", "0.3", "--std", "0.4", "--latency-table", try handTable(for: teacher)]
        let shared = work + "/shared"
        for i in 0..<2 {
            let (s, text) = try run(["analyze"] + common + ["--shard-index", String(i), "--shard-count", "2", "--out", shared])
            XCTAssertEqual(s, 0, text)
        }
        var (s, text) = try run(["analyze"] + common + ["--merge", shared, "--json", work + "/merged.json"])
        XCTAssertEqual(s, 0, text)
        (s, text) = try run(["analyze"] + common + ["--out", work + "/single", "--json", work + "/single.json"])
        XCTAssertEqual(s, 0, text)
        let merged = try scores(work + "/merged.json"), single = try scores(work + "/single.json")
        XCTAssertEqual(single.map(\.0).sorted(), ["layer1.1", "layer1.2"], "the graph's candidates, named by module path")
        XCTAssertEqual(merged.map(\.0), single.map(\.0))
        // JSON holds each Float recoverability exactly (shortest round-trip decimal of its Double).
        XCTAssertEqual(merged.map { Float($0.1).bitPattern }, single.map { Float($0.1).bitPattern })

        // compress --analysis continues from the shared folder with the same choice.
        (s, text) = try run(["compress"] + common + ["--analysis", shared, "--drop", "1", "--finetune-iterations", "1",
                                                     "--latency-batch", "1", "--latency-budget", "1", "--no-onnx", "--out", work + "/c"])
        XCTAssertEqual(s, 0, text)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: work + "/c/report.json"))) as? [String: Any])
        XCTAssertEqual(report["dropped_blocks"] as? [String], [single[0].0])
    }

    func testSynthesizeFromAnONNXTeacherGivesATinySetCompressTakes() throws {
        let teacher = try onnxTeacherWithBatchNorm()
        let syn = work + "/syn"
        var (s, text) = try run(["synthesize", "--weights", teacher, "--mean", "0.3", "--std", "0.4", "--num-samples", "10",
                                 "--synthesis-iterations", "3", "--synthesis-batch-size", "10", "--out", syn])
        XCTAssertEqual(s, 0, text)
        let fm = FileManager.default
        XCTAssert(fm.fileExists(atPath: syn + "/contact-sheet.png"), text)
        for k in 0..<10 { XCTAssert(fm.fileExists(atPath: syn + "/\(k)/0000\(k).png"), "image \(k) of class \(k)") }
        // Scored on the same ten images, to keep the test short: what is checked is that the set is taken.
        (s, text) = try run(["compress", "--weights", teacher, "--data", "imagefolder:" + syn, "--eval-data", "imagefolder:" + syn,
                             "--mean", "0.3", "--std", "0.4",
                             "--num-samples", "10", "--batch-size", "5", "--analysis-iterations", "2", "--finetune-iterations", "1",
                             "--drop", "1", "--latency-table", try handTable(for: teacher), "--latency-budget", "1", "--no-onnx", "--out", work + "/c"])
        XCTAssertEqual(s, 0, text)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: work + "/c/report.json"))) as? [String: Any])
        XCTAssertEqual(report["data"] as? String, "imagefolder:\(syn) train")
        XCTAssertEqual((report["dropped_blocks"] as? [String])?.count, 1)

        // Our own export folds BatchNorm into the convs: nothing for synthesis to match, said so.
        try assertRefused(["synthesize", "--weights", try onnxWeights(), "--mean", "0.3", "--std", "0.4", "--num-samples", "2", "--out", work + "/s2"],
                          "has no BatchNormalization, whose running statistics synthesis matches")
    }
}
