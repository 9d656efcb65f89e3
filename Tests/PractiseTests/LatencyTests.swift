import Engine
import Foundation
import NN
import Practise
import XCTest

final class LatencyTests: XCTestCase {
    let meter = LatencyMeter(warmupRuns: 1, runs: 9, budgetSeconds: 10, minRuns: 5)

    func testBlocksOfIdenticalShapeGetIdenticalReductions() {
        let model = Architecture.resnet20.make(seed: 1)
        let candidates = Candidates.find(in: model, imageShape: [1, 28, 28])
        let (r, whole) = meter.candidateReductions(model: model, candidates: candidates, imageShape: [1, 28, 28], batch: 4)
        XCTAssertEqual(r["layer1.1"], r["layer1.2"])
        XCTAssertEqual(r["layer2.1"], r["layer2.2"])
        XCTAssertEqual(r["layer3.1"], r["layer3.2"])
        XCTAssert(r.values.allSatisfy { $0 > 0 && $0 < 50 }, "\(r)")
        XCTAssertEqual(whole.batch, 4)
        XCTAssertGreaterThanOrEqual(whole.runs, 5)
        XCTAssertLessThanOrEqual(whole.p10Ms, whole.medianMs)
        XCTAssertLessThanOrEqual(whole.medianMs, whole.p90Ms)
    }

    func testSubMillisecondWorkloadsAreRepeatedWithinASample() {
        var calls = 0
        let m = LatencyMeter(warmupRuns: 1, runs: 5, budgetSeconds: 10, minRuns: 5, minSampleMs: 2)
        let r = m.measure(batch: 1, [{ calls += 1; usleep(100) }])[0]
        XCTAssertEqual(r.runs, 5)
        // One warm-up call, then ≥ 2 ms / (≥ 0.1 ms per call) ≈ up to 20 calls per sample.
        XCTAssertGreaterThan(calls, 1 + 5 * 3)
        XCTAssertGreaterThan(r.medianMs, 0.09)
        XCTAssertLessThan(r.medianMs, 2)
    }

    func testRankingIsStableAcrossRepeatedAnalyses() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("practise-rank-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        let data = TinySet(count: 8, trainBatch: { i in
            var g = SeededGenerator(seed: UInt64(i))
            return LabelledBatch(images: Tensor((0..<(4 * 144)).map { _ in g.nextGaussian() }, shape: [4, 1, 12, 12]), labels: [0, 1, 2, 3])
        }, evalBatches: {
            var g = SeededGenerator(seed: 77)
            return [LabelledBatch(images: Tensor((0..<(8 * 144)).map { _ in g.nextGaussian() }, shape: [8, 1, 12, 12]), labels: Array(repeating: 0, count: 8))]
        })
        var rankings: [[String]] = []
        for run in 0..<2 {
            let teacher = Architecture.resnet20.make(numClasses: 4, seed: 5)
            let candidates = Candidates.find(in: teacher, imageShape: [1, 12, 12]).map(\.path)
            let settings = AnalysisSettings(model: "resnet20", candidates: candidates, iterations: 4, batchSize: 4, learningRate: 0.02, seed: 1, samples: [])
            let a = try AnalysisRun(teacher: teacher, imageShape: [1, 12, 12], settings: settings, stateDir: "\(base)/\(run)", latencyBatch: 4)
            a.latencyMeter = meter
            rankings.append(Selection.ranked(try a.run(data: data)).map(\.block))
        }
        XCTAssertEqual(rankings[0], rankings[1])
    }
}
