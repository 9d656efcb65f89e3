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
    @Option(parsing: .unconditional, help: "Batch size, 1 to \(Limits.maxBatch).") var batch: Int = 1
    @Option(parsing: .unconditional, help: "Timed runs per model (at least 1).") var runs: Int = 30
    @Option(parsing: .unconditional, help: "Input side in pixels, \(Limits.imageSide) (default 28 for CIFAR-style models, 224 otherwise).") var imageSize: Int?

    struct Entry: Codable { var model: String; var latency_ms: Double; var p10_ms: Double; var p90_ms: Double; var batch: Int; var threads: Int; var runs: Int }

    func validate() throws {
        try Check.range("--batch", batch, 1...Limits.maxBatch)
        try Check.range("--runs", runs, 1...1_000_000)
        try ImageSizeCheck.validate(imageSize: imageSize, batch: batch, batchOption: "--batch")
    }

    func run() throws {
        common.apply()
        let m = try Context.model(modelOptions, seed: common.seed, requireWeights: false, imageSize: imageSize, hasImageSizeOption: true)
        // The side the weights were trained at (their metadata) unless --image-size says otherwise.
        let side = imageSize ?? m.loaded?.info.imageSize
        let shape = m.network.imageShape(side: side)
        try ImageSizeCheck.validate(imageSize: max(shape[1], shape[2]), batch: batch, batchOption: "--batch")
        var models = [(m.weightsLabel, m.model)]
        if let s = student {
            var o = modelOptions
            o.weights = s
            o.model = nil
            o.inChannels = nil
            let sm = try Context.model(o, seed: common.seed, requireWeights: true, imageSize: imageSize, hasImageSizeOption: true)
            let studentShape = sm.network.imageShape(side: side)
            if imageSize == nil, let a = m.loaded?.info.imageSize, let b = sm.loaded?.info.imageSize, a != b {
                throw PractiseError("--student \(s) records an input of \(b)×\(b) pixels but the first model \(a)×\(a); both must take the same input (or give --image-size)")
            }
            guard sm.network.inChannels == m.network.inChannels else {
                throw PractiseError("--student \(s) takes \(sm.network.inChannels)-channel images but the first model takes \(m.network.inChannels); both must take the same input")
            }
            guard sm.network.zoo != nil || studentShape == shape else {
                throw PractiseError("--student \(s) takes images [\(studentShape.map(String.init).joined(separator: ", "))] but the first model takes [\(shape.map(String.init).joined(separator: ", "))]; both must take the same input")
            }
            models.append((s, sm.model))
        }
        let meter = LatencyMeter(warmupRuns: 3, runs: runs, budgetSeconds: 120, minRuns: min(5, runs))
        let r = meter.measureModels(models.map(\.1), imageShape: shape, batch: batch)
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

/// `--image-size` and the batch it is measured at (`blocks`, `latency`, `export`).
enum ImageSizeCheck {
    static func validate(imageSize: Int?, batch: Int = 1, batchOption: String = "") throws {
        try Check.range("--image-size", imageSize, Limits.imageSide)
        if let side = imageSize, batch * side * side > Limits.maxLatencyPixels {
            throw ValidationError("\(batchOption) \(batch) at --image-size \(side) is \(batch * side * side) pixels per batch, more than the \(Limits.maxLatencyPixels) (64 images of 512×512) a measurement accepts")
        }
    }
}
