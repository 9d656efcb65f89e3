import Engine
import Foundation
import SafeFiles
import NN
import Practise

/// Writes the files of a finished compression and moves them into place.
enum CompressionOutputs {
    static func write(_ o: CompressionOutcome, to dir: String, options: CompressionOptions, model: ResolvedModel,
                      data: PreparedData, writeONNX: Bool) throws -> CompressionReport {
        func path(_ n: String) -> String { (dir as NSString).appendingPathComponent(n) }
        var report = CompressionReport(outcome: o, options: options, model: model.network.name,
                                       weights: model.weightsLabel, data: data.tinySetLabel,
                                       evalData: data.evalLabel, numSamples: data.indices.count)
        report.inputConversion = data.conversion?.description
        report.evalInputConversion = data.evalConversion?.description
        var extra = [
            MetadataKey.seed: String(options.seed),
            MetadataKey.mean: WeightsIO.joined(data.normalization.mean),
            MetadataKey.std: WeightsIO.joined(data.normalization.std),
            MetadataKey.imageSize: String(data.input.side),
            MetadataKey.recipe: (options.blocks == nil ? "PRACTISE \(options.method.rawValue): \(options.analysisIterations) analysis / "
                                 : "\(options.method.rawValue) on given blocks: ") + "\(options.finetuneIterations) finetune iterations, \(data.indices.count) samples",
            MetadataKey.top1: String(format: "%.2f", o.studentAccuracy.top1),
        ]
        if o.scheme == .channels {
            extra[MetadataKey.keptChannels] = WeightsIO.jsonObject(o.keptChannels)
            extra[MetadataKey.recipe] = String(format: "L1 filter pruning, ratio %.3f, then %@: ", o.pruneRatio ?? 0, report.method)
                + (report.method == "FSKD" ? "closed form" : "\(options.finetuneIterations) finetune iterations") + ", \(data.indices.count) samples"
        }
        try NetworkFiles.writeSafetensors(o.student, network: o.studentNetwork, to: path("model.safetensors"), metadata: extra)
        if writeONNX {
            try NetworkFiles.writeONNX(o.student, network: o.studentNetwork, imageShape: data.imageShape, to: path("model.onnx"), metadata: extra)
        }
        try OutputFile.write(report.json(), to: path("report.json"))
        try OutputFile.write(report.markdown, to: path("report.md"))
        if o.scheme == .blocks {
            try OutputFile.write(CandidatePlot.svg(o.scores.filter(\.fullyMeasured), dropped: o.dropped, title: "\(report.model): recoverability vs latency reduction"),
                                 to: path("candidates.svg"))
        }
        try SampleListWriter.write(data, to: path("samples.txt"))
        return report
    }

    /// Moves the finished work folder to `out` (replacing it only with `force`), dropping the
    /// analysis state that made resuming possible.
    static func publish(work: String, to out: String, force: Bool) throws {
        let fm = FileManager.default
        try? fm.removeItem(atPath: (work as NSString).appendingPathComponent("analysis"))
        if fm.fileExists(atPath: out) {
            guard force else { throw PractiseError("\(out) already exists; use --force to replace it") }
            let old = out + ".old-\(getpid())"
            try fm.moveItem(atPath: out, toPath: old)
            try fm.moveItem(atPath: work, toPath: out)
            try? fm.removeItem(atPath: old)
        } else {
            try fm.moveItem(atPath: work, toPath: out)
        }
    }
}
