import ArgumentParser
import Checkpoint
import Engine
import Foundation
import ImageData
import NN
import Practise
import SafeFiles

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train",
        abstract: "Train a teacher from scratch (SGD Nesterov, one-cycle, random crop + flip), evaluating and checkpointing each epoch.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var common: RunOptions
    @Option(parsing: .unconditional, help: "Epochs (at least 1).") var epochs: Int = 15
    @Option(parsing: .unconditional, help: "Batch size, 1 to \(Limits.maxBatch) (at most the training set).") var batchSize: Int = 128
    @Option(parsing: .unconditional, help: "Peak learning rate of the one-cycle schedule (> 0).") var lr: Float = 0.2
    @Option(parsing: .unconditional, help: "Weight decay (>= 0).") var weightDecay: Float = 5e-4
    @Option(help: "Output weights (.safetensors). The checkpoint is OUT.checkpoint.safetensors.") var out: String
    @Flag(help: "Continue from OUT.checkpoint.safetensors.") var resume = false
    @Flag(help: "Replace --out if it exists.") var force = false

    func validate() throws {
        guard modelOptions.weights == nil else { throw ValidationError("train starts from scratch; omit --weights") }
        try Check.range("--epochs", epochs, Limits.epochs)
        try Check.range("--batch-size", batchSize, 1...Limits.maxBatch)
        try Check.positive("--lr", lr)
        try Check.nonNegative("--weight-decay", weightDecay)
        try Check.outputFile("--out", out, allowStdout: false)
        if FileManager.default.fileExists(atPath: out) && !OutputFile.isStream(out) && !force {
            throw ValidationError("\(out) already exists; use --force to replace it")
        }
    }

    func run() throws {
        common.apply()
        let m = try Context.model(modelOptions, seed: common.seed, requireWeights: false)
        let zoo = try m.zooSpec(for: "train")
        let spec = try DataSpec.parse(dataOptions.data).with(skipBadImages: dataOptions.skipBadImages)
        try Context.checkHeldOut(dataOptions, advice: "or pass --split train to report the training accuracy as such")
        let train = try spec.open(split: .train), test = try spec.open(split: dataOptions.split)
        guard train.isLabelled else { throw PractiseError("--data \(spec) has no labels; train needs labelled data") }
        try Context.checkClasses(train, m.network)
        // The network is new: its channels are the data's unless --in-channels asks for a
        // conversion (e.g. --in-channels 1 for the PNGs of a grey ImageFolder, decoded as RGB).
        if modelOptions.inChannels == nil && train.channels != zoo.inChannels {
            throw PractiseError("\(spec) has \(train.channels)-channel images but a new \(zoo.architecture.rawValue) takes \(zoo.inChannels); pass --in-channels \(train.channels), or --in-channels \(zoo.inChannels) to convert the images (grey <-> RGB)")
        }
        let (input, conversion) = try Context.modelInput(dataOptions, model: m, dataset: train, spec: spec)
        if let conversion { warn("note: \(spec)'s images are converted to the model's input: \(conversion)") }
        let norm = input.normalization, side = input.side
        let evalT = input.evalTransform(spec: spec, conversion: conversion)
        let trainT = input.trainTransform(spec: spec, conversion: conversion)
        var recipe = TrainRecipe(epochs: epochs)
        recipe.batchSize = batchSize; recipe.learningRate = lr; recipe.weightDecay = weightDecay
        let trainer = Trainer(model: m.model, recipe: recipe, seed: common.seed)
        let ckptPath = out + ".checkpoint.safetensors"
        let metadata = WeightsIO.metadata(for: zoo, extra: [
            MetadataKey.seed: String(common.seed), MetadataKey.recipe: recipe.summary,
            MetadataKey.mean: WeightsIO.joined(norm.mean), MetadataKey.std: WeightsIO.joined(norm.std),
            MetadataKey.imageSize: String(side),
            "practise.train_data": spec.description,
        ])
        if resume {
            guard FileManager.default.fileExists(atPath: ckptPath) else { throw PractiseError("--resume: no checkpoint at \(ckptPath)") }
            let checkpoint = try Checkpoint.load(URL(fileURLWithPath: ckptPath))
            try Self.checkSameSettings(checkpoint.metadata, metadata, file: ckptPath)
            try trainer.restore(checkpoint, file: ckptPath)
            FileHandle.standardError.write("resuming after epoch \(trainer.completedEpochs)\n".data(using: .utf8)!)
        } else if FileManager.default.fileExists(atPath: ckptPath) {
            throw PractiseError("\(ckptPath) exists from an earlier run; pass --resume to continue it or delete it")
        }
        let progress = ProgressLine()
        let start = Date()
        try trainer.run(train: train, transform: trainT, evaluate: { model in
            let acc = try Evaluation.accuracy(model, next: DataIO.evalBatches(test, transform: evalT, batchSize: 250))
            if let p = acc.nonFiniteProblem(of: "the model after epoch \(trainer.completedEpochs + 1)") {
                throw PractiseError("training diverged: " + p + "; try a lower --lr")
            }
            return acc.top1
        }, checkpoint: { t in
            try SafeTensors.write(t.checkpointDict(metadata: metadata), to: URL(fileURLWithPath: ckptPath))
            progress.finish()
            say(String(format: "epoch %d/%d: %@ top-1 %.2f%% (%.0f s)", t.completedEpochs, epochs, dataOptions.split.rawValue, t.history.last!, Date().timeIntervalSince(start)))
        }, progress: { e, s, n, loss in
            progress.update(String(format: "epoch %d/%d step %d/%d loss %.4f", e + 1, epochs, s + 1, n, loss))
        })
        var final = metadata
        final["practise.epochs"] = String(epochs)
        final[MetadataKey.top1] = String(format: "%.2f", trainer.history.last ?? 0)
        final["practise.top1.data"] = "\(spec) \(dataOptions.split.rawValue)"
        // The accuracy on the bundled test subset, so `practise eval --data bundled` can be checked against it.
        if let bundled = try? DataSpec.parse("bundled").open(split: .test), bundled.channels == zoo.inChannels {
            let acc = try Evaluation.accuracy(m.model, next: DataIO.evalBatches(bundled, transform: DataIO.evalTransform(spec: try DataSpec.parse("bundled"), normalization: norm)))
            try Context.requireFinite(acc, of: "the trained model (on the bundled test subset)")
            final["practise.top1.bundled_test"] = String(format: "%.2f", acc.top1)
        }
        final["practise.train_seconds"] = String(format: "%.0f", Date().timeIntervalSince(start))
        try WeightsIO.save(m.model, spec: zoo, to: out, extra: final)
        say(String(format: "wrote %@ (data loading took %.1f%% of the training time)", out, trainer.dataShare * 100))
        try Context.writeJSON(["top1": trainer.history.last ?? 0, "epochs": Double(epochs)], to: common.json)
    }

    /// `--resume` continues exactly the run that wrote the checkpoint: its architecture, data,
    /// input, normalisation, seed and recipe (batch, learning rate, weight decay, epochs, which
    /// set the schedule) must be this run's, else the model's metadata would describe a
    /// training that never happened. Throws naming each setting that differs.
    static func checkSameSettings(_ saved: [String: String], _ now: [String: String], file: String) throws {
        // The tool's version may change between the two (a fixed binary finishing a long run).
        let differing = now.keys.sorted().filter { $0.hasPrefix("practise.") && $0 != MetadataKey.version && saved[$0] != now[$0] }
        guard !differing.isEmpty else { return }
        let list = differing.map { "\($0): \(saved[$0].map { "'\($0)'" } ?? "absent") in the checkpoint, '\(now[$0]!)' now" }
        throw PractiseError("--resume: \(file) was made with other settings (\(list.joined(separator: "; "))); rerun with the options that made it, or delete it to start over")
    }
}
