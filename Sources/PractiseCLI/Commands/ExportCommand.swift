import ArgumentParser
import Engine
import Foundation
import Practise
import SafeFiles

/// What `export` writes.
enum ExportFormat: String, ExpressibleByArgument, CaseIterable {
    case onnx, safetensors
    init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export",
        abstract: "Export a model (teacher or compressed) to ONNX (opset 13, BatchNorm folded, dynamic batch) or safetensors.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var common: RunOptions
    @Option(help: "Output format.") var format: ExportFormat = .onnx
    @Option(parsing: .unconditional, help: "Input side in pixels, \(Limits.imageSide) (default 28 for CIFAR-style models, 224 otherwise).") var imageSize: Int?
    @Option(help: "Output file ('-': standard output).") var out: String
    @Option(help: "Drop these candidate blocks first (comma-separated; the weights are copied, not finetuned): a model for latency measurement, as Scripts/latency-table-onnxruntime.py uses.") var without: String?
    @Flag(help: "Replace --out if it exists.") var force = false
    @Flag(help: "Without --weights: export the seeded random initialisation of --model (for latency tests).") var randomInit = false

    func validate() throws {
        try ImageSizeCheck.validate(imageSize: imageSize)
        try Check.outputFile("--out", out)
        if let without { _ = try Check.blockList("--without", without) }
        if modelOptions.weights == nil && !randomInit {
            throw ValidationError("export needs --weights FILE (or --weights bundled); pass --random-init to export an untrained, randomly initialised --model")
        }
        if modelOptions.weights != nil && randomInit { throw ValidationError("--random-init and --weights exclude each other") }
        if FileManager.default.fileExists(atPath: out) && !OutputFile.isStream(out) && !force {
            throw ValidationError("\(out) already exists; use --force to replace it")
        }
    }

    func run() throws {
        common.apply()
        var m = try Context.model(modelOptions, seed: common.seed, requireWeights: !randomInit, imageSize: imageSize, hasImageSizeOption: true)
        let shape = m.network.imageShape(side: imageSize)
        if let without {
            let blocks = try Check.blockList("--without", without)
            let known = Candidates.find(in: m.model, imageShape: shape).map(\.path)
            for b in blocks where !known.contains(b) {
                throw PractiseError("--without: '\(b)' is not a droppable block of this \(m.network.name); candidates: \(known.joined(separator: ", "))")
            }
            let network = m.network.dropping(blocks)
            let pruned = try network.buildChecked(seed: common.seed)
            m.model.copyWeights(into: pruned)
            pruned.eval()
            m.network = network
            m.model = pruned
        }
        let extra = m.loaded?.metadata.filter { $0.key.hasPrefix("practise.") } ?? [:]
        switch format {
        case .onnx:
            try NetworkFiles.writeONNX(m.model, network: m.network, imageShape: shape, to: out, metadata: extra)
        case .safetensors:
            try NetworkFiles.writeSafetensors(m.model, network: m.network, to: out, metadata: extra)
        }
        if out != OutputFile.standardOutput {
            say("wrote \(out) (\(m.network.name)\(m.network.droppedBlocks.isEmpty ? "" : ", dropped \(m.network.droppedBlocks.joined(separator: ","))"))")
        }
    }
}
