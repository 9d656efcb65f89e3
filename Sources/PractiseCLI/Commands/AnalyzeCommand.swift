import ArgumentParser
import Engine
import Foundation
import NN
import Practise
import SafeFiles

struct AnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "analyze",
        abstract: "Recoverability, latency reduction and score of every droppable block.",
        discussion: """
        Results are saved per block in --out as they finish; rerunning the same command resumes; \
        OUT.lock keeps a second run out of the same folder. \
        Across machines: each of N jobs runs --shard-index I --shard-count N --out DIR on a shared DIR, \
        then --merge DIR (same options) checks and scores them; --status DIR shows progress.
        """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var sampleOptions: SampleOptions
    @OptionGroup var phase: PhaseOptions
    @OptionGroup var latency: LatencyOptions
    @OptionGroup var common: RunOptions
    @OptionGroup var synthesis: SynthesisOptions
    @OptionGroup var schedule: AnalysisScheduleOptions
    @Option(parsing: .unconditional, help: "With --analysis-schedule halving: the number of best-ranked candidates the later selection takes (e.g. compress --drop K); at least these plus --halving-margin are trained the full iterations.")
    var halvingKeep: Int?
    @Option(help: "Folder for the resumable analysis state and results (with --shard-index: the shared folder of all shards).")
    var out: String = "practise-analysis"
    @Flag(help: "Discard a previous analysis in --out and start over (not with --shard-index).") var force = false
    @Option(parsing: .unconditional, help: "Train only this shard's candidates (0-based; with --shard-count), writing one result per candidate into --out.")
    var shardIndex: Int?
    @Option(parsing: .unconditional, help: "Number of shards the candidates are split into (with --shard-index).") var shardCount: Int?
    @Option(help: "Check that every candidate in this shared folder has a result made with these options, take latency figures, print and save the scores.")
    var merge: String?
    @Option(help: "Show which candidates of this shared folder are done, running or missing (needs no other option).")
    var status: String?

    func validate() throws {
        if let side = dataOptions.imageSize { try latency.checkBatch(imageShape: [1, side, side]) }
        try PreparedData.checkOptions(dataOptions, samples: sampleOptions, synthesis: synthesis)
        if (shardIndex == nil) != (shardCount == nil) { throw ValidationError("give --shard-index and --shard-count together") }
        if [shardIndex != nil, merge != nil, status != nil].filter({ $0 }).count > 1 {
            throw ValidationError("give only one of --shard-index/--shard-count, --merge DIR or --status DIR")
        }
        if shardIndex != nil && force { throw ValidationError("--force cannot be used with --shard-index: the folder is shared by every shard") }
        try Check.range("--shard-count", shardCount, 1...100_000)
        try schedule.refuseHalving(with: "--shard-index/--shard-count", given: shardIndex != nil,
                                   because: "every shard trains its own candidates to the full iterations, while halving ranks all candidates in one process to stop the worst")
        try schedule.refuseHalving(with: "--merge", given: merge != nil, because: "--merge scores the full analyses of sharded runs, which train no candidate")
        try schedule.refuseHalving(with: "--status", given: status != nil, because: "--status only shows the progress of a sharded analysis")
        switch (schedule.analysisSchedule, halvingKeep) {
        case (.halving, nil): throw ValidationError("--analysis-schedule halving needs --halving-keep K on analyze: how many best-ranked candidates the later selection takes (analyze selects none itself)")
        case (.full, .some): throw ValidationError("--halving-keep needs --analysis-schedule halving")
        default: break
        }
        try Check.range("--halving-keep", halvingKeep, 1...Int.max)
        try phase.refuse([.finetuneIterations], with: "analyze", because: "it trains only the adaptors; finetuning is compress's")
        _ = try schedule.halving(iterations: phase.analysisIterations, selection: .count(halvingKeep ?? 1))
        if status == nil && merge == nil { try Check.outputFolder("--out", out) }
        if status == nil && merge == nil && shardIndex == nil {
            // Resuming (or --force discarding) an analysis never writes into, or removes, a folder
            // of other files. (Shards share a folder prepared for them: logs, a latency.json.)
            try Check.ownFolder("--out", out, markers: [AnalysisRun.settingsFile, AnalysisFolder.manifestFile, "latency.json", "synthetic"],
                                what: "an analysis folder")
        }
    }

    func run() throws {
        common.apply()
        if let status { return try AnalysisStatusPrinter.print(AnalysisFolder(status), json: common.json) }
        // One process owns a single-process analysis folder; shards share theirs (each result file
        // is written atomically and skipped when present), so only the single-process run locks.
        let lock = (shardIndex == nil && merge == nil) ? try OutputLock.acquire(for: out) : nil
        defer { lock?.release() }
        let m = try Context.model(modelOptions, seed: common.seed, requireWeights: true, imageSize: dataOptions.imageSize, hasImageSizeOption: true)
        if let k = halvingKeep {
            let known = Candidates.find(in: m.model, imageShape: m.network.imageShape()).count
            if k > known { throw PractiseError("--halving-keep \(k) is more than the \(known) droppable blocks of \(m.network.name)") }
        }
        try latency.checkBatch(imageShape: m.network.imageShape(side: dataOptions.imageSize))
        if force && shardIndex == nil && merge == nil { try? FileManager.default.removeItem(atPath: out) }
        let cache = synthesis.syntheticCache ?? ((merge ?? out) as NSString).appendingPathComponent("synthetic")
        let data = try PreparedData.prepare(dataOptions, samples: sampleOptions, phase: phase, model: m, seed: common.seed) { n, shape, norm in
            try synthesis.make(count: n, model: m, imageShape: shape, normalization: norm, seed: common.seed, in: cache)
        }
        try CompressionRun.requireFiniteOutputs(m.model, on: data.tiny)
        try latency.checkBatch(imageShape: data.imageShape)
        let table = try latency.tableSource(model: m.network.name, imageShape: data.imageShape)
        let scores: [CandidateScore], latencies: BlockLatencies?
        if let merge {
            let source: LatencySource = table ?? MeasuredLatencySource(meter: latency.meter, model: m.model, imageShape: data.imageShape,
                                                                       batch: latency.latencyBatch)
            let merged = try AnalysisFolder(merge).merge(expected: try ShardSetup.settings(m, data: data, phase: phase, seed: common.seed),
                                                         teacher: m.model, imageShape: data.imageShape, latency: source)
            scores = merged.scores
            latencies = merged.latencies
            say("merged \(scores.count) candidates from \(merge); wrote \(merge)/scores.json")
        } else if let shardIndex, let shardCount {
            let shard = try ShardRun(teacher: m.model, imageShape: data.imageShape,
                                     settings: try ShardSetup.settings(m, data: data, phase: phase, seed: common.seed),
                                     samples: data.sampleKeys, folder: AnalysisFolder(out), index: shardIndex, count: shardCount)
            shard.checkpointEvery = phase.checkpointEvery
            shard.log = { say($0) }
            _ = try shard.run(data: data.tiny)
            try SampleListWriter.write(data, to: (out as NSString).appendingPathComponent("samples.txt"))
            return
        } else {
            let candidates = Candidates.find(in: m.model, imageShape: data.imageShape)
            let halving = try schedule.halving(iterations: phase.analysisIterations, selection: .count(halvingKeep ?? 1))
            let settings = AnalysisSettings(model: m.network.name, candidates: candidates.map(\.path),
                                            iterations: phase.analysisIterations, batchSize: data.batchSize,
                                            learningRate: phase.lr, seed: common.seed, samples: data.sampleKeys, halving: halving)
            let analysis = try AnalysisRun(teacher: m.model, imageShape: data.imageShape, settings: settings, stateDir: out, latencyBatch: latency.latencyBatch)
            analysis.latencyMeter = latency.meter
            analysis.latencySource = table
            analysis.checkpointEvery = phase.checkpointEvery
            try SampleListWriter.write(data, to: (out as NSString).appendingPathComponent("samples.txt"))
            let progress = ProgressLine()
            analysis.onRung = { rung in
                progress.finish()
                warn(rungNote(rung, iterations: phase.analysisIterations))
            }
            scores = try analysis.run(data: data.tiny) { progress.update($0) }
            progress.finish()
            latencies = analysis.latencies
            try OutputFile.writeJSON(Selection.ranked(scores), to: (out as NSString).appendingPathComponent("scores.json"))
        }
        let ranked = Selection.ranked(scores)
        let halved = ranked.contains { !$0.fullyMeasured }
        say(Table.render(header: ["rank", "block", "recoverability", "latency reduction (95% interval)", "score"] + (halved ? ["iterations"] : []),
                         rows: ranked.enumerated().map { i, s in
            [String(i + 1), s.block, String(format: "%.6f", s.recoverability),
             String(format: "%.2f%% (%.2f–%.2f)", s.latencyReduction, s.latencyLow, s.latencyHigh), String(format: "%.6f", s.score)]
                + (halved ? [s.eliminatedAfter.map { "\($0), eliminated" } ?? String(phase.analysisIterations)] : [])
        }))
        if halved {
            say("\neliminated: stopped early by --analysis-schedule halving; their recoverability is of the iterations shown, ranked after every fully measured candidate")
        }
        if let l = latencies {
            say("\ncandidate latencies: \(l.origin.summary)")
            let ties = Selection.ties(ranked)
            if !ties.isEmpty { say("within noise: " + ties.map { $0.joined(separator: " ~ ") }.joined(separator: "; ") + " (ranked by recoverability, then name)") }
            if l.noisy {
                FileHandle.standardError.write(Data(String(format: "warning: latency too noisy to measure reliably (widest 95%% interval ±%.1f%%, bound ±%.0f%%); candidates within noise were ranked by: %@\n",
                                                           l.spread * 100, LatencyMeter.noiseBound * 100, Selection.tieRule).utf8))
            }
        }
        try Context.writeJSON(ranked, to: common.json)
    }
}

enum SampleListWriter {
    static func write(_ data: PreparedData, to path: String) throws {
        try OutputFile.write(data.sampleKeys.joined(separator: "\n") + "\n", to: path)
    }
}
