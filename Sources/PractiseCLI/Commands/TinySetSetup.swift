import Engine
import Foundation
import ImageData
import NN
import Practise

/// The training split, the tiny set drawn from it and the evaluation split, shared by
/// `analyze` and `compress`.
struct PreparedData {
    var spec: DataSpec
    var train: any Dataset
    var eval: any Dataset
    var evalSplit: String
    var indices: [Int]
    var normalization: Normalization
    var tiny: TinySet
    var imageShape: [Int]
    var evalTransform: TransformPipeline

    static func prepare(_ d: DataOptions, samples s: SampleOptions, model: ResolvedModel, seed: UInt64, batchSize: Int) throws -> PreparedData {
        let spec = try DataSpec.parse(d.data).with(skipBadImages: d.skipBadImages)
        let train = try spec.open(split: .train)
        let eval = try spec.open(split: Context.split(d.split))
        try Context.checkCompatible(train, model.spec)
        let norm = try Context.normalization(d, weights: model.loaded, dataset: train)
        let indices: [Int]
        if let file = s.samples {
            indices = try SampleList.read(from: file, for: train)
        } else if let k = s.perClass {
            indices = try FewShotSampler.sample(train, rule: .perClass(k), seed: seed)
        } else {
            indices = try FewShotSampler.sample(train, rule: .random(count: s.numSamples, balanced: false), seed: seed)
        }
        let evalT = DataIO.evalTransform(spec: spec, normalization: norm)
        let shape = try Context.imageShape(train, transform: evalT)
        let trainT = DataIO.trainTransform(spec: spec, imageSide: shape[2], normalization: norm)
        let tiny = DataIO.tinySet(train, indices: indices, train: trainT, eval: evalT, batchSize: batchSize, seed: seed)
        return PreparedData(spec: spec, train: train, eval: eval, evalSplit: d.split, indices: indices, normalization: norm, tiny: tiny,
                            imageShape: shape, evalTransform: evalT)
    }

    var sampleKeys: [String] { indices.map { train.sampleKey(at: $0) } }

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
