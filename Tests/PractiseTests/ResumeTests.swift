import Engine
import Foundation
import NN
import Practise
import TestSupport
import XCTest

/// An interrupted analysis, resumed, ends with the same recoverabilities as an uninterrupted one.
final class ResumeTests: XCTestCase {
    func tinyData() -> TinySet {
        TinySet(count: 8, trainBatch: { i in
            LabelledBatch(images: randomTensor([4, 1, 12, 12], seed: UInt64(100 + i)), labels: [0, 1, 2, 3])
        }, evalBatches: {
            [LabelledBatch(images: randomTensor([8, 1, 12, 12], seed: 99), labels: Array(0..<8).map { $0 % 4 })]
        })
    }

    func makeRun(dir: String) throws -> AnalysisRun {
        let teacher = Architecture.resnet20.make(numClasses: 4, seed: 11)
        let candidates = Candidates.find(in: teacher, imageShape: [1, 12, 12])
        let settings = AnalysisSettings(model: "resnet20", candidates: candidates.map(\.path), iterations: 6, batchSize: 4,
                                        learningRate: 0.02, seed: 1, samples: ["0", "1"])
        let run = try AnalysisRun(teacher: teacher, imageShape: [1, 12, 12], settings: settings, stateDir: dir, latencyBatch: 2)
        run.checkpointEvery = 2
        run.latencyMeter = LatencyMeter(warmupRuns: 0, runs: 2, budgetSeconds: 1, minRuns: 1)
        return run
    }

    func testInterruptedAnalysisResumesToTheSameResult() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("practise-resume-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        let straight = try makeRun(dir: base + "/a").run(data: tinyData())

        let first = try makeRun(dir: base + "/b")
        first.iterationLimit = 3
        XCTAssertThrowsError(try first.run(data: tinyData())) { XCTAssert($0 is AnalysisInterrupted) }
        XCTAssert(FileManager.default.fileExists(atPath: base + "/b/adaptors.safetensors"))
        let resumed = try makeRun(dir: base + "/b").run(data: tinyData())
        XCTAssertEqual(resumed.map(\.block), straight.map(\.block))
        XCTAssertEqual(resumed.map(\.recoverability), straight.map(\.recoverability))
    }

    func testResumeRefusesDifferentSettings() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("practise-resume2-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try makeRun(dir: dir)
        let teacher = Architecture.resnet20.make(numClasses: 4, seed: 11)
        let other = AnalysisSettings(model: "resnet20", candidates: ["layer1.1"], iterations: 7, batchSize: 4, learningRate: 0.02, seed: 1, samples: [])
        XCTAssertThrowsError(try AnalysisRun(teacher: teacher, imageShape: [1, 12, 12], settings: other, stateDir: dir, latencyBatch: 2)) {
            XCTAssert("\($0)".contains("different settings"), "\($0)")
        }
    }

    func testNaNLossStopsWithTheIteration() {
        let teacher = Architecture.resnet20.make(numClasses: 4, seed: 11)
        let c = Candidates.find(in: teacher, imageShape: [1, 12, 12])
        let analysis = RecoverabilityAnalysis(teacher: teacher, candidates: [c[0]], config: PhaseConfig(iterations: 5, batchSize: 4))
        let bad = TinySet(count: 4, trainBatch: { i in
            LabelledBatch(images: Tensor(repeating: i == 2 ? .nan : 1, shape: [4, 1, 12, 12]), labels: [0, 1, 2, 3])
        }, evalBatches: { [] })
        XCTAssertThrowsError(try analysis.train(data: bad)) { XCTAssert("\($0)".contains("at iteration 3"), "\($0)") }
    }

    /// A non-finite recoverability is an error naming the candidate, not a value to write or rank.
    func testANonFiniteRecoverabilityIsRefusedNamingTheCandidate() throws {
        XCTAssertEqual(try AnalysisRun.checkedRecoverability(0.25, of: "layer1.1"), 0.25)
        for bad in [Double.infinity, .nan] {
            XCTAssertThrowsError(try AnalysisRun.checkedRecoverability(bad, of: "layer1.1")) { e in
                XCTAssert("\(e)".contains("the recoverability of layer1.1 is") && "\(e)".contains("try a lower --lr"), "\(e)")
            }
        }
    }
}
