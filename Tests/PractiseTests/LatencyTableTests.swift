import Engine
import Foundation
import NN
@testable import Practise
import XCTest

/// Latency tables: reading and checking them, and selection by them instead of measuring here.
final class LatencyTableTests: XCTestCase {
    lazy var dir: String = {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("practise-table-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func write(_ json: String, _ name: String = "t.json") -> String {
        let p = dir + "/" + name
        FileManager.default.createFile(atPath: p, contents: Data(json.utf8))
        return p
    }

    /// A hand-written table for resnet20: `reductions[block]` percent, no intervals.
    func handTable(_ reductions: [String: Double]) -> String {
        let rows = reductions.sorted { $0.key < $1.key }.map { "{\"block\": \"\($0.key)\", \"latency_reduction\": \($0.value)}" }
        return """
        {"format": "practise-latency-table/1", "model": "resnet20", "batch": 1, "threads": 1,
         "cpu": "Cortex-A72 (by hand)", "engine": "hand", "blocks": [\(rows.joined(separator: ", "))]}
        """
    }

    let blocks = ["layer1.1", "layer1.2", "layer2.1", "layer2.2", "layer3.1", "layer3.2"]

    func testReadsAHandWrittenTable() throws {
        let t = try LatencyTable.load(write(handTable(Dictionary(uniqueKeysWithValues: blocks.map { ($0, 4.0) }))))
        XCTAssertEqual(t.blocks.count, 6)
        XCTAssertEqual(t.blocks[0].interval, LatencyInterval(exact: 4))
        XCTAssertEqual(t.origin(path: "x.json").summary, "table x.json: Cortex-A72 (by hand), 1 thread, batch 1, hand")
        let model = Architecture.resnet20.make(numClasses: 4, seed: 1)
        let candidates = Candidates.find(in: model, imageShape: [1, 12, 12])
        XCTAssertEqual(try t.reductions(for: candidates, model: "resnet20", path: "x").count, 6)
        XCTAssertThrowsError(try t.reductions(for: candidates, model: "resnet56", path: "x")) {
            XCTAssert("\($0)".contains("is for model resnet20, expected resnet56"), "\($0)")
        }
        let partial = try LatencyTable.load(write(handTable(["layer1.1": 4]), "p.json"))
        XCTAssertThrowsError(try partial.reductions(for: candidates, model: "resnet20", path: "p.json")) {
            XCTAssert("\($0)".contains("lacks candidate blocks layer1.2, layer2.1"), "\($0)")
        }
        // One shard's subset of candidates is fine.
        XCTAssertEqual(try partial.reductions(for: [candidates[0]], model: "resnet20", path: "p.json").count, 1)
    }

    func testRejectsBadTablesNamingFileAndField() {
        func error(_ json: String) -> String {
            do { _ = try LatencyTable.load(write(json, "bad.json")); return "no error" } catch { return "\(error)" }
        }
        XCTAssert(error("[1, 2]").contains("bad.json: not a latency table"))
        XCTAssert(error(#"{"format": "practise-latency-table/1", "model": "resnet20", "batch": 1, "threads": 1, "cpu": "x", "blocks": []}"#)
            .contains("missing key 'engine'"))
        XCTAssert(error(handTable(["layer1.1": 4]).replacingOccurrences(of: "/1", with: "/9")).contains("format 'practise-latency-table/9', expected 'practise-latency-table/1'"))
        XCTAssert(error(handTable(["layer1.1": 140])).contains("block layer1.1 has latency_reduction 140.0"))
        XCTAssert(error(handTable(["layer1.1": -1])).contains("expected percentages in [0, 100)"))
        let impossible = handTable(["layer1.1": 40, "layer1.2": 40, "layer2.1": 40])
        XCTAssert(error(impossible).contains("bad.json: its blocks' latency reductions add up to 120.0%"), error(impossible))
        let inverted = #"{"format": "practise-latency-table/1", "model": "resnet20", "batch": 1, "threads": 1, "cpu": "x", "engine": "y", "blocks": [{"block": "layer1.1", "latency_reduction": 4, "low": 5, "high": 6}]}"#
        XCTAssert(error(inverted).contains("has low 5.0 > latency_reduction 4.0"), error(inverted))
        let negative = #"{"format": "practise-latency-table/1", "model": "resnet20", "batch": 1, "threads": 1, "cpu": "x", "engine": "y", "whole_model_ms": -3, "blocks": []}"#
        XCTAssert(error(negative).contains("bad.json: whole_model_ms is -3.0; expected a latency in milliseconds > 0"), error(negative))
        do { _ = try LatencyTable.load(dir + "/none.json"); XCTFail() } catch { XCTAssert("\(error)".contains("none.json: cannot read the file (it does not exist)"), "\(error)") }
        do { _ = try LatencyTable.load(dir); XCTFail() } catch { XCTAssert("\(error)".contains("--latency-table \(dir) is a folder"), "\(error)") }
    }

    func tinyData() -> TinySet {
        TinySet(count: 4, trainBatch: { i in
            var g = SeededGenerator(seed: UInt64(i))
            return LabelledBatch(images: Tensor((0..<(4 * 144)).map { _ in g.nextGaussian() }, shape: [4, 1, 12, 12]), labels: [0, 1, 2, 3])
        }, evalBatches: {
            var g = SeededGenerator(seed: 9)
            return [LabelledBatch(images: Tensor((0..<(4 * 144)).map { _ in g.nextGaussian() }, shape: [4, 1, 12, 12]), labels: [0, 1, 2, 3])]
        })
    }

    /// `compress` with a table: the candidates carry the table's figures, the blocks dropped
    /// are the ones those figures imply, and the report names the table as their origin.
    func compress(table path: String, rule: DropRule) throws -> (CompressionOutcome, CompressionReport) {
        let spec = ModelSpec(architecture: .resnet20, numClasses: 4)
        let teacher = spec.build(seed: 5)
        var options = CompressionOptions(rule: rule, analysisIterations: 2, finetuneIterations: 1, latencyBatch: 2)
        options.batchSize = 4
        options.latencyTable = TableLatencySource(table: try LatencyTable.load(path), path: path, model: "resnet20")
        let run = CompressionRun(teacher: teacher, spec: spec, imageShape: [1, 12, 12], options: options)
        run.latencyMeter = LatencyMeter(warmupRuns: 1, runs: 11, budgetSeconds: 5, minRuns: 11)
        let o = try run.run(data: tinyData(), samples: ["0", "1", "2", "3"], analysisStateDir: dir + "/analysis-\(UUID().uuidString)",
                            evaluate: { _ in Accuracy(top1: 50, top5: 100, count: 4) }, progress: { _ in })
        return (o, CompressionReport(outcome: o, options: options, model: "resnet20", weights: "w", data: "d", evalData: "e", numSamples: 4))
    }

    /// A table that says blocks are free (0%) makes the selection skip them, whatever their
    /// recoverability; the two it says cost something are dropped.
    func testSelectionByAHandTableSkipsFreeBlocks() throws {
        var r = Dictionary(uniqueKeysWithValues: blocks.map { ($0, 0.0) })
        r["layer1.2"] = 9; r["layer3.1"] = 7
        let path = write(handTable(r))
        let (o, report) = try compress(table: path, rule: .count(2))
        XCTAssertEqual(o.dropped, ["layer1.2", "layer3.1"])
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: o.scores.map { ($0.block, $0.latencyReduction) }), r)
        XCTAssertEqual(report.latencySource?.source, "table \(path)")
        XCTAssertEqual(report.latencySource?.cpu, "Cortex-A72 (by hand)")
        // The opposite table chooses the opposite blocks.
        var other = Dictionary(uniqueKeysWithValues: blocks.map { ($0, 0.0) })
        other["layer2.1"] = 5; other["layer3.2"] = 5
        XCTAssertEqual(try compress(table: write(handTable(other), "o.json"), rule: .count(2)).0.dropped, ["layer2.1", "layer3.2"])
    }

    /// With a table a latency target is judged by the table's figures (the deployment
    /// machine's), not by a measurement here.
    func testTargetByATableIsJudgedByTheTable() throws {
        var r = Dictionary(uniqueKeysWithValues: blocks.map { ($0, 0.0) })
        r["layer2.2"] = 30
        let (o, report) = try compress(table: write(handTable(r)), rule: .latencyTarget(0.25))
        XCTAssertEqual(o.dropped, ["layer2.2"])
        XCTAssertEqual(report.selectionLatencyReduction ?? 0, 0.30, accuracy: 1e-12)
        XCTAssertEqual(report.targetMet, true)
        XCTAssertEqual(report.targetBasis, "latency table")
        XCTAssertThrowsError(try compress(table: write(handTable(r), "t2.json"), rule: .latencyTarget(0.5))) {
            XCTAssert("\($0)".contains("no selection reaches a 50.0% latency reduction"), "\($0)")
        }
    }
}
