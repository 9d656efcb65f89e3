import Foundation
import NN
@testable import Practise
import XCTest

/// The evaluations both compression schemes share refuse a network with non-finite logits,
/// naming it; the final step times into the wall-clock record.
final class CompressionStepsTests: XCTestCase {
    let model = Architecture.resnet20.make(numClasses: 4, seed: 1)

    func testANonFiniteEvaluationIsRefusedNamingTheNetwork() {
        let nan: (ClassifierModel) throws -> Accuracy = { _ in Accuracy(top1: 0, top5: 0, count: 8, nonFinite: 3) }
        XCTAssertThrowsError(try CompressionSteps.accuracy(of: model, "the pruned network", evaluate: nan)) { e in
            XCTAssert("\(e)".contains("the pruned network produced non-finite logits"), "\(e)")
            XCTAssert("\(e)".contains("3 of 8 images"), "\(e)")
        }
        var wall: [String: Double] = [:]
        XCTAssertThrowsError(try CompressionSteps.finish(teacher: model, student: model, evaluate: nan, meter: LatencyMeter(),
                                                         imageShape: [1, 12, 12], batch: 1, start: Date(), wall: &wall, progress: { _ in })) { e in
            XCTAssert("\(e)".contains("the recovered student produced non-finite logits") && "\(e)".hasSuffix("try a lower --lr"), "\(e)")
        }
        XCTAssertNil(wall["latency"], "no latency is measured for a student without an accuracy")
        var seen: [String] = []
        XCTAssertThrowsError(try CompressionSteps.evaluateBeforeRecovery(teacher: model, pruned: model, recovery: "finetuning", evaluate: nan,
                                                                         wall: &wall, progress: { seen.append($0) })) { e in
            XCTAssert("\(e)".contains("the teacher produced non-finite logits"), "\(e)")
        }
        XCTAssertEqual(seen, ["evaluating the teacher"])
    }

    func testBeforeRecoveryEvaluatesTeacherThenPrunedAndTimesBoth() throws {
        var calls = 0, seen: [String] = [], wall: [String: Double] = [:]
        let counting: (ClassifierModel) throws -> Accuracy = { _ in calls += 1; return Accuracy(top1: Double(calls), top5: 100, count: 8) }
        let (t, p) = try CompressionSteps.evaluateBeforeRecovery(teacher: model, pruned: model, recovery: "recovery", evaluate: counting,
                                                                 wall: &wall, progress: { seen.append($0) })
        XCTAssertEqual([t.top1, p.top1], [1, 2])
        XCTAssertEqual(seen, ["evaluating the teacher", "evaluating the pruned network before recovery"])
        XCTAssertNotNil(wall["evaluation"])
    }

    func testFinishRecordsEvaluationLatencyAndTotal() throws {
        let fine: (ClassifierModel) throws -> Accuracy = { _ in Accuracy(top1: 50, top5: 100, count: 8) }
        var wall = ["evaluation": 1.0]
        let start = Date().addingTimeInterval(-5)
        let meter = LatencyMeter(warmupRuns: 0, runs: 3, budgetSeconds: 1, minRuns: 3)
        let (acc, latency) = try CompressionSteps.finish(teacher: model, student: model, evaluate: fine, meter: meter, imageShape: [1, 12, 12],
                                                         batch: 1, start: start, wall: &wall, progress: { _ in })
        XCTAssertEqual(acc.top1, 50)
        XCTAssertEqual(latency.teacher.runs, 3)
        XCTAssertGreaterThan(wall["evaluation"]!, 1, "added to the earlier evaluations")
        XCTAssertNotNil(wall["latency"])
        XCTAssertGreaterThanOrEqual(wall["total"]!, 5)
        XCTAssertEqual(CompressionSteps.meter(meter, threads: 1).threads, 1)
        XCTAssertNil(CompressionSteps.meter(meter, threads: nil).threads)
    }
}
