import ArgumentParser
import Engine
import Foundation
import ImageData
import NN
import Practise

/// The tiny set and the evaluation data, shared by `analyze` and `compress`.
///
/// The two have separate sources: the tiny set is drawn from the train split of `--data`, the
/// evaluation uses `--split` of `--eval-data` (default: `--data`). Both reach the teacher's input
/// (``ModelInput``: its channels; its side from `--image-size`, the weights' metadata, the
/// evaluation data or the architecture; its normalisation) by the same rule: data whose own
/// transforms fit is used as it is, any other is converted (``InputConversion``).
struct PreparedData {
    var spec: DataSpec
    var evalSpec: DataSpec
    var train: any Dataset
    var eval: any Dataset
    var evalSplit: String
    var indices: [Int]
    var input: ModelInput
    var tiny: TinySet
    var evalTransform: TransformPipeline
    /// The rule applied to tiny-set images that do not fit the teacher's input as they are; nil
    /// when they do.
    var conversion: InputConversion?
    /// The rule applied to the evaluation images; nil when they fit as they are.
    var evalConversion: InputConversion?
    /// Where the images of a `synthetic:N` tiny set end up, for the report (the command's final
    /// folder rather than its work folder); nil: the folder they were read from.
    var syntheticFolder: String?
    /// Batch size of both phases (``PhaseOptions/batchSize(tinySet:)``).
    var batchSize: Int

    /// `[C, H, W]` of the teacher's input.
    var imageShape: [Int] { input.shape }
    var normalization: Normalization { input.normalization }

    /// - Parameters:
    ///   - synthesize: makes the images of a `synthetic:N` spec for this input and returns the
    ///     ImageFolder holding them.
    static func prepare(_ d: DataOptions, samples s: SampleOptions, phase: PhaseOptions, model: ResolvedModel, seed: UInt64,
                        synthesize: ((_ count: Int, _ imageShape: [Int], _ normalization: Normalization) throws -> String)? = nil) throws -> PreparedData {
        let spec = try DataSpec.parse(d.data).with(skipBadImages: d.skipBadImages)
        let evalSpec = try d.evalData.map { try DataSpec.parse($0).with(skipBadImages: d.skipBadImages) } ?? spec
        let evalOption = d.evalData == nil ? "--data" : "--eval-data"
        // The evaluation data is the teacher's own kind of data: labelled, with the model's classes.
        // It fixes the input size (unless --image-size or the weights' metadata do), and compress
        // measures top-1 on it.
        let teacherData = "give the teacher's own labelled data with --eval-data (e.g. --eval-data fashion-mnist): it fixes the input size and is what top-1 is measured on"
        if evalSpec.kind == .synthetic {
            throw PractiseError("\(evalOption) \(evalSpec): synthetic images cannot be the evaluation data; \(teacherData)")
        }
        let eval = try evalSpec.open(split: d.split)
        Context.noteSkipped(eval, option: evalOption)
        guard eval.isLabelled else { throw PractiseError("\(evalOption) \(evalSpec) has no labels; \(teacherData)") }
        try Context.checkClasses(eval, model.network)
        let (input, evalConversion) = try Context.modelInput(d, model: model, dataset: eval, spec: evalSpec, option: evalOption)
        let evalT = input.evalTransform(spec: evalSpec, conversion: evalConversion)

        let sameSource = spec == evalSpec
        let train: any Dataset
        let trainSpec: DataSpec
        if spec.kind == .synthetic {
            guard let synthesize else { throw PractiseError("--data synthetic:N is not available in this command") }
            let dir = try synthesize(spec.syntheticCount!, input.shape, input.normalization)
            train = try ImageFolder(root: dir)
            trainSpec = DataSpec(kind: .imageFolder, root: dir)
        } else {
            train = sameSource ? try evalSpec.open(split: .train) : try spec.open(split: .train)
            trainSpec = spec
            if !sameSource { Context.noteSkipped(train, option: "--data") }
        }
        // Synthesised images have the input's size already; the rule only turns their decoded RGB
        // back into the teacher's channels (exactly, for grey), never the ImageFolder resize.
        let conversion = spec.kind == .synthetic ? input.rule : try input.conversion(for: train, spec: trainSpec)
        let indices: [Int]
        if let file = s.samples {
            indices = try SampleList.read(from: file, for: train)
        } else if spec.kind == .synthetic {
            indices = Array(0..<train.count)   // every synthesised image
        } else if let k = s.perClass {
            indices = try FewShotSampler.sample(train, rule: .perClass(k), seed: seed)
        } else {
            indices = try FewShotSampler.sample(train, rule: .random(count: s.numSamples ?? SampleOptions.defaultCount, balanced: false), seed: seed)
        }
        let trainT = input.trainTransform(spec: trainSpec, conversion: conversion)
        let tinyEvalT = input.evalTransform(spec: trainSpec, conversion: conversion)
        let batchSize = phase.batchSize(tinySet: indices.count)
        let tiny = DataIO.tinySet(train, indices: indices, train: trainT, eval: tinyEvalT, batchSize: batchSize, seed: seed)
        return PreparedData(spec: spec, evalSpec: evalSpec, train: train, eval: eval, evalSplit: d.split.rawValue, indices: indices,
                            input: input, tiny: tiny, evalTransform: evalT, conversion: conversion, evalConversion: evalConversion,
                            batchSize: batchSize)
    }

