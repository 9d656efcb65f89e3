import ArgumentParser
import Engine
import Foundation
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
    @OptionGroup var common: RunOptions
    @Option(help: "Folder for the resumable analysis state and results.") var out: String = "practise-analysis"
    @Flag(help: "Discard a previous analysis in --out and start over.") var force = false

    func run() throws {
        common.apply()
        let m = try Context.model(modelOptions, seed: common.seed, requireWeights: true)
        let data = try PreparedData.prepare(dataOptions, samples: sampleOptions, model: m, seed: common.seed, batchSize: phase.batchSize)
        if force { try? FileManager.default.removeItem(atPath: out) }
        let candidates = Candidates.find(in: m.model, imageShape: data.imageShape)
        let settings = AnalysisSettings(model: m.spec.architecture.rawValue, candidates: candidates.map(\.path),
                                        iterations: phase.analysisIterations, batchSize: phase.batchSize,
                                        learningRate: phase.lr, seed: common.seed, samples: data.sampleKeys)
        let analysis = try AnalysisRun(teacher: m.model, imageShape: data.imageShape, settings: settings, stateDir: out, latencyBatch: phase.latencyBatch)
        try SampleListWriter.write(data, to: (out as NSString).appendingPathComponent("samples.txt"))
        let progress = ProgressLine()
        let scores = try analysis.run(data: data.tiny) { progress.update($0) }
        progress.finish()
        let ranked = Selection.ranked(scores)
        say(Table.render(header: ["rank", "block", "recoverability", "latency reduction", "score"], rows: ranked.enumerated().map { i, s in
            [String(i + 1), s.block, String(format: "%.6f", s.recoverability), String(format: "%.2f%%", s.latencyReduction), String(format: "%.6f", s.score)]
        }))
        try AtomicFile.writeJSON(ranked, to: (out as NSString).appendingPathComponent("scores.json"))
        try Context.writeJSON(ranked, to: common.json)
    }
}

enum SampleListWriter {
    static func write(_ data: PreparedData, to path: String) throws {
        try AtomicFile.write(data.sampleKeys.joined(separator: "\n") + "\n", to: path)
    }
}
