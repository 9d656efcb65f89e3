import Practise
import XCTest

final class SelectionTests: XCTestCase {
    let scores = [
        CandidateScore(block: "layer1.1", recoverability: 0.4, latencyReduction: 10),   // 0.04
        CandidateScore(block: "layer1.2", recoverability: 0.1, latencyReduction: 10),   // 0.01
        CandidateScore(block: "layer2.1", recoverability: 0.3, latencyReduction: 5),    // 0.06
        CandidateScore(block: "layer3.1", recoverability: 0.05, latencyReduction: 2.5), // 0.02
    ]

    func testDropByCountTakesLowestScores() throws {
        XCTAssertEqual(try Selection.lowest(2, of: scores), ["layer1.2", "layer3.1"])
        XCTAssertThrowsError(try Selection.lowest(5, of: scores)) { XCTAssert("\($0)".contains("only 4 candidates")) }
    }

    func testDropByTargetUsesMeasurementAndAddsBlocksUntilReached() throws {
        // Predicted: 10 + 2.5 = 12.5% ≥ 12% after two; the "measurement" says 11%, so a third is added.
        var asked: [[String]] = []
        let r = try Selection.reaching(0.12, of: scores) { blocks in
            asked.append(blocks)
            return blocks.count == 2 ? 0.11 : 0.2
        }
        XCTAssertEqual(asked, [["layer1.2", "layer3.1"], ["layer1.2", "layer3.1", "layer1.1"]])
        XCTAssertEqual(r.blocks.count, 3)
        XCTAssertEqual(r.measured, 0.2)
    }

    func testDropByTargetRemovesBlocksWhileTheMeasurementStillReachesIt() throws {
        // Predicted: two blocks for 12%; measured, one block already gives 13%, none fewer exists.
        var asked: [[String]] = []
        let r = try Selection.reaching(0.12, of: scores) { blocks in
            asked.append(blocks)
            return [1: 0.13, 2: 0.25][blocks.count]!
        }
        XCTAssertEqual(asked, [["layer1.2", "layer3.1"], ["layer1.2"]])
        XCTAssertEqual(r.blocks, ["layer1.2"])
        XCTAssertEqual(r.measured, 0.13)
    }

    func testDropByTargetStopsRemovingWhenTheMeasurementFallsShort() throws {
        let r = try Selection.reaching(0.12, of: scores) { blocks in blocks.count == 2 ? 0.2 : 0.1 }
        XCTAssertEqual(r.blocks, ["layer1.2", "layer3.1"])
        XCTAssertEqual(r.measured, 0.2)
    }

    func testUnreachableTargetFails() {
        XCTAssertThrowsError(try Selection.reaching(0.9, of: scores) { _ in 0.3 }) { error in
            XCTAssert("\(error)".contains("no selection reaches a 90.0% latency reduction"), "\(error)")
        }
    }
}
