import Engine
import Foundation
import NN
import Practise
import TestSupport
import XCTest

/// N shards give one process's analysis bit for bit; shards resume and skip finished work.
final class ShardRunTests: XCTestCase {
    static let shape = [1, 12, 12]

    static func tinyData() -> TinySet {
        TinySet(count: 8, trainBatch: { i in
            LabelledBatch(images: randomTensor([4, 1, 12, 12], seed: UInt64(100 + i)), labels: [0, 1, 2, 3])
        }, evalBatches: {
            [LabelledBatch(images: randomTensor([8, 1, 12, 12], seed: 99), labels: Array(0..<8).map { $0 % 4 })]
        })
    }

    static func teacher() -> ClassifierModel { Architecture.resnet20.make(numClasses: 4, seed: 11) }

    static let samples = ["0", "1", "2"]
    static let quickMeter = LatencyMeter(warmupRuns: 0, runs: 2, budgetSeconds: 1, minRuns: 1)
    static func settings(iterations: Int = 6, threads: Int = Threads.count) -> ShardSettings {
        ShardSettings(model: "resnet20", teacherSHA256: "test-teacher", samples: samples, seed: 1, iterations: iterations, batchSize: 4,
                      learningRate: 0.02, threads: threads, imageShape: shape)
    }

    static func shard(_ dir: String, _ index: Int, _ count: Int, settings: ShardSettings = settings()) throws -> ShardRun {
        let s = try ShardRun(teacher: teacher(), imageShape: shape, settings: settings, samples: samples, folder: AnalysisFolder(dir),
                             index: index, count: count)
        s.checkpointEvery = 2
        return s
    }

    var base = ""
    override func setUp() {
        base = FileManager.default.temporaryDirectory.appendingPathComponent("practise-shards-\(getpid())-\(UUID().uuidString.prefix(8))").path
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: base) }

    /// The single-process analysis (every candidate in one lockstep run).
    func singleProcess() throws -> (AnalysisRun, [CandidateScore]) {
        let t = Self.teacher()
        let c = Candidates.find(in: t, imageShape: Self.shape)
        let run = try AnalysisRun(teacher: t, imageShape: Self.shape,
                                  settings: AnalysisSettings(model: "resnet20", candidates: c.map(\.path), iterations: 6, batchSize: 4,
                                                             learningRate: 0.02, seed: 1, samples: Self.samples),
                                  stateDir: base + "/single", latencyBatch: 2)
        run.latencyMeter = Self.quickMeter
        return (run, try run.run(data: Self.tinyData()))
    }

    func testShardsGiveTheSingleProcessResultBitForBit() throws {
        let (_, single) = try singleProcess()
        for count in [2, 3] {
            let dir = base + "/sharded-\(count)"
            var trained: [String] = []
            for i in 0..<count { trained += try Self.shard(dir, i, count).run(data: Self.tinyData()).trained }
            XCTAssertEqual(trained.sorted(), single.map(\.block).sorted())
            // The same latency measurement for both, so the comparison is of the training alone.
            try FileManager.default.copyItem(atPath: base + "/single/latency.json", toPath: dir + "/latency.json")
            let teacher = Self.teacher()
            let merged = try AnalysisFolder(dir).merge(expected: Self.settings(), teacher: teacher, imageShape: Self.shape,
                                                       latency: MeasuredLatencySource(meter: Self.quickMeter, model: teacher,
                                                                                      imageShape: Self.shape, batch: 2)).scores
            XCTAssertEqual(merged.map(\.block), single.map(\.block))
            XCTAssertEqual(merged.map(\.recoverability.bitPattern), single.map(\.recoverability.bitPattern), "\(count) shards")
            XCTAssertEqual(merged.map(\.latencyReduction), single.map(\.latencyReduction))
            XCTAssertEqual(try Selection.lowest(2, of: merged), try Selection.lowest(2, of: single))
            XCTAssert(FileManager.default.fileExists(atPath: dir + "/scores.json"))
            // Each result carries its student's measured seconds per iteration, its shard's
            // teacher pass and the plan's estimated cost.
            for block in single.map(\.block) {
                let r = try XCTUnwrap(try AnalysisFolder(dir).result(of: block))
                XCTAssertGreaterThan(try XCTUnwrap(r.secondsPerIteration), 0)
                XCTAssertGreaterThan(try XCTUnwrap(r.teacherSecondsPerIteration), 0)
                XCTAssertGreaterThan(try XCTUnwrap(r.estimatedCost), 0)
            }
        }
    }

    func testInterruptedShardResumesToTheSameBitsAndFinishedShardsSkip() throws {
        let dir = base + "/resume"
        let first = try Self.shard(dir, 1, 2)
        first.iterationLimit = 3
        var lines: [String] = []
        first.log = { lines.append($0) }
        XCTAssertThrowsError(try first.run(data: Self.tinyData())) { XCTAssert($0 is AnalysisInterrupted) }
        XCTAssertEqual(try AnalysisFolder(dir).status().filter { if case .done = $0.state { return true }; return false }.count, 0)
        let again = try Self.shard(dir, 1, 2)
        again.log = { lines.append($0) }
        let outcome = try again.run(data: Self.tinyData())
        XCTAssert(lines.contains { $0.contains("shard 1/2: resuming at iteration 2/6") }, "\(lines)")
        XCTAssert(lines.first!.hasPrefix("shard 1/2: \(outcome.assigned.count) candidates ("), lines.first!)
        let straight = base + "/straight"
        _ = try Self.shard(straight, 1, 2).run(data: Self.tinyData())
        for b in outcome.assigned {
            XCTAssertEqual(try AnalysisFolder(dir).result(of: b)!.recoverability.bitPattern,
                           try AnalysisFolder(straight).result(of: b)!.recoverability.bitPattern, b)
        }
        // A retried or requeued shard whose work is done does nothing.
        let rerun = try Self.shard(dir, 1, 2).run(data: Self.tinyData())
        XCTAssertEqual(rerun.trained, [])
        XCTAssertEqual(rerun.skipped, outcome.assigned)
    }

    func testShardRefusesAFolderOfOtherSettingsAndBadIndices() throws {
        let dir = base + "/mixed"
        _ = try Self.shard(dir, 0, 3).run(data: Self.tinyData())
        XCTAssertThrowsError(try Self.shard(dir, 1, 3, settings: Self.settings(iterations: 7)).run(data: Self.tinyData())) {
            XCTAssert("\($0)".contains("this shard has iterations 7 (expected 6)"), "\($0)")
        }
        XCTAssertThrowsError(try Self.shard(dir, 1, 3, settings: Self.settings(threads: Threads.count + 1)).run(data: Self.tinyData())) {
            XCTAssert("\($0)".contains("threads \(Threads.count + 1) (expected \(Threads.count))"), "\($0)")
        }
        XCTAssertThrowsError(try Self.shard(dir, 3, 3)) { XCTAssert("\($0)".contains("--shard-index must be in 0...2"), "\($0)") }
        XCTAssertThrowsError(try Self.shard(dir, 0, 0)) { XCTAssert("\($0)".contains("--shard-count must be at least 1"), "\($0)") }
    }
}
