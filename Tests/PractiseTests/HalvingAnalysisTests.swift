import Engine
import Foundation
import NN
import Practise
import TestSupport
import XCTest

/// Fixed latency figures, so which candidates a rung keeps does not depend on the machine.
struct FixedLatencySource: LatencySource {
    var sourceLabel: String { "fixed (test)" }
    func blockLatencies(for candidates: [BlockCandidate]) throws -> BlockLatencies {
        var reductions: [String: LatencyInterval] = [:]
        for (i, c) in candidates.enumerated() { reductions[c.path] = LatencyInterval(exact: 4 + Double(i % 3)) }
        return BlockLatencies(reductions: reductions, origin: LatencyOrigin(source: sourceLabel, cpu: "test", threads: 1, batch: 1, engine: "test"))
    }
}

/// A halving analysis (``AnalysisRun`` with ``SuccessiveHalving``) against the full one.
final class HalvingAnalysisTests: XCTestCase {
    let iterations = 8
    /// Budgets 2, 4, 8; the selection needs 1 and no margin, so rungs keep ⌈n/2⌉.
    let halving = SuccessiveHalving(factor: 2, rounds: 2, margin: 0, selection: .count(1))

    func tinyData() -> TinySet {
        TinySet(count: 8, trainBatch: { i in
            LabelledBatch(images: randomTensor([4, 1, 12, 12], seed: UInt64(300 + i)), labels: [0, 1, 2, 3])
        }, evalBatches: {
            [LabelledBatch(images: randomTensor([8, 1, 12, 12], seed: 299), labels: Array(0..<8).map { $0 % 4 })]
        })
    }

    func teacher() -> ClassifierModel { Architecture.resnet20.make(numClasses: 4, seed: 13) }

    func makeRun(dir: String, halving: SuccessiveHalving?) throws -> AnalysisRun {
        let t = teacher()
        let candidates = Candidates.find(in: t, imageShape: [1, 12, 12])
        let settings = AnalysisSettings(model: "resnet20", candidates: candidates.map(\.path), iterations: iterations, batchSize: 4,
                                        learningRate: 0.02, seed: 1, samples: ["0", "1"], halving: halving)
        let run = try AnalysisRun(teacher: t, imageShape: [1, 12, 12], settings: settings, stateDir: dir, latencyBatch: 2)
        run.checkpointEvery = 3
        run.latencySource = FixedLatencySource()
        return run
    }

    var base: String { FileManager.default.temporaryDirectory.appendingPathComponent("practise-halving-\(getpid())-\(name.hashValue)").path }

    override func tearDown() { try? FileManager.default.removeItem(atPath: base) }

