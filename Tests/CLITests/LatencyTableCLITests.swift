import Foundation
import XCTest

/// `practise latency-table` and `--latency-table` through the tool itself: a table made by our
/// engine and one written by hand drive `compress` to the blocks they imply.
extension CLIErrorTests {
    func json(_ path: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    /// A short compress of random-init ResNet-20 weights with a latency table; returns report.json.
    func compress(weights: String, table: String, out: String, extra: [String] = []) throws -> [String: Any] {
        let (status, text) = try run(["compress", "--weights", weights, "--data", "bundled", "--num-samples", "8", "--analysis-iterations", "2",
                                      "--finetune-iterations", "1", "--batch-size", "4", "--latency-batch", "2", "--drop", "2",
                                      "--latency-table", table, "--no-onnx", "--out", out] + extra)
        XCTAssertEqual(status, 0, text)
        return try json(out + "/report.json")
    }

    func testEngineTableRoundTrip() throws {
        let w = try weights()
        let table = work + "/engine-table.json"
        var (status, text) = try run(["latency-table", "--model", "resnet20", "--batch", "2", "--latency-threads", "1", "--budget", "3", "--out", table])
        XCTAssertEqual(status, 0, text)
        (status, text) = try run(["latency-table", "--model", "resnet20", "--out", table])
        XCTAssertNotEqual(status, 0)
        XCTAssert(text.contains("already exists; use --force"), text)
        let t = try json(table)
        XCTAssertEqual(t["format"] as? String, "practise-latency-table/1")
        XCTAssertEqual(t["batch"] as? Int, 2)
        XCTAssertEqual(t["threads"] as? Int, 1)
        XCTAssert((t["engine"] as? String ?? "").hasPrefix("practise "), "\(t)")
        let rows = try XCTUnwrap(t["blocks"] as? [[String: Any]])
        XCTAssertEqual(rows.count, 6)
        let tableValues = Dictionary(uniqueKeysWithValues: rows.map { ($0["block"] as! String, $0["latency_reduction"] as! Double) })

        let report = try compress(weights: w, table: table, out: work + "/engine-out")
        let candidates = try XCTUnwrap(report["candidates"] as? [[String: Any]])
        for c in candidates {
            XCTAssertEqual(c["latency_reduction"] as? Double, tableValues[c["block"] as! String], "the table's figure, not a measurement here")
        }
        let source = try XCTUnwrap(report["latency_source"] as? [String: Any])
        XCTAssertEqual(source["source"] as? String, "table \(table)")
        XCTAssertEqual(source["threads"] as? Int, 1)
        // The dropped blocks are the first two of the report's ranking.
        let md = try String(contentsOfFile: work + "/engine-out/report.md", encoding: .utf8)
        let ranked = md.split(separator: "\n").filter { $0.hasPrefix("| `layer") }.map { $0.split(separator: "`")[1] }.map(String.init)
        XCTAssertEqual(Set(ranked.prefix(2)), Set(try XCTUnwrap(report["dropped_blocks"] as? [String])))
    }

    func testHandTableRoundTripAndBadTable() throws {
        let w = try weights()
        let table = work + "/hand.json"
        let rows = ["layer1.1": 0, "layer1.2": 0, "layer2.1": 6, "layer2.2": 0, "layer3.1": 0, "layer3.2": 4].sorted { $0.key < $1.key }
            .map { "{\"block\": \"\($0.key)\", \"latency_reduction\": \($0.value)}" }.joined(separator: ", ")
        try #"{"format": "practise-latency-table/1", "model": "resnet20", "image_shape": [1, 28, 28], "batch": 1, "threads": 4, "cpu": "Cortex-A72", "engine": "tflite by hand", "blocks": [ROWS]}"#
            .replacingOccurrences(of: "ROWS", with: rows).write(toFile: table, atomically: true, encoding: .utf8)
        let report = try compress(weights: w, table: table, out: work + "/hand-out")
        XCTAssertEqual(report["dropped_blocks"] as? [String], ["layer2.1", "layer3.2"], "the only two blocks the table says cost anything")
        XCTAssertEqual((report["latency_source"] as? [String: Any])?["engine"] as? String, "tflite by hand")

        let wrong = work + "/wrong.json"
        try String(contentsOfFile: table, encoding: .utf8).replacingOccurrences(of: "[1, 28, 28]", with: "[3, 224, 224]")
            .write(toFile: wrong, atomically: true, encoding: .utf8)
        let (status, text) = try run(["compress", "--weights", w, "--data", "bundled", "--drop", "2", "--latency-table", wrong, "--out", work + "/wrong-out"])
        XCTAssertNotEqual(status, 0)
        XCTAssert(text.contains("--latency-table \(wrong) was measured on images [3, 224, 224], the data's are [1, 28, 28]"), text)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work + "/wrong-out") || FileManager.default.fileExists(atPath: work + "/wrong-out.partial"), "nothing written")
    }
}
