import ArgumentParser
import Checkpoint
import Engine
import Foundation
import ImageData
import NN
import Practise

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train",
        abstract: "Train a teacher from scratch (SGD Nesterov, one-cycle, random crop + flip), evaluating and checkpointing each epoch.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var common: RunOptions
    @Option(help: "Epochs.") var epochs: Int = 15
    @Option(help: "Batch size.") var batchSize: Int = 128
    @Option(help: "Peak learning rate of the one-cycle schedule.") var lr: Float = 0.2
    @Option(help: "Weight decay.") var weightDecay: Float = 5e-4
    @Option(help: "Output weights (.safetensors). The checkpoint is OUT.checkpoint.safetensors.") var out: String
    @Flag(help: "Continue from OUT.checkpoint.safetensors.") var resume = false

    func run() throws {
        common.apply()
        guard modelOptions.weights == nil else { throw PractiseError("train starts from scratch; omit --weights") }
        let m = try Context.model(modelOptions, seed: common.seed, requireWeights: false)
        let spec = try DataSpec.parse(dataOptions.data).with(skipBadImages: dataOptions.skipBadImages)
        let train = try spec.open(split: .train), test = try spec.open(split: Context.split(dataOptions.split))
        try Context.checkCompatible(train, m.spec)
        let norm = try Context.normalization(dataOptions, weights: nil, dataset: train)
        let evalT = DataIO.evalTransform(spec: spec, normalization: norm)
        let side = try Context.imageShape(train, transform: evalT)[2]
        let trainT = DataIO.trainTransform(spec: spec, imageSide: side, normalization: norm)
        var recipe = TrainRecipe(epochs: epochs)
        recipe.batchSize = batchSize; recipe.learningRate = lr; recipe.weightDecay = weightDecay
        let trainer = Trainer(model: m.model, recipe: recipe, seed: common.seed)
        let ckptPath = out + ".checkpoint.safetensors"
        if resume {
            guard FileManager.default.fileExists(atPath: ckptPath) else { throw PractiseError("--resume: no checkpoint at \(ckptPath)") }
            try trainer.restore(try Checkpoint.load(URL(fileURLWithPath: ckptPath)))
            FileHandle.standardError.write("resuming after epoch \(trainer.completedEpochs)\n".data(using: .utf8)!)
        } else if FileManager.default.fileExists(atPath: ckptPath) {
            throw PractiseError("\(ckptPath) exists from an earlier run; pass --resume to continue it or delete it")
        }
        let metadata = WeightsIO.metadata(for: m.spec, extra: [
            MetadataKey.seed: String(common.seed), MetadataKey.recipe: recipe.summary,
            MetadataKey.mean: WeightsIO.joined(norm.mean), MetadataKey.std: WeightsIO.joined(norm.std),
            "practise.train_data": spec.description,
        ])
        let progress = ProgressLine()
        let start = Date()
        try trainer.run(train: train, transform: trainT, evaluate: { model in
            let acc = try Evaluation.accuracy(model, next: DataIO.evalBatches(test, transform: evalT, batchSize: 250))
            return acc.top1
        }, checkpoint: { t in
            try SafeTensors.write(t.checkpointDict(metadata: metadata), to: URL(fileURLWithPath: ckptPath))
            progress.finish()
            say(String(format: "epoch %d/%d: test top-1 %.2f%% (%.0f s)", t.completedEpochs, epochs, t.history.last!, Date().timeIntervalSince(start)))
        }, progress: { e, s, n, loss in
            progress.update(String(format: "epoch %d/%d step %d/%d loss %.4f", e + 1, epochs, s + 1, n, loss))
        })
        var final = metadata
        final["practise.epochs"] = String(epochs)
        final[MetadataKey.top1] = String(format: "%.2f", trainer.history.last ?? 0)
        final["practise.top1.data"] = "\(spec) \(dataOptions.split)"
        // The accuracy on the bundled test subset, so `practise eval --data bundled` can be checked against it.
        if let bundled = try? DataSpec.parse("bundled").open(split: .test), bundled.channels == m.spec.inChannels {
            let acc = try Evaluation.accuracy(m.model, next: DataIO.evalBatches(bundled, transform: DataIO.evalTransform(spec: try DataSpec.parse("bundled"), normalization: norm)))
            final["practise.top1.bundled_test"] = String(format: "%.2f", acc.top1)
        }
        final["practise.train_seconds"] = String(format: "%.0f", Date().timeIntervalSince(start))
        try WeightsIO.save(m.model, spec: m.spec, to: out, extra: final)
        say(String(format: "wrote %@ (data loading took %.1f%% of the training time)", out, trainer.dataShare * 100))
        try Context.writeJSON(["top1": trainer.history.last ?? 0, "epochs": Double(epochs)], to: common.json)
    }
}