    /// The property the schedule rests on: a candidate trained through the halving schedule to
    /// the full iterations has the bit-identical recoverability of the full analysis (same
    /// threads), and one eliminated early is marked with the iterations it got.
    func testSurvivorsHaveTheFullAnalysisRecoverabilityBitForBit() throws {
        let full = try makeRun(dir: base + "/full", halving: nil).run(data: tinyData())
        let halvingRun = try makeRun(dir: base + "/halving", halving: halving)
        var announced: [HalvingRung] = []
        halvingRun.onRung = { announced.append($0) }
        let halved = try halvingRun.run(data: tinyData())

        let n = full.count
        XCTAssertGreaterThanOrEqual(n, 4)
        XCTAssertEqual(halved.map(\.block), full.map(\.block))
        XCTAssert(full.allSatisfy(\.fullyMeasured))
        let survivors = halved.filter(\.fullyMeasured)
        XCTAssertEqual(survivors.count, (((n + 1) / 2) + 1) / 2, "⌈⌈n/2⌉/2⌉ candidates reach the full iterations")
        let fullByBlock = Dictionary(uniqueKeysWithValues: full.map { ($0.block, $0.recoverability) })
        for s in survivors {
            XCTAssertEqual(s.recoverability.bitPattern, fullByBlock[s.block]!.bitPattern, "\(s.block): \(s.recoverability) vs \(fullByBlock[s.block]!)")
        }
        // Eliminated candidates got 2 or 4 iterations: ⌊n/2⌋ at the first rung, the rest at the second.
        let eliminated = halved.filter { !$0.fullyMeasured }
        XCTAssertEqual(eliminated.filter { $0.eliminatedAfter == 2 }.count, n / 2)
        XCTAssertEqual(eliminated.filter { $0.eliminatedAfter == 4 }.count, n - n / 2 - survivors.count)
        XCTAssertEqual(announced.map(\.iterations), [2, 4])
        XCTAssertEqual(Set(announced[1].recoverabilities.keys), Set(announced[0].kept))

        // A rung's recoverability is the full schedule's at that iteration: the same adaptors
        // trained two iterations (learning rate of the 8-iteration schedule) and measured.
        let t = teacher()
        let candidates = Candidates.find(in: t, imageShape: [1, 12, 12])
        let prefix = RecoverabilityAnalysis(teacher: t, candidates: candidates,
                                            config: PhaseConfig(iterations: iterations, learningRate: 0.02, batchSize: 4))
        try prefix.train(data: tinyData(), until: 2)
        XCTAssertEqual(prefix.completedIterations, 2)
        let cache = try prefix.makeEvalCache(data: tinyData())
        for (i, c) in candidates.enumerated() {
            XCTAssertEqual(prefix.recoverability(of: i, cache: cache).bitPattern, announced[0].recoverabilities[c.path]!.bitPattern, c.path)
        }
        // The selection takes only fully measured candidates.
        XCTAssertEqual(try Selection.lowest(1, of: halved), [Selection.ranked(survivors)[0].block])
    }

    func testAnInterruptedHalvingAnalysisResumesToTheSameResult() throws {
        let straight = try makeRun(dir: base + "/a", halving: halving).run(data: tinyData())
        let first = try makeRun(dir: base + "/b", halving: halving)
        first.iterationLimit = 3  // after the first rung, before the second
        XCTAssertThrowsError(try first.run(data: tinyData())) { XCTAssert($0 is AnalysisInterrupted) }
        XCTAssert(FileManager.default.fileExists(atPath: base + "/b/halving.json"))
        let resumed = try makeRun(dir: base + "/b", halving: halving).run(data: tinyData())
        XCTAssertEqual(resumed, straight)
    }

    func testAFolderOfAnotherScheduleIsRefused() throws {
        _ = try makeRun(dir: base + "/c", halving: halving)
        XCTAssertThrowsError(try makeRun(dir: base + "/c", halving: nil)) { XCTAssert("\($0)".contains("different settings"), "\($0)") }
        var other = halving
        other.margin = 1
        XCTAssertThrowsError(try makeRun(dir: base + "/c", halving: other)) { XCTAssert("\($0)".contains("schedule"), "\($0)") }
    }

    /// analysis files and reports mark an eliminated candidate and its iterations; a fully
    /// measured one is written as before.
    func testScoresJSONMarksEliminatedCandidates() throws {
        let kept = CandidateScore(block: "layer1.1", recoverability: 0.1, latencyReduction: 5)
        let stopped = CandidateScore(block: "layer1.2", recoverability: 0.3, latency: LatencyInterval(exact: 5), eliminatedAfter: 25)
        let json = try XCTUnwrap(String(data: JSONEncoder().encode([kept, stopped]), encoding: .utf8))
        XCTAssertEqual(json.components(separatedBy: "\"eliminated\":true").count, 2, json)
        XCTAssert(json.contains("\"iterations\":25"), json)
        let decoded = try JSONDecoder().decode([CandidateScore].self, from: Data(json.utf8))
        XCTAssertEqual(decoded.map(\.eliminatedAfter), [nil, 25])
    }
}
