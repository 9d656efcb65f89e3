import Foundation
import Practise
import XCTest

/// The halving schedule's arithmetic and its elimination rule on constructed scores.
final class SuccessiveHalvingTests: XCTestCase {
    func testBudgetsAreTheFullIterationsDividedByPowersOfTheFactor() {
        XCTAssertEqual(SuccessiveHalving(factor: 2, rounds: 2, selection: .count(1)).budgets(iterations: 100), [25, 50, 100])
        XCTAssertEqual(SuccessiveHalving(factor: 2, rounds: 3, selection: .count(1)).budgets(iterations: 200), [25, 50, 100, 200])
        XCTAssertEqual(SuccessiveHalving(factor: 3, rounds: 2, selection: .count(1)).budgets(iterations: 200), [22, 66, 200])  // floors
        XCTAssertEqual(SuccessiveHalving(factor: 2, rounds: 1, selection: .count(1)).budgets(iterations: 3), [1, 3])
        // Overflowing powers saturate (the first rung is then 0, which problem(iterations:) refuses).
        XCTAssertEqual(SuccessiveHalving(factor: 16, rounds: 16, selection: .count(1)).budgets(iterations: 100).first, 0)
    }

    func testProblemsNameTheOptions() {
        XCTAssertNil(SuccessiveHalving(factor: 2, rounds: 2, selection: .count(1)).problem(iterations: 4))
        let few = SuccessiveHalving(factor: 2, rounds: 2, selection: .count(1)).problem(iterations: 3)
        XCTAssert(few?.contains("needs at least 2^2 analysis iterations") == true && few?.contains("--analysis-iterations 3") == true, few ?? "nil")
        XCTAssert(SuccessiveHalving(factor: 1, selection: .count(1)).problem(iterations: 100)?.contains("--halving-factor must be in 2...16, got 1") == true)
        XCTAssert(SuccessiveHalving(rounds: 0, selection: .count(1)).problem(iterations: 100)?.contains("--halving-rounds must be in 1...16, got 0") == true)
        XCTAssert(SuccessiveHalving(margin: -1, selection: .count(1)).problem(iterations: 100)?.contains("--halving-margin must be in 0...") == true)
        XCTAssertNotNil(SuccessiveHalving(factor: 16, rounds: 16, selection: .count(1)).problem(iterations: 10_000_000))
    }

    func testSurvivorsAreHalvedButNeverFewerThanTheNeedPlusMargin() {
        let h = SuccessiveHalving(factor: 2, rounds: 2, margin: 3, selection: .count(1))
        XCTAssertEqual(h.survivorCount(of: 25, need: 5), 13)  // ⌈25/2⌉
        XCTAssertEqual(h.survivorCount(of: 13, need: 5), 8)   // need + margin beats ⌈13/2⌉ = 7
        XCTAssertEqual(h.survivorCount(of: 6, need: 5), 6)    // never more than there are
        XCTAssertEqual(SuccessiveHalving(factor: 4, margin: 0, selection: .count(1)).survivorCount(of: 9, need: 1), 3)
    }

    /// Ten candidates, each 10% of the latency, scores 0.01 … 0.10 in a shuffled order.
    let scores = [7, 2, 9, 0, 5, 3, 8, 1, 6, 4].map { i in
        CandidateScore(block: "b\(i)", recoverability: Double(i + 1) * 0.1, latencyReduction: 10)
    }

    func testNeedIsTheCountOrThePredictedPrefixOfTheTarget() {
        let ranked = Selection.ranked(scores)
        XCTAssertEqual(SuccessiveHalving(selection: .count(4)).need(ranked: ranked), 4)
        XCTAssertEqual(SuccessiveHalving(selection: .latencyTarget(0.25)).need(ranked: ranked), 3)  // 10 + 10 + 10 ≥ 25
        XCTAssertEqual(SuccessiveHalving(selection: .latencyTarget(0.2)).need(ranked: ranked), 2)
        XCTAssertEqual(SuccessiveHalving(selection: .latencyTarget(0.99)).need(ranked: ranked), 10)  // at most all
    }

    func testEliminationKeepsTheBestRankedAndStopsOnlyTheRest() {
        // Target 0.2: the selection needs 2; margin 3 keeps 5 (⌈10/2⌉ = 5 too).
        let split = SuccessiveHalving(factor: 2, margin: 3, selection: .latencyTarget(0.2)).split(scores)
        XCTAssertEqual(split.kept, ["b0", "b1", "b2", "b3", "b4"])
        XCTAssertEqual(split.eliminated.sorted(), ["b5", "b6", "b7", "b8", "b9"])
        // A larger need keeps more than half: --drop 6 with margin 2 keeps 8.
        let wide = SuccessiveHalving(factor: 2, margin: 2, selection: .count(6)).split(scores)
        XCTAssertEqual(wide.kept, ["b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7"])
        XCTAssertEqual(wide.eliminated.sorted(), ["b8", "b9"])
        // The rank is the score's, not the recoverability's: a cheap block with a low
        // recoverability can still score badly and go.
        var mixed = scores
        mixed.append(CandidateScore(block: "cheap", recoverability: 0.05, latencyReduction: 0.1))  // score 0.5
        XCTAssert(SuccessiveHalving(factor: 2, margin: 0, selection: .count(1)).split(mixed).eliminated.contains("cheap"))
    }

    func testSettingsRoundTripThroughJSON() throws {
        for rule in [DropRule.count(3), .latencyTarget(0.22)] {
            let h = SuccessiveHalving(factor: 3, rounds: 2, margin: 1, selection: rule)
            XCTAssertEqual(try JSONDecoder().decode(SuccessiveHalving.self, from: JSONEncoder().encode(h)), h)
        }
        let rung = HalvingRung(iterations: 25, recoverabilities: ["a": 0.1, "b": 0.2, "c": 0.3], kept: ["a"])
        XCTAssertEqual(rung.eliminated, ["b", "c"])
        XCTAssertEqual(try JSONDecoder().decode(HalvingRung.self, from: JSONEncoder().encode(rung)), rung)
    }
}
