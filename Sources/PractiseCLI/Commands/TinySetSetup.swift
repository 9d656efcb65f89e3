import Engine
import Foundation
import ImageData
import NN
import Practise

/// The tiny set and the evaluation data, shared by `analyze` and `compress`.
///
/// The two have separate sources: the tiny set is drawn from the train split of `--data`, the
/// evaluation uses `--split` of `--eval-data` (default: `--data`). The evaluation data fixes the
/// teacher's input (`imageShape`: the model's channels, the size of its images after the eval
/// transform) and, after `--mean/--std` and the weights' metadata, the normalisation. Tiny-set
/// images of another source are converted to that input by ``InputConversion``'s rule.
struct PreparedData {
    var spec: DataSpec
    var evalSpec: DataSpec
    var train: any Dataset
    var eval: any Dataset
    var evalSplit: String
    var indices: [Int]
    var normalization: Normalization
    var tiny: TinySet
    var imageShape: [Int]
    var evalTransform: TransformPipeline
    /// The rule applied to tiny-set images of another source than the evaluation data; nil when
    /// they are the same data.
    var conversion: InputConversion?
    /// Where the images of a `synthetic:N` tiny set end up, for the report (the command's final
    /// folder rather than its work folder); nil: the folder they were read from.
    var syntheticFolder: String?
    /// Batch size of both phases (``PhaseOptions/batchSize(tinySet:)``).
    var batchSize: Int

    /// - Parameters:
    ///   - synthesize: makes the images of a `synthetic:N` spec for this input and returns the
    ///     ImageFolder holding them.
    static func prepare(_ d: DataOptions, samples s: SampleOptions, phase: PhaseOptions, model: ResolvedModel, seed: UInt64,
                        synthesize: ((_ count: Int, _ imageShape: [Int], _ normalization: Normalization) throws -> String)? = nil) throws -> PreparedData {
        let spec = try DataSpec.parse(d.data).with(skipBadImages: d.skipBadImages)
        let evalSpec = try d.evalData.map { try DataSpec.parse($0).with(skipBadImages: d.skipBadImages) } ?? spec
        let evalOption = d.evalData == nil ? "--data" : "--eval-data"
        // The evaluation data is the teacher's own kind of data: labelled, with the model's channels
        // and classes. It fixes the input size, and compress measures top-1 on it.
        let teacherData = "give the teacher's own labelled data with --eval-data (e.g. --eval-data fashion-mnist): it fixes the input size and is what top-1 is measured on"
        if evalSpec.kind == .synthetic {
            throw PractiseError("\(evalOption) \(evalSpec): synthetic images cannot be the evaluation data; \(teacherData)")
        }
        let eval = try evalSpec.open(split: d.split)
        guard eval.isLabelled else { throw PractiseError("\(evalOption) \(evalSpec) has no labels; \(teacherData)") }
        try Context.checkCompatible(eval, model.spec)
        let norm = try Context.normalization(d, weights: model.loaded, dataset: eval)
        let evalT = DataIO.evalTransform(spec: evalSpec, normalization: norm)
        let shape = try Context.imageShape(eval, transform: evalT)

        let sameSource = spec == evalSpec
        let train: any Dataset
        if spec.kind == .synthetic {
            guard let synthesize else { throw PractiseError("--data synthetic:N is not available in this command") }
            let dir = try synthesize(spec.syntheticCount!, shape, norm)
            train = try ImageFolder(root: dir)
        } else {
            train = sameSource ? try evalSpec.open(split: .train) : try spec.open(split: .train)
        }
        let conversion = sameSource ? nil : InputConversion(channels: shape[0], height: shape[1], width: shape[2])
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
        var trainT = DataIO.trainTransform(spec: evalSpec, imageSide: shape[2], normalization: norm)
        var tinyEvalT = evalT
        if let conversion {
            trainT = conversion.prepended(to: trainT)
            tinyEvalT = conversion.prepended(to: .tensorOnly(norm))
        }
        let batchSize = phase.batchSize(tinySet: indices.count)
        let tiny = DataIO.tinySet(train, indices: indices, train: trainT, eval: tinyEvalT, batchSize: batchSize, seed: seed)
        return PreparedData(spec: spec, evalSpec: evalSpec, train: train, eval: eval, evalSplit: d.split.rawValue, indices: indices,
                            normalization: norm, tiny: tiny, imageShape: shape, evalTransform: evalT, conversion: conversion, batchSize: batchSize)
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
