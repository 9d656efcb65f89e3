import Foundation
import XCTest

/// `--analysis-schedule halving` and its parameters are refused, naming the options, wherever
/// they make no sense — before any work, writing nothing.
final class AnalysisScheduleCLITests: CLITestCase {
    func testNonsensicalHalvingOptionsAreRefusedBeforeAnyWork() throws {
        let w = try weights()
        let halving = ["--analysis-schedule", "halving"]
        let compress = ["compress", "--weights", w, "--data", "bundled", "--out", work + "/out"]
        let analyze = ["analyze", "--weights", w, "--data", "bundled", "--out", work + "/out"]
        let cases: [([String], String)] = [
            (compress + ["--drop", "2", "--analysis-schedule", "fast"], "The value 'fast' is invalid for '--analysis-schedule"),
            (compress + ["--drop", "2", "--halving-margin", "2"], "--halving-margin needs --analysis-schedule halving"),
            (compress + ["--drop", "2", "--halving-factor", "3"], "--halving-factor needs --analysis-schedule halving"),
            (compress + ["--drop", "2"] + halving + ["--halving-factor", "1"], "--halving-factor must be in 2...16, got 1"),
            (compress + ["--drop", "2"] + halving + ["--halving-rounds", "0"], "--halving-rounds must be in 1...16, got 0"),
            (compress + ["--drop", "2"] + halving + ["--halving-margin", "-1"], "--halving-margin must be in 0...100000, got -1"),
            (compress + ["--drop", "2", "--analysis-iterations", "3"] + halving,
             "needs at least 2^2 analysis iterations (its first rung trains --analysis-iterations / 2^2); got --analysis-iterations 3"),
            (compress + ["--blocks", "layer1.1"] + halving, "--analysis-schedule halving and --blocks exclude each other: --blocks skips the analysis"),
            (compress + ["--drop", "2", "--analysis", work] + halving, "--analysis-schedule halving and --analysis exclude each other"),
            (compress + ["--scheme", "channels", "--prune-ratio", "0.3"] + halving, "--analysis-schedule halving and --scheme channels exclude each other"),
            (analyze + halving, "--analysis-schedule halving needs --halving-keep K on analyze"),
            (analyze + ["--halving-keep", "2"], "--halving-keep needs --analysis-schedule halving"),
            (analyze + halving + ["--halving-keep", "0"], "--halving-keep must be at least 1, got 0"),
            (analyze + halving + ["--halving-keep", "2", "--shard-index", "0", "--shard-count", "2"],
             "--analysis-schedule halving and --shard-index/--shard-count exclude each other"),
            (["analyze", "--weights", w, "--data", "bundled", "--merge", work] + halving + ["--halving-keep", "2"],
             "--analysis-schedule halving and --merge exclude each other"),
            (["demo", "--analysis-iterations", "2", "--out", work + "/out"] + halving, "got --analysis-iterations 2"),
        ]
        for (args, message) in cases {
            let (status, out) = try run(args)
            XCTAssertNotEqual(status, 0, args.joined(separator: " "))
            XCTAssert(out.contains(message), "\(args.joined(separator: " ")):\n\(out)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: work + "/out"), "nothing written: \(args.joined(separator: " "))")
        }
    }

    func testHalvingKeepIsCheckedAgainstTheCandidates() throws {
        let (status, out) = try run(["analyze", "--weights", try weights(), "--data", "bundled", "--out", work + "/a",
                                     "--analysis-schedule", "halving", "--halving-keep", "50"])
        XCTAssertNotEqual(status, 0)
        XCTAssert(out.contains("--halving-keep 50 is more than the"), out)
    }
}
