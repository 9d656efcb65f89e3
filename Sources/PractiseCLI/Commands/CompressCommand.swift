import ArgumentParser
import Engine
import Foundation
import ImageData
import NN
import Practise

struct CompressCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "compress",
        abstract: "Analyse, drop blocks, finetune and evaluate; write the compressed model and reports to --out.",
        discussion: """
        Writes into --out: model.safetensors (torchvision keys, metadata naming the architecture and dropped blocks), \
        model.onnx (unless --no-onnx), report.json, report.md, candidates.svg and samples.txt. Work happens in \
        OUT.partial and is moved into place at the end; rerunning an interrupted command resumes its analysis. \
        OUT.lock keeps a second run out of the same folder.
        """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var sampleOptions: SampleOptions
    @OptionGroup var phase: PhaseOptions
    @OptionGroup var latency: LatencyOptions
    @OptionGroup var common: RunOptions
    @OptionGroup var synthesis: SynthesisOptions
    @OptionGroup var schedule: AnalysisScheduleOptions
    @Option(parsing: .unconditional, help: "Drop this many of the lowest-scoring blocks (1 to the number of candidates).") var drop: Int?
    @Option(parsing: .unconditional, help: "Drop the fewest blocks whose measured latency reduction reaches this fraction, between 0 and 1 (e.g. 0.22).") var targetLatencyReduction: Double?
    @Option(help: "Skip the analysis and drop these blocks (comma-separated paths).") var blocks: String?
    @Option(help: "Finetuning: MiR (feature mimicking, default), BP (cross-entropy) or KD (distillation); with --scheme channels also FSKD (closed-form 1×1 conv per block).") var method: ChannelRecovery = .mir
    @Option(help: "blocks (drop residual blocks, default) or channels (L1 filter pruning of every block's inner channels).") var scheme: CompressionScheme = .blocks
    @Option(parsing: .unconditional, help: "With --scheme channels: prune this fraction of every block's inner channels instead of searching for --target-latency-reduction.") var pruneRatio: Double?
    @Option(help: "Use the analysis of this shared folder (the shards of `analyze --shard-index`), checked to match these options, instead of analysing.")
    var analysis: String?
    @Option(help: "Output folder.") var out: String
    @Flag(help: "Replace --out if it exists.") var force = false
    @Flag(help: "Do not write model.onnx.") var noOnnx = false

    func validate() throws {
        if let side = dataOptions.imageSize { try latency.checkBatch(imageShape: [1, side, side]) }
        try PreparedData.checkOptions(dataOptions, samples: sampleOptions, synthesis: synthesis)
        if synthesis.synthesisMethod == .zeroQ, (try? DataSpec.parse(dataOptions.data))?.kind == .synthetic,
           let needs = method.finetuneMethod, needs != .mir {
            throw ValidationError("--method \(method.rawValue) needs labels, and ZeroQ images (--synthesis-method zeroq) have none; use --method MiR or --synthesis-method deepinversion")
        }
        try schedule.refuseHalving(with: "--scheme channels", given: scheme == .channels, because: "filter pruning runs no block analysis")
        try schedule.refuseHalving(with: "--blocks", given: blocks != nil, because: "--blocks skips the analysis")
        try schedule.refuseHalving(with: "--analysis", given: analysis != nil, because: "--analysis takes the full analysis of a sharded folder instead of analysing")
        if scheme == .channels {
            guard (targetLatencyReduction != nil) != (pruneRatio != nil), drop == nil, blocks == nil, analysis == nil else {
                throw ValidationError("--scheme channels takes exactly one of --target-latency-reduction R or --prune-ratio P (not --drop, --blocks or --analysis)")
            }
            if let r = targetLatencyReduction, !(r > 0 && r < 1) { throw ValidationError("--target-latency-reduction must be in (0, 1), got \(r)") }
            if let p = pruneRatio, !(p >= 0 && p < 1) { throw ValidationError("--prune-ratio must be in [0, 1), got \(p)") }
            try phase.refuse([.analysisIterations, .checkpointEvery], with: "--scheme channels", because: "filter pruning runs no block analysis")
            if method == .fskd {
                try phase.refuse([.finetuneIterations, .lr], with: "--method FSKD",
                                 because: "it fits a 1×1 conv per block in closed form, with no gradient steps")
            }
            try Check.outputFolder("--out", out)
            return
        }
        if pruneRatio != nil { throw ValidationError("--prune-ratio needs --scheme channels") }
        if method == .fskd { throw ValidationError("--method FSKD needs --scheme channels (it fits a 1×1 conv after each filter-pruned block)") }
        let rules = [drop != nil, targetLatencyReduction != nil, blocks != nil].filter { $0 }.count
        guard rules == 1 else { throw ValidationError("give exactly one of --drop K, --target-latency-reduction R or --blocks a,b") }
        if analysis != nil && blocks != nil { throw ValidationError("--analysis and --blocks exclude each other: --blocks skips the analysis") }
        if blocks != nil {
            try phase.refuse([.analysisIterations, .checkpointEvery], with: "--blocks", because: "it skips the analysis")
        }
        // With --analysis the analysis options stay accepted: the cluster recipes pass the shards'
        // options (ANALYZE_ARGS) to compress unchanged, and --analysis checks them against the folder.
        try Check.range("--drop", drop, 1...Int.max)
        try Check.fraction("--target-latency-reduction", targetLatencyReduction)
        _ = try schedule.halving(iterations: phase.analysisIterations, selection: rule)
        _ = try blockList()
        try Check.outputFolder("--out", out)
    }

    /// What the selection takes: `--drop K` or `--target-latency-reduction R`.
    var rule: DropRule { drop.map(DropRule.count) ?? .latencyTarget(targetLatencyReduction ?? 0) }

    /// `--blocks` as paths: at least one, none empty, no repeats.
    func blockList() throws -> [String]? { try blocks.map { try Check.blockList("--blocks", $0) } }

    /// Checks --drop and --blocks against the model's candidates, before any data is read.
    func checkAgainstCandidates(_ m: ResolvedModel) throws {
        let known = Candidates.find(in: m.model, imageShape: m.network.imageShape()).map(\.path)
        let listed = "\(known.count) droppable blocks of \(m.network.name) (\(known.joined(separator: ", ")))"
        if let k = drop, k > known.count { throw PractiseError("--drop \(k) is more than the \(listed)") }
        for b in try blockList() ?? [] where !known.contains(b) {
            throw PractiseError("'\(b)' is not a droppable block of \(m.network.name); candidates: \(known.joined(separator: ", "))")
        }
    }

    func run() throws {
        common.apply()
        let lock = try OutputLock.acquire(for: out)
        defer { lock.release() }
        let fm = FileManager.default
        if fm.fileExists(atPath: out) && !force {
            throw PractiseError("\(out) already exists; use --force to replace it")
        }
        try WorkFolder.check(out + ".partial")
        let m = try Context.model(modelOptions, seed: common.seed, requireWeights: true, imageSize: dataOptions.imageSize, hasImageSizeOption: true)
        if scheme == .channels { _ = try m.zooSpec(for: "--scheme channels") }
        if m.network.zoo != nil, !m.network.droppedBlocks.isEmpty { throw PractiseError("\(m.weightsLabel) is already compressed (dropped \(m.network.droppedBlocks.joined(separator: ", "))); compress its teacher instead") }
        if scheme == .blocks && !(m.network.zoo?.innerWidths.isEmpty ?? true) { throw PractiseError("\(m.weightsLabel) is filter-pruned; compress its teacher instead") }
        try checkAgainstCandidates(m)
        try latency.checkBatch(imageShape: m.network.imageShape(side: dataOptions.imageSize))
        try Context.checkHeldOut(dataOptions, advice: "or give the evaluation data with --eval-data")
        let cache = synthesis.syntheticCache ?? ((out + ".partial") as NSString).appendingPathComponent("synthetic")
        var data = try PreparedData.prepare(dataOptions, samples: sampleOptions, phase: phase, model: m, seed: common.seed) { n, shape, norm in
            try synthesis.make(count: n, model: m, imageShape: shape, normalization: norm, seed: common.seed, in: cache)
        }
        data.syntheticFolder = synthesis.syntheticCache ?? (out as NSString).appendingPathComponent("synthetic")
        try data.check(method: method.finetuneMethod ?? .mir, numClasses: m.network.numClasses)
        try CompressionRun.requireFiniteOutputs(m.model, on: data.tiny)
        try latency.checkBatch(imageShape: data.imageShape)
        let table = try latency.tableSource(model: m.network.name, imageShape: data.imageShape)
        let work = out + ".partial"
        do { try fm.createDirectory(atPath: work, withIntermediateDirectories: true) } catch {
            throw PractiseError("cannot create the work folder \(work): \((error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription)")
        }
        var options = CompressionOptions(rule: rule,
                                         blocks: try blockList(),
                                         analysisIterations: phase.analysisIterations, finetuneIterations: phase.finetuneIterations,
                                         latencyBatch: latency.latencyBatch)
        options.method = method.finetuneMethod ?? .mir
        options.batchSize = data.batchSize
        options.learningRate = phase.lr
        options.seed = common.seed
        options.checkpointEvery = phase.checkpointEvery
        options.latencyThreads = latency.latencyThreads
        options.latencyTable = table
        if scheme == .blocks && blocks == nil && analysis == nil {
            options.halving = try schedule.halving(iterations: phase.analysisIterations, selection: rule)
        }
        if let analysis {
            options.analysisFolder = analysis
            options.shardSettings = try ShardSetup.settings(m, data: data, phase: phase, seed: common.seed)
        }
        let progress = ProgressLine()
        let evaluate = { (model: ClassifierModel) throws -> Accuracy in try data.evaluate(model, progress: progress, label: "eval") }
        let outcome: CompressionOutcome
        if scheme == .channels {
            let spec = try m.zooSpec(for: "--scheme channels")
            if !spec.innerWidths.isEmpty { throw PractiseError("\(m.weightsLabel) is already filter-pruned; compress its teacher instead") }
            let runner = ChannelCompressionRun(teacher: m.model, spec: spec, imageShape: data.imageShape, options: options,
                                               recovery: method, ratio: pruneRatio)
            runner.latencyMeter = latency.meter
            outcome = try runner.run(data: data.tiny, evaluate: evaluate, progress: { progress.update($0) })
        } else {
            let runner = CompressionRun(teacher: m.model, network: m.network, imageShape: data.imageShape, options: options)
            runner.latencyMeter = latency.meter
            runner.onRung = { rung in
                progress.finish()
                warn(rungNote(rung, iterations: options.analysisIterations))
            }
            outcome = try runner.run(data: data.tiny, samples: data.sampleKeys, analysisStateDir: (work as NSString).appendingPathComponent("analysis"),
                                     evaluate: evaluate, progress: { progress.update($0) })
        }
        progress.finish()
        let report = try CompressionOutputs.write(outcome, to: work, options: options, model: m, data: data, writeONNX: !noOnnx)
        try CompressionOutputs.publish(work: work, to: out, force: force)
        say(report.summaryTable)
        for warning in [report.noiseWarning, report.targetWarning].compactMap({ $0 }) {
            warn(warning)
        }
        say("\nwrote \(out)/model.safetensors\(noOnnx ? "" : ", model.onnx"), report.json, report.md, \(scheme == .channels ? "" : "candidates.svg, ")samples.txt")
        try Context.writeJSON(report, to: common.json)
    }
}
