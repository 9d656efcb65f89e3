import Engine
import Foundation
import NN

/// How a filter-pruned network is recovered: one of the finetuning methods, or FSKD's closed form.
public enum ChannelRecovery: String, Sendable, Codable, CaseIterable {
    case mir = "MiR", bp = "BP", kd = "KD", fskd = "FSKD"

    /// The gradient method, or nil for FSKD.
    public var finetuneMethod: FinetuneMethod? { FinetuneMethod(rawValue: rawValue) }

    /// Accepts any capitalisation.
    public init?(caseInsensitive s: String) {
        guard let m = Self.allCases.first(where: { $0.rawValue.lowercased() == s.lowercased() }) else { return nil }
        self = m
    }
}

/// The filter-pruning scheme of `compress`: L1 filter ranking → one pruning ratio for every block
/// (given, or the smallest whose measured latency reduction reaches the target) → slim network
/// from the teacher's weights → recovery (MiR/BP/KD finetuning or FSKD) → evaluation → latency.
public final class ChannelCompressionRun {
    public let teacher: ClassifierModel
    public let spec: ModelSpec
    public let imageShape: [Int]
    public let options: CompressionOptions
    public let recovery: ChannelRecovery
    /// A fixed ratio instead of the search (`--prune-ratio`).
    public let ratio: Double?
    public var latencyMeter = LatencyMeter()

    public init(teacher: ClassifierModel, spec: ModelSpec, imageShape: [Int], options: CompressionOptions,
                recovery: ChannelRecovery, ratio: Double?) {
        self.teacher = teacher; self.spec = spec; self.imageShape = imageShape; self.options = options
        self.recovery = recovery; self.ratio = ratio
    }

    /// The slim network at `ratio` with the teacher's weights, and the kept channels.
    public func pruned(ratio: Double) -> (ClassifierModel, ModelSpec, [String: [Int]]) {
        let kept = ChannelPruning.keptChannels(teacher, ratio: ratio)
        let (student, s) = ChannelPruning.slim(teacher, spec: spec, kept: kept, seed: options.seed)
        return (student, s, kept)
    }

    /// The meter that times the slim network of a trial ratio against the teacher in the ratio
    /// search (nil: the run's meter). Tests give the meter of a simulated machine whose costs
    /// follow the student it is given.
    public var trialMeter: ((_ student: ClassifierModel) -> LatencyMeter)?

    /// The meter with the run's latency threads.
    var meter: LatencyMeter { CompressionSteps.meter(latencyMeter, threads: options.latencyThreads) }

    /// The ratio the search chose, its measured reduction and every trial (ratio, median reduction).
    public struct RatioChoice {
        public var ratio: Double
        public var measured: LatencyInterval
        public var trials: [ChannelPruning.Trial]
    }

    /// The smallest pruning ratio (bisection over `[0, 0.9]` to 0.01) whose slim network's
    /// measured latency reduction against the teacher (median of the paired rounds) reaches `target`.
    public func searchRatio(target: Double, progress: (String) -> Void = { _ in }) throws -> RatioChoice {
        var intervals: [Double: LatencyInterval] = [:]
        let found = try ChannelPruning.searchRatio(target: target) { r in
            let (student, _, _) = pruned(ratio: r)
            let m = trialMeter.map { CompressionSteps.meter($0(student), threads: options.latencyThreads) } ?? meter
            let reduction = m.pairedReduction(teacher: teacher, student: student, imageShape: imageShape, batch: options.latencyBatch).reduction
            intervals[r] = reduction
            progress(String(format: "ratio search: %.3f of inner channels pruned → %.1f%% measured latency reduction", r, reduction.value * 100))
            return reduction.value
        }
        return RatioChoice(ratio: found.ratio, measured: intervals[found.ratio]!, trials: found.trials)
    }

    public func run(data: TinySet, evaluate: (ClassifierModel) throws -> Accuracy,
                    progress: @escaping (String) -> Void) throws -> CompressionOutcome {
        if options.latencyTable != nil {
            throw PractiseError("a latency table gives per-block figures for block dropping; the channels scheme measures the slim network itself (drop the latency table option)")
        }
        var wall: [String: Double] = [:]
        let start = Date()
        teacher.eval()
        var chosen: (ratio: Double, measured: LatencyInterval?, trials: [ChannelPruning.Trial])
        let t0 = Date()
        if let ratio {
            chosen = (ratio, nil, [])
        } else {
            guard case .latencyTarget(let target) = options.rule else {
                throw PractiseError("the channels scheme needs a latency target or a fixed pruning ratio")
            }
            let found = try searchRatio(target: target, progress: progress)
            chosen = (found.ratio, found.measured, found.trials)
        }
        wall["selection"] = Date().timeIntervalSince(t0)
        let (student, studentSpec, kept) = pruned(ratio: chosen.ratio)

        let (teacherAcc, prunedAcc) = try CompressionSteps.evaluateBeforeRecovery(teacher: teacher, pruned: student, recovery: "recovery",
                                                                                  evaluate: evaluate, wall: &wall, progress: progress)

        let t3 = Date()
        if let method = recovery.finetuneMethod {
            teacher.setRequiresGrad(true)
            try Finetuner.run(student: student, teacher: teacher, method: method, data: data,
                              config: PhaseConfig(iterations: options.finetuneIterations, learningRate: options.learningRate, batchSize: options.batchSize)) { it, loss in
                progress(String(format: "finetuning (%@): iteration %d/%d, loss %.5f", method.rawValue, it + 1, options.finetuneIterations, loss))
            }
        } else {
            try FSKD.recover(student: student, teacher: teacher, batches: try data.evalBatches().map(\.images), progress: progress)
        }
        wall["finetune"] = Date().timeIntervalSince(t3)

        let (studentAcc, final) = try CompressionSteps.finish(teacher: teacher, student: student, evaluate: evaluate, meter: meter,
                                                              imageShape: imageShape, batch: options.latencyBatch, start: start,
                                                              wall: &wall, progress: progress)
        var outcome = CompressionOutcome(student: student, studentNetwork: .zoo(studentSpec), scores: [], dropped: [],
                                         finalLatency: final, candidateLatencies: nil, teacherAccuracy: teacherAcc,
                                         prunedAccuracy: prunedAcc, studentAccuracy: studentAcc, wallSeconds: wall)
        if ratio == nil, case .latencyTarget(let target) = options.rule {
            outcome.latencyTarget = target
            outcome.selectionMeasuredReduction = chosen.measured
        }
        outcome.scheme = .channels
        outcome.methodLabel = recovery.rawValue
        outcome.pruneRatio = chosen.ratio
        outcome.keptChannels = kept
        outcome.ratioTrials = chosen.trials
        return outcome
    }
}
