import ArgumentParser
import Engine
import Foundation
import ImageData
import NN
import Practise

struct SynthesizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "synthesize",
        abstract: "Synthesise a tiny set from the teacher alone (DeepInversion or ZeroQ), as PNGs in an ImageFolder layout.",
        discussion: """
        Writes into --out: <class>/<index>.png (the target class, zero-padded; 'unlabelled' for ZeroQ), \
        contact-sheet.png and settings.json. Rerunning the same command resumes after the last finished batch. \
        Use the result with --data imagefolder:OUT.
        """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var synthesis: SynthesisOptions
    @OptionGroup var common: RunOptions
    @Option(parsing: .unconditional, help: "Number of images.") var numSamples: Int = 100
    @Option(parsing: .unconditional, help: "Side of the square input (default: 28 for CIFAR-style ResNets, 224 for torchvision models).") var imageSize: Int?
    @Option(help: "Normalisation mean, comma-separated (default: the weights' metadata).") var mean: String?
    @Option(help: "Normalisation std, comma-separated.") var std: String?
    @Option(help: "Output folder.") var out: String
    @Flag(help: "Replace --out if it holds something else.") var force = false

    /// The smallest side synthesis runs at (its jitter and total-variation prior need room).
    static let smallestSide = 8

    func validate() throws {
        if synthesis.syntheticCache != nil { throw ValidationError("--synthetic-cache belongs to analyze and compress; here the images go to --out") }
        try Check.range("--num-samples", numSamples, PreparedData.syntheticCountRange)
        try Check.range("--image-size", imageSize, Limits.imageSide)
        _ = try Context.normalization(mean: mean, std: std, recorded: nil)   // before the teacher loads
        try Check.outputFolder("--out", out)
    }

    func run() throws {
        common.apply()
        let m = try Context.model(modelOptions, seed: common.seed, requireWeights: true, imageSize: imageSize, hasImageSizeOption: true)
        let shape = m.network.imageShape(side: imageSize)
        guard shape[1] >= Self.smallestSide, shape[2] >= Self.smallestSide else {
            throw ValidationError("\(m.weightsLabel) takes \(shape[1])×\(shape[2]) images; synthesis needs at least \(Self.smallestSide)×\(Self.smallestSide) (give --image-size)")
        }
        guard let norm = try Context.normalization(mean: mean, std: std, recorded: m.recordedNormalization) else {
            throw PractiseError("\(m.weightsLabel) records no normalisation; give --mean and --std (the values the teacher was trained with)")
        }
        let start = Date()
        try synthesis.make(count: numSamples, model: m, imageShape: shape, normalization: norm, seed: common.seed, in: out, force: force)
        let seconds = Date().timeIntervalSince(start)
        say("wrote \(numSamples) images to \(out) (\(SyntheticSet.contactSheetFile), \(SyntheticSet.manifestFile)) in \(String(format: "%.1f", seconds)) s")
        struct Summary: Encodable { var out: String; var count: Int; var seconds: Double }
        try Context.writeJSON(Summary(out: out, count: numSamples, seconds: seconds), to: common.json)
    }
}
