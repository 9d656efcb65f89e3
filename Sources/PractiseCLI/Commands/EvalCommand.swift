import ArgumentParser
import Engine
import Foundation
import ImageData
import NN
import Practise

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "eval",
        abstract: "Top-1/top-5 accuracy of a model (compressed or not) on a dataset split.",
        discussion: "A model whose logits are NaN or infinite for any image has no accuracy: the command fails and writes no JSON.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var common: RunOptions
    @Option(parsing: .unconditional, help: "Evaluate only the first N images (N >= 1).") var limit: Int?
    @Option(parsing: .unconditional, help: "Evaluation batch size, 1 to \(Limits.maxBatch) (at most the number of images).") var batchSize: Int = 100

    func validate() throws {
        try Check.range("--limit", limit, 1...Int.max)
        try Check.range("--batch-size", batchSize, 1...Limits.maxBatch)
    }

    func run() throws {
        common.apply()
        let m = try Context.model(modelOptions, seed: common.seed, requireWeights: true, imageSize: dataOptions.imageSize, hasImageSizeOption: true)
        let spec = try DataSpec.parse(dataOptions.data).with(skipBadImages: dataOptions.skipBadImages)
        let ds = try spec.open(split: dataOptions.split)
        Context.noteSkipped(ds, option: "--data")
        guard ds.isLabelled else { throw PractiseError("--data \(spec) has no labels, so it has no accuracy; give labelled data (imagefolder:DIR, fashion-mnist, ...)") }
        try Context.checkClasses(ds, m.network)
        let (input, conversion) = try Context.modelInput(dataOptions, model: m, dataset: ds, spec: spec)
        if let conversion { warn("note: \(spec)'s images are converted to the model's input: \(conversion)") }
        let indices = limit.map { Array(0..<min($0, ds.count)) }
        let total = indices?.count ?? ds.count
        let progress = ProgressLine()
        let acc = try Evaluation.accuracy(m.model, next: DataIO.evalBatches(ds, indices: indices,
                                          transform: input.evalTransform(spec: spec, conversion: conversion), batchSize: min(batchSize, max(total, 1)))) {
            progress.update("eval: \($0)/\(total) images")
        }
        progress.finish()
        try Context.requireFinite(acc, of: m.weightsLabel)
        say(Table.render(header: ["model", "data", "images", "top-1", "top-5"], rows: [[
            m.weightsLabel, "\(spec) \(dataOptions.split.rawValue)", String(acc.count), String(format: "%.2f%%", acc.top1), String(format: "%.2f%%", acc.top5),
        ]]))
        try Context.writeJSON(acc, to: common.json)
    }
}
