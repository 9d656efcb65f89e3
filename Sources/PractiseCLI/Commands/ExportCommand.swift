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

    func run() throws {
        common.apply()
        // Without --weights the seeded random initialisation is exported (handy for latency tests).
        let m = try Context.model(modelOptions, seed: common.seed, requireWeights: false)
        let side = imageSize ?? m.spec.architecture.defaultImageSize
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
