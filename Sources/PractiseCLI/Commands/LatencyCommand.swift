import ArgumentParser
import Engine
import Foundation
import NN
import Practise

struct LatencyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "latency",
        abstract: "Inference latency of a model, or of a teacher and its student measured interleaved.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var common: RunOptions
    @Option(help: "A second model's weights (e.g. a compressed student) measured interleaved with the first.") var student: String?
    @Option(help: "Batch size.") var batch: Int = 1
    @Option(help: "Timed runs per model.") var runs: Int = 30
    @Option(help: "Input side in pixels (default 28 for CIFAR-style models, 224 otherwise).") var imageSize: Int?

    struct Entry: Codable { var model: String; var latency_ms: Double; var p10_ms: Double; var p90_ms: Double; var batch: Int; var threads: Int; var runs: Int }

    func run() throws {
        common.apply()
        let m = try Context.model(modelOptions, seed: common.seed, requireWeights: false)
        var models = [(m.weightsLabel, m.model)]
        if let s = student {
            var o = modelOptions
            o.weights = s
            o.model = nil
            let sm = try Context.model(o, seed: common.seed, requireWeights: true)
            models.append((s, sm.model))
        }
        let side = imageSize ?? m.spec.architecture.defaultImageSize
        let meter = LatencyMeter(warmupRuns: 3, runs: runs, budgetSeconds: 120, minRuns: 5)
        let r = meter.measureModels(models.map(\.1), imageShape: [m.spec.inChannels, side, side], batch: batch)
        let entries = zip(models, r).map { Entry(model: $0.0, latency_ms: $1.medianMs, p10_ms: $1.p10Ms, p90_ms: $1.p90Ms, batch: $1.batch, threads: $1.threads, runs: $1.runs) }
        say(Table.render(header: ["model", "median ms", "p10–p90 ms", "batch", "threads", "runs"], rows: entries.map {
            [$0.model, String(format: "%.2f", $0.latency_ms), String(format: "%.2f–%.2f", $0.p10_ms, $0.p90_ms), String($0.batch), String($0.threads), String($0.runs)]
        }))
        if entries.count == 2 {
            say(String(format: "latency reduction: %.1f%%", 100 * (1 - entries[1].latency_ms / entries[0].latency_ms)))
        }
        if entries.count == 1 { try Context.writeJSON(entries[0], to: common.json) } else { try Context.writeJSON(entries, to: common.json) }
    }
}
