import ArgumentParser
import Engine
import Foundation
import SafeFiles
import Practise

struct LatencyTableCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "latency-table",
        abstract: "Measure every distinct candidate block shape and the whole model on this machine; write a latency table.",
        discussion: """
        Run it on the machine you deploy on, then select by it anywhere with `analyze`/`compress --latency-table FILE`. \
        The format is in the README ("Latency tables"); Scripts/latency-table-onnxruntime.py writes the same format \
        with onnxruntime.
        """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var common: RunOptions
    @Option(name: [.customLong("batch"), .customLong("latency-batch")], parsing: .unconditional,
            help: "Batch size, 1 to \(Limits.maxBatch) (reference: 64).") var batch: Int = 64
    @Option(parsing: .unconditional, help: "Threads of the measurement (default: --threads).") var latencyThreads: Int?
    @Option(parsing: .unconditional, help: "Input side in pixels, \(Limits.imageSide) (default 28 for CIFAR-style models, 224 otherwise).") var imageSize: Int?
    @Option(parsing: .unconditional, help: "Measurement budget in seconds, 0.1 to 3600 (it stops earlier once every interval is within ±2%).") var budget: Double = 60
    @Option(help: "Output file (JSON).") var out: String
    @Flag(help: "Replace --out if it exists.") var force = false

    func validate() throws {
        // The same bounds as `latency` and the measurements of `analyze`/`compress`.
        try Check.range("--batch", batch, 1...Limits.maxBatch)
        try Check.range("--latency-threads", latencyThreads, Limits.threads, unit: " (\(Limits.threadsPerCore) × \(Limits.cores) cores)")
        guard budget.isFinite, (0.1...3600).contains(budget) else {
            throw ValidationError("--budget must be between 0.1 and 3600 seconds, got \(budget)")
        }
        try ImageSizeCheck.validate(imageSize: imageSize, batch: batch, batchOption: "--batch")
        try Check.outputFile("--out", out)
    }

    func run() throws {
        common.apply()
        if FileManager.default.fileExists(atPath: out) && !force { throw PractiseError("\(out) already exists; use --force to replace it") }
        let m = try Context.model(modelOptions, seed: common.seed, requireWeights: false, imageSize: imageSize, hasImageSizeOption: true)
        guard m.network.droppedBlocks.isEmpty else {
            throw PractiseError("\(m.weightsLabel) is already compressed (dropped \(m.network.droppedBlocks.joined(separator: ", "))); make the table of its teacher")
        }
        let shape = m.network.imageShape(side: imageSize)
        try ImageSizeCheck.validate(imageSize: max(shape[1], shape[2]), batch: batch, batchOption: "--batch")
        let candidates = Candidates.find(in: m.model, imageShape: shape)
        var meter = LatencyMeter(budgetSeconds: budget)
        meter.threads = latencyThreads
        let progress = ProgressLine()
        progress.update("measuring \(candidates.count) candidates of \(m.network.name) (batch \(batch))", force: true)
        let measured = meter.candidateReductions(model: m.model, candidates: candidates, imageShape: shape, batch: batch)
        progress.finish()
        let origin = LatencyOrigin.here(threads: measured.whole.threads, batch: batch)
        let table = LatencyTable(model: m.network.name, imageShape: shape, origin: origin, wholeModelMs: measured.whole.medianMs,
                                 blocks: candidates.map { LatencyTable.Entry(block: $0.path, latency: measured.reductions[$0.path]!) })
        try OutputFile.writeJSON(table, to: out)
        say(Table.render(header: ["block", "latency reduction", "95% interval"], rows: table.blocks.map {
            [$0.block, String(format: "%.2f%%", $0.latencyReduction), String(format: "%.2f–%.2f%%", $0.low ?? 0, $0.high ?? 0)]
        }))
        say(String(format: "\nwhole model %.2f ms; %@; %d rounds, widest interval ±%.1f%%\nwrote %@",
                   measured.whole.medianMs, origin.summary, measured.whole.runs, measured.spread * 100, out))
        if measured.spread > LatencyMeter.noiseBound {
            FileHandle.standardError.write(Data(String(format: "warning: this machine was too noisy to measure reliably (widest 95%% interval ±%.1f%%, bound ±%.0f%%)\n",
                                                       measured.spread * 100, LatencyMeter.noiseBound * 100).utf8))
        }
    }
}
