import Engine
import Foundation
import NN
import Practise
import TestSupport
import XCTest

/// The channels scheme's latency search on a real zoo model (ResNet-20 at 16×16, its real slim
/// networks): on a simulated machine whose latency follows each network's MACs (noisy, exact on a
/// loaded CI machine) it reaches the target with the smallest ratio to 0.01, and `run` prunes at
/// that ratio; with the real clock a fresh measurement of the chosen network lands near the target.
final class ChannelCompressionRunTests: XCTestCase {
    static let shape = [1, 16, 16]

    static func channelRun(target: Double, latencyBatch: Int = 2) -> ChannelCompressionRun {
        let teacher = Architecture.resnet20.make(numClasses: 4, seed: 3)
        randomizeBatchNorms(teacher)
        var options = CompressionOptions(rule: .latencyTarget(target), analysisIterations: 0, finetuneIterations: 0, latencyBatch: latencyBatch)
        options.batchSize = 4
        return ChannelCompressionRun(teacher: teacher, spec: ModelSpec(architecture: .resnet20, numClasses: 4), imageShape: shape,
                                     options: options, recovery: .fskd, ratio: nil)
    }

    /// `1 − MACs(slim network at ratio) / MACs(teacher)`: the simulated machine's true reduction.
    static func macReduction(_ run: ChannelCompressionRun, ratio: Double) -> Double {
        1 - Double(Candidates.countMACs(run.pruned(ratio: ratio).0, input: shape)) / Double(Candidates.countMACs(run.teacher, input: shape))
    }

    /// A busy machine (round-to-round load up to ×1.5, 2% jitter, 5% preemption spikes) on which a
    /// network costs 1 ms per million MACs.
    static func simulated(_ run: ChannelCompressionRun, seed: UInt64) -> (ClassifierModel) -> LatencyMeter {
        let teacherMs = Double(Candidates.countMACs(run.teacher, input: shape)) / 1e6
        var calls: UInt64 = 0
        return { student in
            calls += 1
            var m = LatencyMeter(warmupRuns: 1, runs: 41, budgetSeconds: 1e9, minRuns: 11, minSampleMs: 0)
            m.timer = SimulatedMachine(costsMs: [teacherMs, Double(Candidates.countMACs(student, input: shape)) / 1e6], seed: seed &+ calls,
                                       roundDrift: 0.5, preemption: 0.05).timer
            return m
        }
    }

    static func tinyData() -> TinySet {
        TinySet(count: 8, trainBatch: { i in
            LabelledBatch(images: randomTensor([4] + shape, seed: UInt64(50 + i)), labels: [0, 1, 2, 3])
        }, evalBatches: {
            [LabelledBatch(images: randomTensor([8] + shape, seed: 49), labels: Array(0..<8).map { $0 % 4 })]
        })
    }

    func testSearchReachesTheTargetWithTheSmallestRatioOnASimulatedMachine() throws {
        for target in [0.2, 0.3] {
            let run = Self.channelRun(target: target)
            run.trialMeter = Self.simulated(run, seed: 7)
            let choice = try run.searchRatio(target: target)
            XCTAssertGreaterThanOrEqual(choice.measured.value, target)
            // The measurement is of the real slim network: the simulated truth, within the noise.
            XCTAssertEqual(choice.measured.value, Self.macReduction(run, ratio: choice.ratio), accuracy: 0.01, "target \(target)")
            XCTAssertEqual(choice.trials.first?.ratio, 0.9)
            // The smallest ratio to 0.01: a trial at most 0.01 below it fell short (or it is below 0.01).
            XCTAssert(choice.ratio <= 0.01 || choice.trials.contains { $0.ratio < choice.ratio && $0.ratio >= choice.ratio - 0.01 - 1e-12 && $0.reduction < target },
                      "target \(target): \(choice.ratio), trials \(choice.trials)")
            // Landed close: one 0.01 step of the ratio moves this network's MACs by less than 3 points.
            XCTAssertLessThan(choice.measured.value - target, 0.03, "target \(target): \(choice.trials)")
        }
    }

    func testRunPrunesAtTheSearchedRatio() throws {
        let target = 0.25
        let search = Self.channelRun(target: target)
        search.trialMeter = Self.simulated(search, seed: 11)
        let choice = try search.searchRatio(target: target)
        let run = Self.channelRun(target: target)
        run.trialMeter = Self.simulated(run, seed: 11)
        run.latencyMeter = LatencyMeter(warmupRuns: 0, runs: 3, budgetSeconds: 0.5, minRuns: 1)
        let outcome = try run.run(data: Self.tinyData(), evaluate: { _ in Accuracy(top1: 0, top5: 0, count: 1) }, progress: { _ in })
        XCTAssertEqual(outcome.pruneRatio, choice.ratio)
        XCTAssertEqual(outcome.ratioTrials, choice.trials)
        XCTAssertEqual(outcome.latencyTarget, target)
        XCTAssertEqual(outcome.selectionMeasuredReduction?.value, choice.measured.value)
        XCTAssertEqual(outcome.keptChannels, ChannelPruning.keptChannels(run.teacher, ratio: choice.ratio))
        XCTAssertEqual(Candidates.countMACs(outcome.student, input: Self.shape), Candidates.countMACs(run.pruned(ratio: choice.ratio).0, input: Self.shape))
    }

    /// The real clock: the chosen slim network, measured afresh, lands within 5 points of the
    /// target, beyond the fresh measurement's own 95% interval (wide on a loaded machine, ±2% on a
    /// quiet one). The search's own figure is at least the target by construction.
    /// Wall-clock dependent, so opt-in (`PRACTISE_TIMING_TESTS=1`): on a shared 2-core machine a
    /// fresh measurement can land outside any fixed bound (it did in CI at 21.7% for 30%); the
    /// simulated-machine tests above check the search itself deterministically.
    func testWithTheRealTimerTheChosenNetworkLandsNearTheTarget() throws {
        try XCTSkipUnless(ProcessInfo.processInfo.environment["PRACTISE_TIMING_TESTS"] == "1",
                          "wall-clock check; set PRACTISE_TIMING_TESTS=1 to run it")
        let target = 0.3
        let run = Self.channelRun(target: target, latencyBatch: 8)
        run.latencyMeter = LatencyMeter(warmupRuns: 1, runs: 40, budgetSeconds: 0.6, minRuns: 7)
        let choice = try run.searchRatio(target: target)
        XCTAssertGreaterThanOrEqual(choice.measured.value, target)
        let (student, _, _) = run.pruned(ratio: choice.ratio)
        let again = LatencyMeter(warmupRuns: 1, runs: 60, budgetSeconds: 2, minRuns: 11)
            .pairedReduction(teacher: run.teacher, student: student, imageShape: Self.shape, batch: 8).reduction
        XCTAssert(again.low - 0.05 <= target && target <= again.high + 0.05,
                  "ratio \(choice.ratio): afresh \(again), trials \(choice.trials)")
    }
}