    var sampleKeys: [String] { indices.map { train.sampleKey(at: $0) } }

    /// Where the tiny set came from, as the report records it.
    var tinySetLabel: String { spec.kind == .synthetic ? "\(spec) (\(syntheticFolder ?? train.name))" : "\(spec) train" }
    var evalLabel: String { "\(evalSpec) \(evalSplit)" }

    /// Refuses a finetuning method the tiny set cannot feed: cross-entropy needs labels of the
    /// model's classes; MiR and KD learn from the teacher alone.
    func check(method: FinetuneMethod, numClasses: Int) throws {
        guard method == .bp else { return }
        guard train.isLabelled else {
            throw PractiseError("--method BP trains on labels (cross-entropy), but the tiny set \(spec) has none; use --method MiR (feature mimicking) or KD (distillation), which learn from the teacher alone")
        }
        guard train.classCount == numClasses else {
            throw PractiseError("--method BP needs tiny-set labels of the model's \(numClasses) classes, but \(spec) has \(train.classCount) classes; use --method MiR or KD")
        }
    }

    /// Top-1/top-5 of `model` on the evaluation split, with a progress line.
    func evaluate(_ model: ClassifierModel, progress: ProgressLine, label: String) throws -> Accuracy {
        let next = DataIO.evalBatches(eval, transform: evalTransform)
        return try Evaluation.accuracy(model, next: next) { n in progress.update("\(label): \(n)/\(eval.count) images") }
    }
}

extension DataSpec {
    func with(skipBadImages: Bool) -> DataSpec {
        var s = self
        s.skipBadImages = skipBadImages
        return s
    }
}

extension PreparedData {
    /// The most images `synthetic:N` and `synthesize --num-samples` make: a tiny set is 50–1000
    /// images, and a larger one is held in memory whole.
    static let syntheticCountRange = 1...100_000

    /// Refuses, before any work, options that `--data` leaves without meaning: a `synthetic:N`
    /// beyond ``syntheticCountRange``; `--samples`, `--per-class` or another `--num-samples`
    /// with `synthetic:N` (the tiny set is the N synthesised images); `--synthetic-cache`
    /// without `synthetic:N`, or in a folder that does not exist. A `--data` that does not
    /// parse is left to the command, whose error names the spec.
    static func checkOptions(_ d: DataOptions, samples s: SampleOptions, synthesis: SynthesisOptions) throws {
        guard let spec = try? DataSpec.parse(d.data) else { return }
        guard let n = spec.syntheticCount else {
            if let cache = synthesis.syntheticCache {
                throw ValidationError("--synthetic-cache \(cache) is used only with --data synthetic:N; --data is \(d.data)")
            }
            return
        }
        try Check.range("--data synthetic:N", n, syntheticCountRange, unit: " images")
        if s.samples != nil || s.perClass != nil {
            throw ValidationError("--data \(d.data): the tiny set is the \(n) synthesised images; leave out \(s.samples != nil ? "--samples" : "--per-class")")
        }
        if let k = s.numSamples, k != n {
            throw ValidationError("--num-samples \(k) differs from --data \(d.data): the tiny set is the \(n) synthesised images (give synthetic:\(k), or leave out --num-samples)")
        }
        if let cache = synthesis.syntheticCache { try Check.outputFolder("--synthetic-cache", cache) }
    }
}
