@testable import Practise
import NN
import XCTest

/// The report's verification of a latency target against the final teacher-vs-student measurement.
final class CompressionReportTests: XCTestCase {
    /// A report whose final measurement gave `teacherMs` and `studentMs` in every round, with
    /// per-round reductions spread by ±`jitter` (fraction) around the median.
    func report(teacherMs: Double, studentMs: Double, target: Double?, selectionMeasured: Double?, jitter: Double = 0.005) -> CompressionReport {
        let spec = ModelSpec(architecture: .resnet20, numClasses: 4, droppedBlocks: ["layer1.1"])
        func latency(_ ms: Double) -> LatencyMeasurement {
            LatencyMeasurement(medianMs: ms, p10Ms: ms * 0.95, p90Ms: ms * 1.05, runs: 9, batch: 64, threads: 2)
        }
        let center = 1 - studentMs / teacherMs
        let perRound = (0..<21).map { center + jitter * (Double($0) - 10) / 10 }
        let ratios = perRound.map { 1 - $0 }
        let ratio = RobustStatistics.medianInterval(ratios)
        let final = PairedLatency(teacher: latency(teacherMs), student: latency(studentMs), reduction: ratio.complement,
                                  perRound: perRound, spread: ratio.relativeHalfWidth)
        let acc = Accuracy(top1: 90, top5: 99, count: 100)
        let outcome = CompressionOutcome(student: spec.build(seed: 1), studentNetwork: .zoo(spec), scores: [], dropped: ["layer1.1"],
                                         finalLatency: final, candidateLatencies: nil,
                                         teacherAccuracy: acc, prunedAccuracy: acc, studentAccuracy: acc, wallSeconds: ["total": 1],
                                         latencyTarget: target, selectionMeasuredReduction: selectionMeasured.map { LatencyInterval(exact: $0) })
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
        XCTAssert(r.summaryTable.contains("20.0%: met (final measurement 22.0%, confidence 100%; the selection measured 21.0%)"), r.summaryTable)
        XCTAssertEqual(try XCTUnwrap(r.targetConfidence), 1, accuracy: 1e-3)
        XCTAssertEqual(j["latency_noisy"] as? Bool, false)
        let ci = try XCTUnwrap(j["latency_reduction_ci"] as? [Double])
        XCTAssertLessThan(ci[0], 0.22); XCTAssertGreaterThan(ci[1], 0.22)
    }

    func testTargetMissedByTheFinalMeasurementIsReported() throws {
        let r = report(teacherMs: 100, studentMs: 81, target: 0.2, selectionMeasured: 0.204)
        XCTAssertEqual(r.targetMet, false)
        let warning = try XCTUnwrap(r.targetWarning)
        XCTAssert(warning.contains("19.0% latency reduction (95% interval ") && warning.contains("short of the 20.0% target"), warning)
        XCTAssert(warning.contains("the selection measured 20.4%"), warning)
        XCTAssertEqual(try json(r)["target_met"] as? Bool, false)
        XCTAssert(r.summaryTable.contains("NOT met"), r.summaryTable)
        XCTAssert(r.markdown.contains("| Latency target | 20.0%: NOT met"), r.markdown)
    }

    /// A reduction whose rounds straddle the target is reported with a confidence near ½, not
    /// as a plain yes or no.
    func testTargetWithinNoiseCarriesItsConfidence() throws {
        let r = report(teacherMs: 100, studentMs: 80, target: 0.2, selectionMeasured: 0.2, jitter: 0.03)
        let c = try XCTUnwrap(r.targetConfidence)
        XCTAssertGreaterThan(c, 0.3); XCTAssertLessThan(c, 0.7)
        XCTAssert(r.summaryTable.contains("confidence"), r.summaryTable)
    }

    /// A simulated noisy final measurement (per-round reductions spread ±30% around 20%) is
    /// flagged in report.json, in the summary and by a warning for stderr.
    func testNoisyMeasurementIsFlagged() throws {
        let r = report(teacherMs: 100, studentMs: 80, target: nil, selectionMeasured: nil, jitter: 0.3)
        XCTAssertTrue(r.latencyNoisy)
        let j = try json(r)
        XCTAssertEqual(j["latency_noisy"] as? Bool, true)
        let spread = try XCTUnwrap((j["latency_spread"] as? [String: Double])?["final"])
        XCTAssertGreaterThan(spread, LatencyMeter.noiseBound)
        let warning = try XCTUnwrap(r.noiseWarning)
        XCTAssert(warning.contains("too noisy") && warning.contains(Selection.tieRule), warning)
        XCTAssert(r.summaryTable.contains("too noisy"), r.summaryTable)
        XCTAssertNil(report(teacherMs: 100, studentMs: 80, target: nil, selectionMeasured: nil).noiseWarning)
    }

    func testNoTargetNoVerification() throws {
        let r = report(teacherMs: 100, studentMs: 70, target: nil, selectionMeasured: nil)
        XCTAssertNil(r.targetMet)
        XCTAssertNil(r.targetWarning)
        XCTAssertFalse(r.summaryTable.contains("latency target"))
    }
}
