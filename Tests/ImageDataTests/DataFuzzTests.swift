import Foundation
import XCTest
@testable import ImageData
import FuzzSupport

/// Seeded mutation fuzzing of the data readers (``DataFuzzing/run(_:targets:)``: JPEG/PNG
/// decoders, IDX, CIFAR) over the committed corpus (Fuzz/corpus) and the decoder fixtures:
/// errors are fine, crashes are not. About 3 s by default; `PRACTISE_FUZZ_SECONDS` and
/// `PRACTISE_FUZZ_SEED` as for the checkpoint fuzz test. Scripts/fuzz-data runs libFuzzer.
final class DataFuzzTests: XCTestCase {
    static let corpusFolders = ["Fuzz/corpus/image", "Fuzz/corpus/idx", "Fuzz/corpus/cifar",
                                "Tests/ImageDataTests/Fixtures/decode", "Tests/ImageDataTests/Fixtures/idx",
                                "Tests/ImageDataTests/Fixtures/bad"]

    func testMutatedInputsNeverCrash() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        var corpus = [[UInt8]]()
        for folder in Self.corpusFolders {
            let path = repository.appendingPathComponent(folder).path
            for name in try FileManager.default.contentsOfDirectory(atPath: path).sorted() where !name.hasSuffix(".rgb") {
                corpus.append(try readBytes(path + "/" + name))
            }
        }
        XCTAssertGreaterThan(corpus.count, 20)
        let run = MutationFuzzer.run(corpus: corpus, defaultSeed: 0xda7a_f022) { DataFuzzing.run($0) }
        print("data fuzz: \(run.iterations) mutated inputs in \(run.seconds) s (seed \(run.seed)), no crash")
    }
}
