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
        let measured = meter.candidateReductions(model: model, candidates: candidates, imageShape: [1, 28, 28], batch: 4)
        let r = measured.reductions, whole = measured.whole
        XCTAssertEqual(r["layer1.1"], r["layer1.2"])
        XCTAssertEqual(r["layer2.1"], r["layer2.2"])
        XCTAssertEqual(r["layer3.1"], r["layer3.2"])
        XCTAssert(r.values.allSatisfy { $0.value > 0 && $0.value < 50 && $0.low <= $0.value && $0.value <= $0.high }, "\(r)")
        XCTAssertEqual(Set(measured.shapeKeys.values).count, 3)
        XCTAssertEqual(whole.batch, 4)
        XCTAssertGreaterThanOrEqual(whole.runs, 5)
        XCTAssertLessThanOrEqual(whole.p10Ms, whole.medianMs)
        XCTAssertLessThanOrEqual(whole.medianMs, whole.p90Ms)
    }

    func testSubMillisecondWorkloadsAreRepeatedWithinASample() {
        var calls = 0
        let m = LatencyMeter(warmupRuns: 1, runs: 5, budgetSeconds: 10, minRuns: 5, minSampleMs: 20)
        let r = m.measure(batch: 1, [{ calls += 1; usleep(100) }])[0]
        XCTAssertEqual(r.runs, 5)
        // One warm-up call, then 20 ms / (≥ 0.1 ms per call) ≈ up to 200 calls per sample (at
        // least 4 unless the warm-up call took over 5 ms on a loaded machine).
        XCTAssertGreaterThan(calls, 1 + 5 * 3)
        XCTAssertGreaterThan(r.medianMs, 0.09)
        XCTAssertLessThan(r.medianMs, 2)
    }

    /// Rounds stop once the tracked ratio is pinned down: two workloads of fixed relative cost
    /// need few rounds; workloads with a random 1–4× cost per call run to the round limit, and
    /// their interval's spread is above the noise bound (a simulated noisy machine).
    func testRoundsStopWhenTheIntervalIsNarrowAndNoiseIsFlagged() {
        /// Busy-waits until `us` microseconds have passed (a preemption shorter than that costs nothing).
        func spin(_ us: Double) {
            let end = DispatchTime.now().uptimeNanoseconds + UInt64(us * 1000)
            while DispatchTime.now().uptimeNanoseconds < end {}
        }
        // A loose target, so that preemptions on a loaded machine do not keep it from stopping.
        let loose = LatencyMeter(warmupRuns: 1, runs: 40, budgetSeconds: 30, minRuns: 11, minSampleMs: 0, targetHalfWidth: 0.3)
        let steady = loose.rounds([{ spin(2000) }, { spin(1000) }], batch: 1, tracking: [(1, 0)])
        XCTAssertLessThan(steady.wallMs[0].count, 40, "a steady ratio is known before the round limit")
        let m = LatencyMeter(warmupRuns: 1, runs: 40, budgetSeconds: 30, minRuns: 11, minSampleMs: 0, targetHalfWidth: 0.05)
        var g = SeededGenerator(seed: 3)
        var draws: [Double] = (0..<200).map { _ in 500 + Double(g.next() % 1000) * 1.5 }
        let noisy = m.rounds([{ spin(1000) }, { spin(draws.removeLast()) }], batch: 1, tracking: [(1, 0)])
        XCTAssertEqual(noisy.wallMs[0].count, 40)
        let latencies = BlockLatencies(reductions: ["layer1.1": RobustStatistics.medianInterval(noisy.ratios(1, over: 0)).scaled(100)],
                                       origin: .here(threads: 1, batch: 1))
        XCTAssertTrue(latencies.noisy, "spread \(latencies.spread)")
        // The calling thread's CPU time is measured beside wall time, and never exceeds it.
        XCTAssertEqual(noisy.cpuMs[0].count, 40)
        for (cpu, wall) in zip(noisy.cpuMs[0], noisy.wallMs[0]) { XCTAssertLessThanOrEqual(cpu, wall * 1.01 + 0.05) }
    }

    /// `threads` applies for the measurement only.
    func testMeterThreadsApplyDuringTheMeasurement() {
        let saved = Threads.count
        var seen = 0
        let m = LatencyMeter(warmupRuns: 1, runs: 1, budgetSeconds: 1, minRuns: 1, threads: 1)
        let r = m.measure(batch: 1, [{ seen = Threads.count }])
        XCTAssertEqual(seen, 1)
        XCTAssertEqual(r[0].threads, 1)
        XCTAssertEqual(Threads.count, saved)
    }

    /// Two analyses of the same teacher rank the candidates alike. Images are 28×28 at latency
    /// batch 16 (a whole-network pass of a few milliseconds): at 12×12 and batch 4 a block took
    /// tens of microseconds and timer-level noise now and then moved one stage's share by half.
    func testRankingIsStableAcrossRepeatedAnalyses() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("practise-rank-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        let data = TinySet(count: 8, trainBatch: { i in
            var g = SeededGenerator(seed: UInt64(i))
            return LabelledBatch(images: Tensor((0..<(4 * 784)).map { _ in g.nextGaussian() }, shape: [4, 1, 28, 28]), labels: [0, 1, 2, 3])
        }, evalBatches: {
            var g = SeededGenerator(seed: 77)
            return [LabelledBatch(images: Tensor((0..<(8 * 784)).map { _ in g.nextGaussian() }, shape: [8, 1, 28, 28]), labels: Array(repeating: 0, count: 8))]
        })
        var rankings: [[String]] = [], results: [[CandidateScore]] = []
        for run in 0..<2 {
            let teacher = Architecture.resnet20.make(numClasses: 4, seed: 5)
            let candidates = Candidates.find(in: teacher, imageShape: [1, 28, 28]).map(\.path)
            let settings = AnalysisSettings(model: "resnet20", candidates: candidates, iterations: 4, batchSize: 4, learningRate: 0.02, seed: 1, samples: [])
            let a = try AnalysisRun(teacher: teacher, imageShape: [1, 28, 28], settings: settings, stateDir: "\(base)/\(run)", latencyBatch: 16)
            a.latencyMeter = meter
            let result = try a.run(data: data)
            rankings.append(Selection.ranked(result).map(\.block))
            results.append(result)
        }
        // Any pair ordered differently by the two runs is tied within noise in at least one of
        // them (so the tie rule, not a noisy difference, decided it); on a quiet machine and on a
        // loaded one alike the rankings are usually equal.
        for a in rankings[0] {
            for b in rankings[0] where a < b {
                let before = rankings.map { $0.firstIndex(of: a)! < $0.firstIndex(of: b)! }
                let tied = results.map { r in Selection.tied(r.first { $0.block == a }!, r.first { $0.block == b }!) }
                if before[0] != before[1] {
                    XCTAssert(tied[0] || tied[1], "\(a) vs \(b) ordered differently although clearly apart in both runs: \(results)")
                }
            }
        }
    }
}
