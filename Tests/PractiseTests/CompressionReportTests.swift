@testable import Practise
import NN
import XCTest

/// The report's verification of a latency target against the final teacher-vs-student measurement.
final class CompressionReportTests: XCTestCase {
    func report(teacherMs: Double, studentMs: Double, target: Double?, selectionMeasured: Double?) -> CompressionReport {
        let spec = ModelSpec(architecture: .resnet20, numClasses: 4, droppedBlocks: ["layer1.1"])
        func latency(_ ms: Double) -> LatencyMeasurement {
            LatencyMeasurement(medianMs: ms, p10Ms: ms * 0.95, p90Ms: ms * 1.05, runs: 9, batch: 64, threads: 2)
        }
        let acc = Accuracy(top1: 90, top5: 99, count: 100)
        let outcome = CompressionOutcome(student: spec.build(seed: 1), studentSpec: spec, scores: [], dropped: ["layer1.1"],
                                         teacherLatency: latency(teacherMs), studentLatency: latency(studentMs),
                                         teacherAccuracy: acc, prunedAccuracy: acc, studentAccuracy: acc, wallSeconds: ["total": 1],
                                         latencyTarget: target, selectionMeasuredReduction: selectionMeasured)
        var options = CompressionOptions(rule: target.map(DropRule.latencyTarget) ?? .count(1), analysisIterations: 1,
                                         finetuneIterations: 1, latencyBatch: 64)
        options.seed = 1
        return CompressionReport(outcome: outcome, options: options, model: "resnet20", weights: "w", data: "d",
                                 evalData: "e", numSamples: 10)
    }

    func json(_ r: CompressionReport) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: try r.json()) as? [String: Any])
    }

    func testTargetReachedByTheFinalMeasurement() throws {
        let r = report(teacherMs: 100, studentMs: 78, target: 0.2, selectionMeasured: 0.21)
        XCTAssertEqual(r.targetMet, true)
        XCTAssertNil(r.targetWarning)
        let j = try json(r)
        XCTAssertEqual(j["latency_target"] as? Double, 0.2)
        XCTAssertEqual(j["selection_latency_reduction"] as? Double, 0.21)
        XCTAssertEqual(j["target_met"] as? Bool, true)
        XCTAssert(r.summaryTable.contains("20.0%: met (final measurement 22.0%; the selection measured 21.0%)"), r.summaryTable)
    }

    func testTargetMissedByTheFinalMeasurementIsReported() throws {
        let r = report(teacherMs: 100, studentMs: 81, target: 0.2, selectionMeasured: 0.204)
        XCTAssertEqual(r.targetMet, false)
        let warning = try XCTUnwrap(r.targetWarning)
        XCTAssert(warning.contains("19.0% latency reduction, short of the 20.0% target"), warning)
        XCTAssert(warning.contains("the selection measured 20.4%"), warning)
        XCTAssertEqual(try json(r)["target_met"] as? Bool, false)
        XCTAssert(r.summaryTable.contains("NOT met"), r.summaryTable)
        XCTAssert(r.markdown.contains("| Latency target | 20.0%: NOT met"), r.markdown)
    }

    func testNoTargetNoVerification() throws {
        let r = report(teacherMs: 100, studentMs: 70, target: nil, selectionMeasured: nil)
        XCTAssertNil(r.targetMet)
        XCTAssertNil(r.targetWarning)
        XCTAssertFalse(r.summaryTable.contains("latency target"))
    }
}
