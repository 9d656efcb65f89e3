import Engine
import Foundation
import NN

/// Inputs of `practise compress` beyond the data.
public struct CompressionOptions: Sendable {
    public var rule: DropRule
    /// Skip the analysis and drop exactly these blocks.
    public var blocks: [String]?
    public var method: FinetuneMethod = .mir
    public var analysisIterations: Int
    public var finetuneIterations: Int
    public var batchSize: Int = 64
    public var learningRate: Float = 0.02
    public var seed: UInt64 = 2021
    public var latencyBatch: Int
    /// Threads of latency measurements (nil: the run's thread count).
    public var latencyThreads: Int? = nil
    /// Select by these latency figures (a latency table of the deployment machine) instead of
    /// measuring candidates here.
    public var latencyTable: TableLatencySource? = nil
    /// Iterations between checkpoints of the analysis state.
    public var checkpointEvery = 50
    /// Take the analysis from this shared folder of a sharded `analyze` (checked against
    /// `shardSettings`) instead of running it.
    public var analysisFolder: String?
    public var shardSettings: ShardSettings?
    /// Run the analysis as successive halving (its `selection` is set to `rule`); nil: the full analysis.
    public var halving: SuccessiveHalving?

    public init(rule: DropRule, blocks: [String]? = nil, analysisIterations: Int, finetuneIterations: Int, latencyBatch: Int) {
        self.rule = rule; self.blocks = blocks
        self.analysisIterations = analysisIterations; self.finetuneIterations = finetuneIterations
        self.latencyBatch = latencyBatch
    }
}

/// Result of a compression: the finetuned student and every number the report needs.
public struct CompressionOutcome {
    public var student: ClassifierModel
    /// What rebuilds the student: the teacher's spec with the dropped blocks (or pruned widths).
    public var studentNetwork: NetworkSpec
    public var scores: [CandidateScore]
    public var dropped: [String]
    /// The final measurement: teacher and student interleaved here, with the reduction's interval.
    public var finalLatency: PairedLatency
    public var teacherLatency: LatencyMeasurement { finalLatency.teacher }
    public var studentLatency: LatencyMeasurement { finalLatency.student }
    /// The candidates' latency figures the selection used (nil with `--blocks`).
    public var candidateLatencies: BlockLatencies?
    public var teacherAccuracy: Accuracy
    public var prunedAccuracy: Accuracy
    public var studentAccuracy: Accuracy
    public var wallSeconds: [String: Double]
    /// With `--target-latency-reduction`: the target and the reduction the selection found for
    /// the chosen blocks — measured here, teacher against student, or, with a latency table,
    /// the sum of the table's per-block figures (the deployment machine's prediction).
    public var latencyTarget: Double? = nil
    public var selectionMeasuredReduction: LatencyInterval? = nil
    public var scheme: CompressionScheme = .blocks
    /// Channels scheme: the method's name when it is not a ``FinetuneMethod`` (FSKD).
    public var methodLabel: String? = nil
    /// Channels scheme: the pruning ratio, kept filter indices per site, and the ratio search's trials.
    public var pruneRatio: Double? = nil
    public var keptChannels: [String: [Int]] = [:]
    public var ratioTrials: [ChannelPruning.Trial] = []
}

/// Analysis → selection → rebuild from the teacher → finetuning → evaluation → latency.
public final class CompressionRun {
    public let teacher: ClassifierModel
    /// What rebuilds the teacher (a zoo architecture or an imported ONNX graph).
    public let network: NetworkSpec
    public let imageShape: [Int]
    public let options: CompressionOptions
    public var latencyMeter = LatencyMeter()
    /// Called when a halving analysis decides a rung.
    public var onRung: ((HalvingRung) -> Void)?

    public init(teacher: ClassifierModel, network: NetworkSpec, imageShape: [Int], options: CompressionOptions) {
        self.teacher = teacher; self.network = network; self.imageShape = imageShape; self.options = options
    }

    public convenience init(teacher: ClassifierModel, spec: ModelSpec, imageShape: [Int], options: CompressionOptions) {
        self.init(teacher: teacher, network: .zoo(spec), imageShape: imageShape, options: options)
    }

    /// The pruned network rebuilt from the teacher's weights.
    public func prunedStudent(dropping blocks: [String]) -> (ClassifierModel, NetworkSpec) {
        let s = network.dropping(blocks)
        let student = s.build(seed: options.seed)
        teacher.copyWeights(into: student)
        return (student, s)
    }

    /// The halving schedule serving this run's selection rule (nil: the full analysis).
    public var halving: SuccessiveHalving? {
        guard var h = options.halving else { return nil }
        h.selection = options.rule
        return h
    }

    /// The meter with the run's latency threads.
    var meter: LatencyMeter { CompressionSteps.meter(latencyMeter, threads: options.latencyThreads) }

    /// Latency reduction (fraction) of dropping `blocks`: teacher and student measured
    /// interleaved here, or, with a latency table, the sum of its per-block figures.
    public func measuredReduction(_ blocks: [String], candidates: BlockLatencies? = nil) -> LatencyInterval {
        if options.latencyTable != nil, let table = candidates {
            return blocks.map { table.reductions[$0] ?? LatencyInterval(exact: 0) }.reduce(LatencyInterval(exact: 0), +).scaled(0.01)
        }
        let (student, _) = prunedStudent(dropping: blocks)
        return meter.pairedReduction(teacher: teacher, student: student, imageShape: imageShape, batch: options.latencyBatch).reduction
    }

