import Foundation
import XCTest

/// The command-line tool refuses bad input with a specific message and writes nothing.
final class CLIErrorTests: CLITestCase {
    func testRefusesExistingOutputFolderWithoutForce() throws {
        let w = try weights()
        try FileManager.default.createDirectory(atPath: work + "/out", withIntermediateDirectories: true)
        let (status, out) = try run(["compress", "--weights", w, "--data", "bundled", "--blocks", "layer1.1", "--out", work + "/out"])
        XCTAssertNotEqual(status, 0)
        XCTAssert(out.contains("already exists; use --force to replace it"), out)
    }

    func testRejectsABlockThatIsNotACandidate() throws {
        let w = try weights()
        let (status, out) = try run(["compress", "--weights", w, "--data", "bundled", "--blocks", "layer2.0",
                                     "--finetune-iterations", "1", "--out", work + "/o2"])
        XCTAssertNotEqual(status, 0)
        XCTAssert(out.contains("'layer2.0' is not a droppable block of resnet20"), out)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work + "/o2"), "nothing written")
    }

    func testRejectsWeightsOfAnotherArchitecture() throws {
        let w = try weights()
        let (status, out) = try run(["eval", "--model", "resnet32", "--weights", w, "--data", "bundled"])
        XCTAssertNotEqual(status, 0)
        XCTAssert(out.contains("holds a resnet20, not a resnet32"), out)
    }

    func testRejectsDataWithTheWrongClassCount() throws {
        let w = try weights()
        let (status, out) = try run(["eval", "--weights", w, "--num-classes", "5", "--data", "bundled"])
        XCTAssertNotEqual(status, 0)
        XCTAssert(out.contains("shape mismatch for fc.weight: expected [5, 64], found [10, 64]"), out)
    }

    func testMissingWeightsFileAndUnknownModel() throws {
        var (status, out) = try run(["eval", "--weights", work + "/nope.safetensors", "--data", "bundled"])
        XCTAssertNotEqual(status, 0)
        XCTAssert(out.contains("weights file not found"), out)
        (status, out) = try run(["blocks", "--model", "vgg16"])
        XCTAssertNotEqual(status, 0)
        XCTAssert(out.contains("The value 'vgg16' is invalid for '--model <model>'"), out)
    }

    func testDropRuleIsRequiredExactlyOnce() throws {
        let (status, out) = try run(["compress", "--weights", try weights(), "--out", work + "/o3", "--drop", "2", "--target-latency-reduction", "0.2"])
        XCTAssertNotEqual(status, 0)
        XCTAssert(out.contains("give exactly one of --drop K, --target-latency-reduction R or --blocks a,b"), out)
    }

    func testShardOptionsAreCheckedAndAnEmptyFolderHasNoStatus() throws {
        let w = try weights()
        let cases: [([String], String)] = [
            (["analyze", "--weights", w, "--shard-index", "0"], "give --shard-index and --shard-count together"),
            (["analyze", "--weights", w, "--shard-index", "0", "--shard-count", "2", "--merge", work], "give only one of"),
            (["analyze", "--weights", w, "--shard-index", "0", "--shard-count", "2", "--force"], "--force cannot be used with --shard-index"),
            (["analyze", "--weights", w, "--checkpoint-every", "0"], "--checkpoint-every must be at least 1 (found 0)"),
            (["analyze", "--status", work], "holds no analysis.json: no shard has started there"),
            (["compress", "--weights", w, "--analysis", work, "--blocks", "layer1.1", "--out", work + "/o4"], "--analysis and --blocks exclude each other"),
        ]
        for (args, message) in cases {
            let (status, out) = try run(args)
            XCTAssertNotEqual(status, 0, args.joined(separator: " "))
            XCTAssert(out.contains(message), "\(args): \(out)")
        }
        let (status, out) = try run(["analyze", "--weights", w, "--data", "bundled", "--shard-index", "2", "--shard-count", "2", "--out", work + "/s"])
        XCTAssertNotEqual(status, 0)
        XCTAssert(out.contains("--shard-index must be in 0...1 for --shard-count 2 (found 2)"), out)
    }
}
