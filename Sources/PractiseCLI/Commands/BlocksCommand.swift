import ArgumentParser
import Engine
import Foundation
import NN
import Practise

struct BlocksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "blocks",
        abstract: "List the droppable blocks of a model with parameters, MACs and measured latency share.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var common: RunOptions
    @Option(parsing: .unconditional, help: "Input side in pixels, \(Limits.imageSide) (default 28 for CIFAR-style models, 224 otherwise).") var imageSize: Int?
    @Option(parsing: .unconditional, help: "Batch size of the latency measurement, 1 to \(Limits.maxBatch).") var latencyBatch: Int = 16
    @Flag(help: "List the candidates without measuring their latency.") var noLatency = false

    func validate() throws {
        try Check.range("--latency-batch", latencyBatch, 1...Limits.maxBatch)
        try ImageSizeCheck.validate(imageSize: imageSize, batch: latencyBatch, batchOption: "--latency-batch")
    }

    struct Row: Codable { var block: String; var parameters: Int; var macs: Int; var latency_share: Double? }

    func run() throws {
        common.apply()
        let m = try Context.model(modelOptions, seed: common.seed, requireWeights: false, imageSize: imageSize, hasImageSizeOption: true)
        let shape = m.network.imageShape(side: imageSize)
        try ImageSizeCheck.validate(imageSize: max(shape[1], shape[2]), batch: latencyBatch, batchOption: "--latency-batch")
        let candidates = Candidates.find(in: m.model, imageShape: shape)
        var measured: CandidateLatencies?
        if !noLatency {
            let progress = ProgressLine()
            progress.update("measuring latency of \(candidates.count) candidates", force: true)
            measured = LatencyMeter().candidateReductions(model: m.model, candidates: candidates, imageShape: shape, batch: latencyBatch)
            progress.finish()
        }
        let rows = candidates.map { Row(block: $0.path, parameters: $0.parameters, macs: $0.macs, latency_share: measured?.reductions[$0.path]!.value) }
        say(Table.render(header: ["block", "params", "MMACs"] + (measured == nil ? [] : ["latency share (95% interval)"]), rows: zip(rows, candidates).map { row, c in
            [row.block, String(row.parameters), String(format: "%.1f", Double(row.macs) / 1e6)]
                + (measured.map { let l = $0.reductions[c.path]!; return [String(format: "%.2f%% (%.2f–%.2f)", l.value, l.low, l.high)] } ?? [])
        }))
        if let whole = measured?.whole {
            say(String(format: "\n%@: %d candidates; whole model %.2f ms (batch %d, %d threads, %d runs)",
                       m.network.name, rows.count, whole.medianMs, whole.batch, whole.threads, whole.runs))
        }
        try Context.writeJSON(rows, to: common.json)
    }
}