    /// Runs everything. `evaluate(model)` computes test accuracy; `analysisStateDir` keeps the
    /// resumable analysis state; `progress` receives status lines.
    public func run(data: TinySet, samples: [String], analysisStateDir: String,
                    evaluate: (ClassifierModel) throws -> Accuracy,
                    progress: @escaping (String) -> Void) throws -> CompressionOutcome {
        var wall: [String: Double] = [:]
        let start = Date()
        try Self.requireFiniteOutputs(teacher, on: data)
        let candidates = Candidates.find(in: teacher, imageShape: imageShape)
        var scores: [CandidateScore] = []
        var dropped: [String]
        var selection: (target: Double, measured: LatencyInterval)? = nil
        var candidateLatencies: BlockLatencies? = nil
        if let blocks = options.blocks {
            let known = Set(candidates.map(\.path))
            for b in blocks where !known.contains(b) {
                throw PractiseError("'\(b)' is not a droppable block of \(network.name); candidates: \(candidates.map(\.path).joined(separator: ", "))")
            }
            dropped = sortedBlockPaths(blocks)
        } else {
            let t0 = Date()
            if let folder = options.analysisFolder {
                progress("analysis: merging \(folder)")
                let source: LatencySource = options.latencyTable
                    ?? MeasuredLatencySource(meter: meter, model: teacher, imageShape: imageShape, batch: options.latencyBatch)
                let merged = try AnalysisFolder(folder).merge(expected: options.shardSettings, teacher: teacher, imageShape: imageShape, latency: source)
                scores = merged.scores
                candidateLatencies = merged.latencies
            } else {
                let settings = AnalysisSettings(model: network.name, candidates: candidates.map(\.path),
                                                iterations: options.analysisIterations, batchSize: options.batchSize,
                                                learningRate: options.learningRate, seed: options.seed, samples: samples,
                                                halving: halving)
                let analysis = try AnalysisRun(teacher: teacher, imageShape: imageShape, settings: settings,
                                               stateDir: analysisStateDir, latencyBatch: options.latencyBatch)
                analysis.onRung = onRung
                analysis.latencyMeter = meter
                analysis.latencySource = options.latencyTable
                analysis.checkpointEvery = options.checkpointEvery
                scores = try analysis.run(data: data, progress: progress)
                candidateLatencies = analysis.latencies
            }
            wall["analysis"] = Date().timeIntervalSince(t0)
            let t1 = Date()
            switch options.rule {
            case .count(let k):
                dropped = sortedBlockPaths(try Selection.lowest(k, of: scores))
            case .latencyTarget(let target):
                let chosen = try Selection.reaching(target, of: scores) { blocks in
                    progress("selection: latency without \(blocks.joined(separator: ", "))")
                    return measuredReduction(blocks, candidates: candidateLatencies)
                }
                dropped = sortedBlockPaths(chosen.blocks)
                selection = (target, chosen.measured)
            }
            wall["selection"] = Date().timeIntervalSince(t1)
        }
        teacher.setRequiresGrad(true)

        let (student, studentSpec) = prunedStudent(dropping: dropped)
        let (teacherAcc, prunedAcc) = try CompressionSteps.evaluateBeforeRecovery(teacher: teacher, pruned: student, recovery: "finetuning",
                                                                                  evaluate: evaluate, wall: &wall, progress: progress)

        let t3 = Date()
        try Finetuner.run(student: student, teacher: teacher, method: options.method, data: data,
                          config: PhaseConfig(iterations: options.finetuneIterations, learningRate: options.learningRate, batchSize: options.batchSize)) { it, loss in
            progress(String(format: "finetuning (%@): iteration %d/%d, loss %.5f", options.method.rawValue, it + 1, options.finetuneIterations, loss))
        }
        wall["finetune"] = Date().timeIntervalSince(t3)

        let (studentAcc, final) = try CompressionSteps.finish(teacher: teacher, student: student, evaluate: evaluate, meter: meter,
                                                              imageShape: imageShape, batch: options.latencyBatch, start: start,
                                                              wall: &wall, progress: progress)
        return CompressionOutcome(student: student, studentNetwork: studentSpec, scores: scores, dropped: dropped,
                                  finalLatency: final, candidateLatencies: candidateLatencies, teacherAccuracy: teacherAcc,
                                  prunedAccuracy: prunedAcc, studentAccuracy: studentAcc, wallSeconds: wall,
                                  latencyTarget: selection?.target, selectionMeasuredReduction: selection?.measured)
    }

    /// Fails before any work when `teacher` (left in eval mode) gives non-finite logits on the tiny set (eval transform).
    public static func requireFiniteOutputs(_ teacher: ClassifierModel, on data: TinySet) throws {
        var batches = try data.evalBatches()[...]
        let acc = try Evaluation.accuracy(teacher, next: { batches.popFirst() })
        teacher.eval()  // drop the inference preparation: the analysis back-propagates through the teacher
        if let p = acc.nonFiniteProblem(of: "the teacher (on the tiny set)") { throw PractiseError(p) }
    }
}
