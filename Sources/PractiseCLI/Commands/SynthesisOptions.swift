import ArgumentParser
import Engine
import Foundation
import ImageData
import NN
import Practise

/// Settings of data-free synthesis (`practise synthesize`, and `--data synthetic:N` elsewhere).
struct SynthesisOptions: ParsableArguments {
    @Option(help: "Synthesis: deepinversion (BN statistics + cross-entropy to balanced labels + image priors) or zeroq (BN statistics only, no labels).")
    var synthesisMethod: SynthesisSettings.Variant = .deepInversion

    @Option(parsing: .unconditional, help: "Adam iterations per batch (default 500 for both methods).")
    var synthesisIterations: Int?

    @Option(parsing: .unconditional, help: "Images optimised together (default 64).")
    var synthesisBatchSize: Int?

    @Option(parsing: .unconditional, help: "Adam learning rate (default 0.25 DeepInversion, 0.5 ZeroQ); linear warm-up, then cosine decay.")
    var synthesisLr: Float?

    @Option(parsing: .unconditional, help: "Warm-up iterations (default 50 DeepInversion, at most a tenth of the iterations; 0 ZeroQ).")
    var synthesisWarmup: Int?

    @Option(parsing: .unconditional, help: "Weight of the BN-statistics term (default 0.05 DeepInversion, 1 ZeroQ).")
    var synthesisBnWeight: Float?

    @Option(parsing: .unconditional, help: "Multiplier of the first batch norm's term (default 10 DeepInversion, 1 ZeroQ).")
    var synthesisFirstBnMultiplier: Float?

    @Option(parsing: .unconditional, help: "Weight of the total-variation (l2) prior (default 1e-4; ZeroQ 0).")
    var synthesisTv: Float?

    @Option(parsing: .unconditional, help: "Weight of the l2 image prior (default 1e-5; ZeroQ 0).")
    var synthesisL2: Float?

    @Option(parsing: .unconditional, help: "Random roll of up to this many pixels each step (default 2; ZeroQ 0).")
    var synthesisJitter: Int?

    @Flag(help: "No random flips.")
    var noSynthesisFlips = false

    @Option(help: "With --data synthetic:N: folder of the synthesised images, reused when its settings match (default: OUT/synthetic).")
    var syntheticCache: String?

    /// Refuses impossible settings (`--synthesis-iterations 0`, a negative weight, …) at parse
    /// time, before any command loads a teacher or data.
    func validate() throws {
        do { _ = try settings(seed: 0) } catch let error as PractiseError { throw ValidationError(error.description) }
    }

    /// The settings these options give, seeded with `seed`.
    func settings(seed: UInt64) throws -> SynthesisSettings {
        var s = synthesisMethod == .zeroQ ? SynthesisSettings.zeroQ : SynthesisSettings()
        if let v = synthesisIterations { s.iterations = v }
        if let v = synthesisBatchSize { s.batchSize = v }
        if let v = synthesisLr { s.learningRate = v }
        if let v = synthesisWarmup {
            guard v == 0 || v < s.iterations else {
                throw PractiseError("--synthesis-warmup \(v) must be shorter than the \(s.iterations) iterations, or the learning rate never reaches its peak")
            }
            s.warmup = v
        } else {
            s.warmup = min(s.warmup, s.iterations / 10)
        }
        if let v = synthesisBnWeight { s.bnWeight = v }
        if let v = synthesisFirstBnMultiplier { s.firstBNMultiplier = v }
        if let v = synthesisTv { s.tvWeight = v }
        if let v = synthesisL2 { s.l2Weight = v }
        if let v = synthesisJitter { s.jitter = v }
        if noSynthesisFlips { s.flips = false }
        s.seed = seed
        try s.validate()
        return s
    }

    /// Makes (or resumes, or reuses) `count` images from `model` in `dir`; returns `dir`.
    func make(count: Int, model: ResolvedModel, imageShape: [Int], normalization: Normalization, seed: UInt64,
              in dir: String, force: Bool = false) throws -> String {
        let s = try settings(seed: seed)
        if model.network.zoo == nil, !model.model.namedModules().contains(where: { $0.module is BatchNorm2d }) {
            throw PractiseError("""
                \(model.weightsLabel) has no BatchNormalization, whose running statistics synthesis matches: its BatchNorms were \
                folded into the convs when the file was written (torch.onnx.export's default in eval mode, and practise's own ONNX output); \
                export with training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False to keep them, or give real images with --data
                """)
        }
        let manifest = SyntheticSetManifest(teacher: model.weightsLabel, count: count, numClasses: model.network.numClasses,
                                            imageShape: imageShape, mean: normalization.mean, std: normalization.std, settings: s)
        let synth = try DeepInversion(teacher: model.model, imageShape: imageShape, numClasses: model.network.numClasses,
                                      mean: normalization.mean, std: normalization.std, settings: s)
        let progress = ProgressLine()
        try SyntheticSet.make(manifest, in: dir, synthesizer: synth, force: force) { progress.update($0) }
        progress.finish()
        return dir
    }
}
