import ArgumentParser
import Engine
import Foundation
import SafeFiles
import NN
import Practise

struct AnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "analyze",
        abstract: "Recoverability, latency reduction and score of every droppable block.",
        discussion: "Results are saved per block in --out as they finish; rerunning the same command resumes.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var sampleOptions: SampleOptions
    @OptionGroup var phase: PhaseOptions
    @OptionGroup var latency: LatencyOptions
    @OptionGroup var common: RunOptions
    @OptionGroup var synthesis: SynthesisOptions
    @Option(help: "Folder for the resumable analysis state and results.") var out: String = "practise-analysis"
    @Flag(help: "Discard a previous analysis in --out and start over.") var force = false

    func run() throws {
        common.apply()
        let m = try Context.model(modelOptions, seed: common.seed, requireWeights: true)
        if force { try? FileManager.default.removeItem(atPath: out) }
        let cache = synthesis.syntheticCache ?? ((out) as NSString).appendingPathComponent("synthetic")
        let data = try PreparedData.prepare(dataOptions, samples: sampleOptions, model: m, seed: common.seed, batchSize: phase.batchSize) { n, shape, norm in
            try synthesis.make(count: n, model: m, imageShape: shape, normalization: norm, seed: common.seed, in: cache)
        }
        let candidates = Candidates.find(in: m.model, imageShape: data.imageShape)
        let settings = AnalysisSettings(model: m.spec.architecture.rawValue, candidates: candidates.map(\.path),
                                        iterations: phase.analysisIterations, batchSize: phase.batchSize,
                                        learningRate: phase.lr, seed: common.seed, samples: data.sampleKeys)
        let analysis = try AnalysisRun(teacher: m.model, imageShape: data.imageShape, settings: settings, stateDir: out, latencyBatch: latency.latencyBatch)
        analysis.latencyMeter = latency.meter
        analysis.latencySource = try latency.tableSource(model: m.spec.architecture.rawValue, imageShape: data.imageShape)
        try SampleListWriter.write(data, to: (out as NSString).appendingPathComponent("samples.txt"))
        let progress = ProgressLine()
        let scores = try analysis.run(data: data.tiny) { progress.update($0) }
        progress.finish()
        let ranked = Selection.ranked(scores)
        say(Table.render(header: ["rank", "block", "recoverability", "latency reduction (95% interval)", "score"], rows: ranked.enumerated().map { i, s in
            [String(i + 1), s.block, String(format: "%.6f", s.recoverability),
             String(format: "%.2f%% (%.2f–%.2f)", s.latencyReduction, s.latencyLow, s.latencyHigh), String(format: "%.6f", s.score)]
        }))
        if let l = analysis.latencies {
            say("\ncandidate latencies: \(l.origin.summary)")
            let ties = Selection.ties(ranked)
            if !ties.isEmpty { say("within noise: " + ties.map { $0.joined(separator: " ~ ") }.joined(separator: "; ") + " (ranked by recoverability, then name)") }
            if l.noisy {
                FileHandle.standardError.write(Data(String(format: "warning: latency too noisy to measure reliably (widest 95%% interval ±%.1f%%, bound ±%.0f%%); candidates within noise were ranked by: %@\n",
                                                           l.spread * 100, LatencyMeter.noiseBound * 100, Selection.tieRule).utf8))
            }
        }
        try OutputFile.writeJSON(ranked, to: (out as NSString).appendingPathComponent("scores.json"))
        try Context.writeJSON(ranked, to: common.json)
    }
}

enum SampleListWriter {
    static func write(_ data: PreparedData, to path: String) throws {
        try OutputFile.write(data.sampleKeys.joined(separator: "\n") + "\n", to: path)
    }
}
