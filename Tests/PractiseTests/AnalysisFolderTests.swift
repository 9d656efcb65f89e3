import Engine
import Foundation
import NN
import Practise
import XCTest

/// The merge names what is missing or mismatched; the status tells done, running and missing apart.
final class AnalysisFolderTests: XCTestCase {
    var base = ""
    override func setUp() {
        base = FileManager.default.temporaryDirectory.appendingPathComponent("practise-folder-\(getpid())-\(UUID().uuidString.prefix(8))").path
    }
    override func tearDown() { try? FileManager.default.removeItem(atPath: base) }

    func merge(_ dir: String, expected: ShardSettings? = ShardRunTests.settings()) throws -> [CandidateScore] {
        let teacher = ShardRunTests.teacher()
        return try AnalysisFolder(dir).merge(expected: expected, teacher: teacher, imageShape: ShardRunTests.shape,
                                             latency: MeasuredLatencySource(meter: ShardRunTests.quickMeter, model: teacher,
                                                                            imageShape: ShardRunTests.shape, batch: 2)).scores
    }

    func testMergeNamesMissingAndMismatchedCandidates() throws {
        let dir = base + "/a"
        let only = try ShardRunTests.shard(dir, 0, 3).run(data: ShardRunTests.tinyData())
        let all = try AnalysisFolder(dir).loadManifest()!.candidates
        let missing = all.filter { !only.trained.contains($0) }
        XCTAssertThrowsError(try merge(dir)) { e in
            XCTAssert("\(e)".contains("\(missing.count) of \(all.count) candidates have no result: \(missing.joined(separator: ", "))"), "\(e)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/scores.json"))
        }
        for i in 1..<3 { _ = try ShardRunTests.shard(dir, i, 3).run(data: ShardRunTests.tinyData()) }
        XCTAssertEqual(try merge(dir).count, all.count)
        XCTAssertThrowsError(try merge(dir, expected: ShardRunTests.settings(iterations: 9))) {
            XCTAssert("\($0)".contains("analysed with other settings: iterations 6 (these options give 9)"), "\($0)")
        }
        // The merge's own thread count does not matter; the shards' must agree.
        XCTAssertNoThrow(try merge(dir, expected: ShardRunTests.settings(threads: 64)))
        let file = dir + "/results/\(all[1]).json"
        var r = try JSONDecoder().decode(CandidateResult.self, from: Data(contentsOf: URL(fileURLWithPath: file)))
        r.settings.threads += 1
        try JSONEncoder().encode(r).write(to: URL(fileURLWithPath: file))
        XCTAssertThrowsError(try merge(dir)) {
            XCTAssert("\($0)".contains("results made with other settings: \(all[1]): threads \(r.settings.threads) (expected \(r.settings.threads - 1))"), "\($0)")
        }
        // A recoverability no analysis writes (a mean squared error is finite and ≥ 0).
        r.settings.threads -= 1
        for bad in [-1.0, -1e-9] {
            r.recoverability = bad
            try JSONEncoder().encode(r).write(to: URL(fileURLWithPath: file))
            XCTAssertThrowsError(try merge(dir)) {
                XCTAssert("\($0)".contains("results whose recoverability is not a mean squared error (finite, ≥ 0): \(all[1]): \(bad)"), "\($0)")
            }
        }
        // Timings no shard writes (they feed --status's projections).
        r.recoverability = 0.5
        for (key, edit) in [("seconds_per_iteration", { (r: inout CandidateResult) in r.secondsPerIteration = -2 }),
                            ("teacher_seconds_per_iteration", { (r: inout CandidateResult) in r.teacherSecondsPerIteration = -0.5 }),
                            ("shard_wall_seconds", { (r: inout CandidateResult) in r.shardWallSeconds = -1 })] {
            var damaged = r
            edit(&damaged)
            try JSONEncoder().encode(damaged).write(to: URL(fileURLWithPath: file))
            XCTAssertThrowsError(try merge(dir)) {
                XCTAssert("\($0)".contains("\(file) is not a candidate result (\(key) must be a finite number of seconds ≥ 0, found -"), "\($0)")
            }
            XCTAssertThrowsError(try AnalysisFolder(dir).status()) { XCTAssert("\($0)".contains("\(key) must be a finite number"), "\($0)") }
        }
        try "{".write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try merge(dir)) { XCTAssert("\($0)".contains("\(file) is not a candidate result"), "\($0)") }
        XCTAssertThrowsError(try merge(base + "/empty")) { XCTAssert("\($0)".contains("holds no analysis.json"), "\($0)") }
    }

    func testStatusDoneRunningMissing() throws {
        let dir = base + "/s"
        let folder = AnalysisFolder(dir)
        let zero = try ShardRunTests.shard(dir, 0, 3).run(data: ShardRunTests.tinyData())
        let all = try folder.loadManifest()!.candidates
        let others = all.filter { !zero.trained.contains($0) }
        let now = Date().timeIntervalSince1970
        let host = ProcessInfo.processInfo.hostName
        // A live shard (this process), one whose process is gone, none for the rest.
        try folder.writeHeartbeat(ShardHeartbeat(shard: 1, count: 3, candidates: [others[0]], host: host, pid: getpid(),
                                                 iteration: 2, iterations: 6, updated: now))
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run(); gone.waitUntilExit()
        try folder.writeHeartbeat(ShardHeartbeat(shard: 2, count: 3, candidates: [others[1]], host: host, pid: gone.processIdentifier,
                                                 iteration: 4, iterations: 6, updated: now))
        let status = Dictionary(uniqueKeysWithValues: try folder.status().map { ($0.block, $0.state) })
        for b in zero.trained { if case .done(let r) = status[b]! { XCTAssertEqual(r.shard, "0/3") } else { XCTFail("\(b) not done") } }
        guard case .running(let h) = status[others[0]]!, h.iteration == 2 else { return XCTFail("\(status[others[0]]!)") }
        guard case .missing(let last?) = status[others[1]]!, last.shard == 2 else { return XCTFail("\(status[others[1]]!)") }
        for b in others.dropFirst(2) { XCTAssertEqual(status[b]!, .missing(lastSeen: nil)) }
        // A heartbeat that is too old means its shard is gone, wherever it ran.
        var stale = folder
        stale.staleAfterSeconds = 0.5
        let later = try stale.status(now: Date(timeIntervalSince1970: now + 1))
        XCTAssertFalse(later.contains { if case .running = $0.state { return true }; return false })
    }

    /// A manifest whose candidates are none, repeated or not block paths is damaged: every
    /// reader of the folder refuses it (an empty list once trapped `--status`).
    func testDamagedCandidateListsAreRefused() throws {
        let dir = base + "/m"
        _ = try ShardRunTests.shard(dir, 0, 1).run(data: ShardRunTests.tinyData())
        let file = dir + "/" + AnalysisFolder.manifestFile
        var m = try XCTUnwrap(try AnalysisFolder(dir).loadManifest())
        for (candidates, found) in [([String](), "found none"), (["layer3.1", "layer3.1"], "found a block twice"),
                                    (["../../etc/passwd"], "found '../../etc/passwd', which is not a block path")] {
            m.candidates = candidates
            try JSONEncoder().encode(m).write(to: URL(fileURLWithPath: file))
            for attempt in [{ _ = try AnalysisFolder(dir).status() }, { _ = try self.merge(dir) }] {
                XCTAssertThrowsError(try attempt()) {
                    XCTAssert("\($0)".contains("\(file) is damaged: its candidates must be distinct block paths"), "\($0)")
                    XCTAssert("\($0)".contains(found), "\($0)")
                }
            }
        }
    }

    /// The saved latency.json is reused only when it is what the source would give now: edited
    /// figures out of range, an inverted interval, or another batch, thread count or CPU make
    /// the merge measure again (and rewrite it).
    func testLatencyFileIsReusedOnlyWhenItMatchesTheSource() throws {
        let dir = base + "/l"
        _ = try ShardRunTests.shard(dir, 0, 1).run(data: ShardRunTests.tinyData())
        _ = try merge(dir)
        let file = dir + "/latency.json"
        let measured = try JSONDecoder().decode(BlockLatencies.self, from: Data(contentsOf: URL(fileURLWithPath: file)))
        let block = measured.reductions.keys.sorted()[0]
        func edited(_ change: (inout BlockLatencies) -> Void) throws -> BlockLatencies {
            var l = measured
            change(&l)
            try JSONEncoder().encode(l).write(to: URL(fileURLWithPath: file))
            _ = try merge(dir)
            return try JSONDecoder().decode(BlockLatencies.self, from: Data(contentsOf: URL(fileURLWithPath: file)))
        }
        let same = try edited { _ in }
        XCTAssertEqual(same, measured, "the same figures are reused as they are")
        for change: (inout BlockLatencies) -> Void in [
            { $0.reductions[block] = LatencyInterval(exact: 1e6) },
            { $0.reductions[block]!.value = -50 },
            { $0.reductions[block]!.low = 50; $0.reductions[block]!.high = 1 },
            { $0.origin.batch = 64 },
            { $0.origin.threads += 1 },
            { $0.origin.cpu = "Raspberry" },
        ] {
            let again = try edited(change)
            XCTAssert(again.reductions.values.allSatisfy(\.isPlausibleReduction))
            XCTAssertEqual(again.origin, measured.origin, "measured again here")
        }
    }
}
