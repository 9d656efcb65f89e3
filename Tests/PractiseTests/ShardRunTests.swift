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

    static func shard(_ dir: String, _ index: Int, _ count: Int, settings: ShardSettings = settings(),
                      teacher: () throws -> ClassifierModel = teacher) throws -> ShardRun {
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
    func singleProcess(teacher: () throws -> ClassifierModel = teacher, model: String = "resnet20") throws -> (AnalysisRun, [CandidateScore]) {
        let t = try teacher()
        let c = Candidates.find(in: t, imageShape: Self.shape)
        let run = try AnalysisRun(teacher: t, imageShape: Self.shape,
                                  settings: AnalysisSettings(model: model, candidates: c.map(\.path), iterations: 6, batchSize: 4,
                                                             learningRate: 0.02, seed: 1, samples: Self.samples),
                                  stateDir: base + "/single-\(model)", latencyBatch: 2)
        run.latencyMeter = Self.quickMeter
        return (run, try run.run(data: Self.tinyData()))
    }

    /// Shards of 2 and 3 of `teacher` (fresh from `teacher()` in each process, as each job loads
    /// its own copy) merge to the single process's scores bit for bit and the same choice.
    func assertShardsGiveTheSingleProcessResult(teacher: () throws -> ClassifierModel = teacher, model: String = "resnet20",
                                                counts: [Int] = [2, 3], file: StaticString = #filePath, line: UInt = #line) throws {
        let (_, single) = try singleProcess(teacher: teacher, model: model)
        XCTAssertGreaterThan(single.count, 1, "more than one candidate to split", file: file, line: line)
        let settings = ShardSettings(model: model, teacherSHA256: "test-teacher", samples: Self.samples, seed: 1, iterations: 6, batchSize: 4,
                                     learningRate: 0.02, threads: Threads.count, imageShape: Self.shape)
        for count in counts {
            let dir = base + "/sharded-\(model)-\(count)"
            var trained: [String] = []
            for i in 0..<count { trained += try Self.shard(dir, i, count, settings: settings, teacher: teacher).run(data: Self.tinyData()).trained }
            XCTAssertEqual(trained.sorted(), single.map(\.block).sorted(), file: file, line: line)
            // The same latency measurement for both, so the comparison is of the training alone.
            try FileManager.default.copyItem(atPath: base + "/single-\(model)/latency.json", toPath: dir + "/latency.json")
            let t = try teacher()
            let merged = try AnalysisFolder(dir).merge(expected: settings, teacher: t, imageShape: Self.shape,
                                                       latency: MeasuredLatencySource(meter: Self.quickMeter, model: t,
                                                                                      imageShape: Self.shape, batch: 2)).scores
            XCTAssertEqual(merged.map(\.block), single.map(\.block), file: file, line: line)
            XCTAssertEqual(merged.map(\.recoverability.bitPattern), single.map(\.recoverability.bitPattern), "\(count) shards", file: file, line: line)
            XCTAssertEqual(merged.map(\.latencyReduction), single.map(\.latencyReduction), file: file, line: line)
            XCTAssertEqual(try Selection.lowest(2, of: merged), try Selection.lowest(2, of: single), file: file, line: line)
            XCTAssert(FileManager.default.fileExists(atPath: dir + "/scores.json"), file: file, line: line)
            // Each result carries its student's measured seconds per iteration, its shard's
            // teacher pass and the plan's estimated cost.
            for block in single.map(\.block) {
                let r = try XCTUnwrap(try AnalysisFolder(dir).result(of: block), file: file, line: line)
                XCTAssertGreaterThan(try XCTUnwrap(r.secondsPerIteration), 0, file: file, line: line)
                XCTAssertGreaterThan(try XCTUnwrap(r.teacherSecondsPerIteration), 0, file: file, line: line)
                XCTAssertGreaterThan(try XCTUnwrap(r.estimatedCost), 0, file: file, line: line)
            }
        }
    }

    func testShardsGiveTheSingleProcessResultBitForBit() throws {
        try assertShardsGiveTheSingleProcessResult()
    }

    /// The same for a teacher imported from ONNX (the zoo's ResNet-20 written by our exporter,
    /// read back by the importer: a graph network whose candidates keep their module paths).
    func testShardsOfAnONNXTeacherGiveTheSingleProcessResultBitForBit() throws {
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let path = base + "/teacher.onnx"
        try ONNXExport.write(Self.teacher(), spec: ModelSpec(architecture: .resnet20, numClasses: 4), imageShape: Self.shape, to: path)
        let imported: () throws -> ClassifierModel = { try ONNXImporter.load(path: path) }
        // Our writer records the module paths, so the graph's candidates keep the zoo's names.
        XCTAssertEqual(Candidates.find(in: try imported(), imageShape: Self.shape).map(\.path), ["layer1.1", "layer1.2", "layer2.1", "layer2.2", "layer3.1", "layer3.2"])
        try assertShardsGiveTheSingleProcessResult(teacher: imported, model: "onnx:teacher", counts: [2])
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
