import ArgumentParser
import Engine
import Foundation
import Practise

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export",
        abstract: "Export a model (teacher or compressed) to ONNX (opset 13, BatchNorm folded, dynamic batch) or safetensors.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var common: RunOptions
    @Option(help: "onnx or safetensors.") var format: String = "onnx"
    @Option(help: "Input side in pixels (default 28 for CIFAR-style models, 224 otherwise).") var imageSize: Int?
    @Option(help: "Output file.") var out: String
    @Option(help: "Drop these candidate blocks first (comma-separated; the weights are copied, not finetuned): a model for latency measurement, as Scripts/latency-table-onnxruntime.py uses.") var without: String?

    func run() throws {
        common.apply()
        // Without --weights the seeded random initialisation is exported (handy for latency tests).
        var m = try Context.model(modelOptions, seed: common.seed, requireWeights: false)
        let side = imageSize ?? m.spec.architecture.defaultImageSize
        if let without {
            let blocks = without.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let known = Candidates.find(in: m.model, imageShape: [m.spec.inChannels, side, side]).map(\.path)
            for b in blocks where !known.contains(b) {
                throw PractiseError("--without: '\(b)' is not a droppable block of this \(m.spec.architecture.rawValue); candidates: \(known.joined(separator: ", "))")
            }
            let spec = m.spec.dropping(blocks)
            let pruned = spec.build(seed: common.seed)
            m.model.copyWeights(into: pruned)
            pruned.eval()
            m.spec = spec
            m.model = pruned
        }
        let extra = m.loaded?.metadata.filter { $0.key.hasPrefix("practise.") } ?? [:]
        switch format.lowercased() {
        case "onnx":
            try ONNXExport.write(m.model, spec: m.spec, imageShape: [m.spec.inChannels, side, side], to: out, metadata: extra)
        case "safetensors":
            try WeightsIO.save(m.model, spec: m.spec, to: out, extra: extra)
        default:
            throw PractiseError("--format must be onnx or safetensors, got '\(format)'")
        }
        say("wrote \(out) (\(m.spec.architecture.rawValue)\(m.spec.droppedBlocks.isEmpty ? "" : ", dropped \(m.spec.droppedBlocks.joined(separator: ","))"))")
    }
}
