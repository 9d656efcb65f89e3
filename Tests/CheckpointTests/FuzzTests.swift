import Foundation
import XCTest
@testable import Checkpoint
import FuzzSupport

/// Deterministic mutation fuzzing over the committed fixtures: every
/// mutated input goes through every parser (``CheckpointFuzzing/run(_:)``);
/// errors are fine, crashes are not.
///
/// Runs ~3 s by default; set `PRACTISE_FUZZ_SECONDS` for longer runs and
/// `PRACTISE_FUZZ_SEED` to explore other sequences.
final class FuzzTests: XCTestCase {
    func testMutatedInputsNeverCrash() throws {
        let corpus = try Fixtures.all().map { [UInt8]($0.data) }
        XCTAssertGreaterThan(corpus.count, 10)
        let run = MutationFuzzer.run(corpus: corpus, defaultSeed: 0x5eed_c0de) { input in
            input.withUnsafeBytes(CheckpointFuzzing.run)
        }
        print("fuzz: \(run.iterations) mutated inputs in \(run.seconds) s (seed \(run.seed)), no crash")
    }
}
