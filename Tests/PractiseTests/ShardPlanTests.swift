import NN
import Practise
import XCTest

/// The shard assignment covers every candidate once, is deterministic and balanced.
final class ShardPlanTests: XCTestCase {
    let model = Architecture.resnet56.make(numClasses: 10, seed: 1)
    lazy var candidates = Candidates.find(in: model, imageShape: [1, 28, 28])

    func testEveryCandidateExactlyOnceInNetworkOrder() {
        for count in [1, 2, 3, 4, 7, 24, 30] {
            let plan = ShardPlan(model: model, candidates: candidates, imageShape: [1, 28, 28], count: count)
            XCTAssertEqual(plan.shards.count, count)
            XCTAssertEqual(plan.shards.flatMap { $0 }.sorted(), candidates.map(\.path).sorted(), "count \(count)")
            let order = Dictionary(uniqueKeysWithValues: candidates.enumerated().map { ($1.path, $0) })
            for s in plan.shards { XCTAssertEqual(s, s.sorted { order[$0]! < order[$1]! }) }
            if count >= candidates.count { XCTAssert(plan.shards.allSatisfy { $0.count <= 1 }) }
        }
    }

    func testDeterministicAcrossProcessesOfTheSameNetwork() {
        let other = Architecture.resnet56.make(numClasses: 10, seed: 99)
        let a = ShardPlan(model: model, candidates: candidates, imageShape: [1, 28, 28], count: 4)
        let b = ShardPlan(model: other, candidates: Candidates.find(in: other, imageShape: [1, 28, 28]), imageShape: [1, 28, 28], count: 4)
        XCTAssertEqual(a, b, "weights do not change the plan")
    }

    func testCostFallsByStageAndShardsAreBalanced() {
        let plan = ShardPlan(model: model, candidates: candidates, imageShape: [1, 28, 28], count: 4)
        let c = plan.costs
        XCTAssertGreaterThan(c["layer1.1"]!, c["layer2.1"]!)
        XCTAssertGreaterThan(c["layer2.1"]!, c["layer3.1"]!)
        XCTAssertEqual(c["layer1.1"], c["layer1.8"], "same stage, same blocks after the stage start")
        let totals = plan.shards.map { $0.map { c[$0]! }.reduce(0, +) }
        let bound = max(Double(c.values.reduce(0, +)) / 4, Double(c.values.max()!))
        XCTAssertLessThanOrEqual(Double(totals.max()!), bound * 4 / 3, "\(totals)")
        XCTAssertEqual((0..<4).map(plan.share(of:)).reduce(0, +), 1, accuracy: 1e-12)
        // Hand check of the rule on three costs: 5, 4, 3 over two shards -> {5}, {4, 3}.
        let blocks = [10, 5, 4, 3]  // block 0 starts the stage; candidates are blocks 1...3
        let toy = (1...3).map { i in
            var c = candidates[0]
            c.path = "b\(i)"; c.stage = 0; c.indexInStage = i; c.blockIndex = i
            return c
        }
        XCTAssertEqual(toy.map { ShardPlan.cost(of: $0, blockMACs: blocks) }, [17, 18, 19])
        XCTAssertEqual(ShardPlan(candidates: toy, blockMACs: blocks, count: 2).shards, [["b3"], ["b1", "b2"]])
    }

    /// The rule by hand: costs 5, 4, 3, 3 (ties in item order) over two bins → {5, 3}, {4, 3}.
    func testLongestProcessingTimeByHand() {
        XCTAssertEqual(ShardPlan.longestProcessingTime([3, 5, 3, 4], count: 2), [[1, 2], [0, 3]])
        XCTAssertEqual(ShardPlan.longestProcessingTime([1, 1, 1], count: 1), [[0, 1, 2]])
        XCTAssertEqual(ShardPlan.longestProcessingTime([2, 1], count: 4), [[0], [1], [], []])
    }

    /// A projection times the plan's assignment (made from estimated costs) with the measured
    /// seconds: estimated 3, 2, 1 over two shards gives {a}, {b, c}; measured a = 1 s, b = 2 s,
    /// c = 3 s and a teacher pass of 0.5 s make the slowest shard 5.5 s against 6.5 s alone.
    func testProjectionTimesThePlansAssignment() {
        let p = ShardProjection.project(candidates: ["a", "b", "c"], estimated: ["a": 3, "b": 2, "c": 1],
                                        measured: ["a": 1, "b": 2, "c": 3], teacher: 0.5, counts: [1, 2, 3])
        XCTAssertEqual(p.map(\.shards), [1, 2, 3])
        XCTAssertEqual(p.map(\.largestShardSeconds), [6.5, 5.5, 3.5])
        XCTAssertEqual(p[0].speedUp, 1)
        XCTAssertEqual(p[1].speedUp, 6.5 / 5.5, accuracy: 1e-12)
    }
}
