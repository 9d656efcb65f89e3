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
            return LatencyInterval(exact: blocks.count == 2 ? 0.11 : 0.2)
        }
        XCTAssertEqual(asked, [["layer1.2", "layer3.1"], ["layer1.2", "layer3.1", "layer1.1"]])
        XCTAssertEqual(r.blocks.count, 3)
        XCTAssertEqual(r.measured.value, 0.2)
    }

    func testDropByTargetRemovesBlocksWhileTheMeasurementStillReachesIt() throws {
        // Predicted: two blocks for 12%; measured, one block already gives 13%, none fewer exists.
        var asked: [[String]] = []
        let r = try Selection.reaching(0.12, of: scores) { blocks in
            asked.append(blocks)
            return LatencyInterval(exact: [1: 0.13, 2: 0.25][blocks.count]!)
        }
        XCTAssertEqual(asked, [["layer1.2", "layer3.1"], ["layer1.2"]])
        XCTAssertEqual(r.blocks, ["layer1.2"])
        XCTAssertEqual(r.measured.value, 0.13)
    }

    func testDropByTargetStopsRemovingWhenTheMeasurementFallsShort() throws {
        let r = try Selection.reaching(0.12, of: scores) { blocks in LatencyInterval(exact: blocks.count == 2 ? 0.2 : 0.1) }
        XCTAssertEqual(r.blocks, ["layer1.2", "layer3.1"])
        XCTAssertEqual(r.measured.value, 0.2)
    }

    func testUnreachableTargetFails() {
        XCTAssertThrowsError(try Selection.reaching(0.9, of: scores) { _ in LatencyInterval(exact: 0.3) }) { error in
            XCTAssert("\(error)".contains("no selection reaches a 90.0% latency reduction"), "\(error)")
        }
    }

    func score(_ block: String, _ rec: Double, _ latency: Double, _ low: Double, _ high: Double) -> CandidateScore {
        CandidateScore(block: block, recoverability: rec, latency: LatencyInterval(value: latency, low: low, high: high))
    }

    /// The case: blocks of three stages whose measured shares swing with load. Within
    /// noise the order is by recoverability whichever stage happened to measure cheapest; with
    /// narrow intervals it is by score.
    func testCandidatesWithinNoiseAreRankedByRecoverabilityThenName() {
        let noisy = [
            score("layer1.1", 0.30, 13.0, 9, 15), score("layer1.2", 0.30, 13.0, 9, 15),
            score("layer2.1", 0.20, 10.0, 8, 13), score("layer2.2", 0.25, 10.0, 8, 13),
            score("layer3.1", 0.10, 3.5, 3, 9),
        ]
        // By point score: layer3.1 (0.029), layer1.1/1.2 (0.023) first; within noise: recoverability.
        XCTAssertEqual(Selection.ranked(noisy).map(\.block), ["layer3.1", "layer2.1", "layer2.2", "layer1.1", "layer1.2"])
        XCTAssertEqual(Selection.ties(Selection.ranked(noisy)), [["layer3.1", "layer2.1", "layer2.2", "layer1.1", "layer1.2"]])
        // The same recoverabilities with other noisy draws give the same order.
        let otherDraw = [
            score("layer1.1", 0.30, 9.5, 8, 14), score("layer1.2", 0.30, 9.5, 8, 14),
            score("layer2.1", 0.20, 12.5, 9, 14), score("layer2.2", 0.25, 12.5, 9, 14),
            score("layer3.1", 0.10, 6.0, 3, 9),
        ]
        XCTAssertEqual(Selection.ranked(otherDraw).map(\.block), Selection.ranked(noisy).map(\.block))
        XCTAssertEqual(try Selection.lowest(2, of: otherDraw), ["layer3.1", "layer2.1"])
        // Clearly separated (narrow intervals, large differences): by score, no ties.
        let quiet = [score("a", 0.3, 20, 19.8, 20.2), score("b", 0.1, 2, 1.98, 2.02)]
        XCTAssertEqual(Selection.ranked(quiet).map(\.block), ["a", "b"])  // 0.015 < 0.05
        XCTAssertEqual(Selection.ties(Selection.ranked(quiet)), [])
    }

    /// Below the ±10% resolution two latencies count as equal even when their measured
    /// intervals are narrow (a quiet machine ranks as a loaded one does).
    func testDifferencesBelowTheResolutionAreTies() {
        let narrow = [score("layer1.1", 0.2, 10.6, 10.55, 10.65), score("layer2.1", 0.19, 10.0, 9.95, 10.05)]
        // Point scores 0.01887 (layer1.1) < 0.019 (layer2.1), but latencies 6% apart are equal
        // cost at the resolution: the lower recoverability goes first.
        XCTAssertEqual(Selection.ranked(narrow).map(\.block), ["layer2.1", "layer1.1"])
        XCTAssertTrue(Selection.tied(narrow[0], narrow[1]))
        let apart = [score("layer1.1", 0.2, 14, 13.9, 14.1), score("layer2.1", 0.19, 10.0, 9.95, 10.05)]
        XCTAssertFalse(Selection.tied(apart[0], apart[1]))
        XCTAssertEqual(Selection.ranked(apart).map(\.block), ["layer1.1", "layer2.1"])
    }

    /// A block that a latency figure says is free (0%) has an infinite score: never dropped
    /// while another candidate saves anything.
    func testFreeBlockIsRankedLast() throws {
        let s = [score("layer1.1", 0.001, 0, 0, 0), score("layer2.1", 0.5, 5, 5, 5), score("layer3.1", 0.9, 5, 5, 5)]
        XCTAssertEqual(try Selection.lowest(2, of: s), ["layer2.1", "layer3.1"])
    }

    /// Candidates a halving analysis eliminated early rank after every fully measured one
    /// (latest-eliminated first) and are never selected, however low their partial scores.
    func testEliminatedCandidatesRankLastAndAreNeverSelected() throws {
        func stopped(_ b: String, _ r: Double, after n: Int) -> CandidateScore {
            CandidateScore(block: b, recoverability: r, latency: LatencyInterval(exact: 10), eliminatedAfter: n)
        }
        let mixed = scores + [stopped("layer3.2", 0.001, after: 25), stopped("layer2.2", 0.002, after: 50)]
        XCTAssertEqual(Selection.ranked(mixed).map(\.block), ["layer1.2", "layer3.1", "layer1.1", "layer2.1", "layer2.2", "layer3.2"])
        XCTAssertEqual(try Selection.lowest(2, of: mixed), ["layer1.2", "layer3.1"])
        XCTAssertThrowsError(try Selection.lowest(5, of: mixed)) {
            XCTAssert("\($0)".contains("only 4 candidates (fully measured: the halving analysis eliminated 2 more early; raise --halving-margin"), "\($0)")
        }
        let r = try Selection.reaching(0.12, of: mixed) { LatencyInterval(exact: 0.05 * Double($0.count)) }
        XCTAssertEqual(r.blocks, ["layer1.2", "layer3.1", "layer1.1"])
        XCTAssertThrowsError(try Selection.reaching(0.5, of: mixed) { LatencyInterval(exact: 0.05 * Double($0.count)) }) {
            XCTAssert("\($0)".contains("dropping all 4 candidates measured 20.0%") && "\($0)".contains("eliminated 2 more early"), "\($0)")
        }
        // Ties are reported among fully measured candidates only.
        XCTAssert(Selection.ties(Selection.ranked(mixed)).allSatisfy { !$0.contains("layer2.2") && !$0.contains("layer3.2") })
    }
}
