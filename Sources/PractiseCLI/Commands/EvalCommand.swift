import ArgumentParser
import Engine
import Foundation
import ImageData
import NN
import Practise

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "eval",
        abstract: "Top-1/top-5 accuracy of a model (compressed or not) on a dataset split.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var dataOptions: DataOptions
    @OptionGroup var common: RunOptions
    @Option(help: "Evaluate only the first N images.") var limit: Int?
    @Option(help: "Evaluation batch size.") var batchSize: Int = 100

    func run() throws {
        common.apply()
        let m = try Context.model(modelOptions, seed: common.seed, requireWeights: true)
        let spec = try DataSpec.parse(dataOptions.data).with(skipBadImages: dataOptions.skipBadImages)
        let ds = try spec.open(split: Context.split(dataOptions.split))
        try Context.checkCompatible(ds, m.spec)
        let norm = try Context.normalization(dataOptions, weights: m.loaded, dataset: ds)
        let indices = limit.map { Array(0..<min($0, ds.count)) }
        let progress = ProgressLine()
        let acc = try Evaluation.accuracy(m.model, next: DataIO.evalBatches(ds, indices: indices,
                                          transform: DataIO.evalTransform(spec: spec, normalization: norm), batchSize: batchSize)) {
            progress.update("eval: \($0)/\(indices?.count ?? ds.count) images")
        }
        progress.finish()
        say(Table.render(header: ["model", "data", "images", "top-1", "top-5"], rows: [[
            m.weightsLabel, "\(spec) \(dataOptions.split)", String(acc.count), String(format: "%.2f%%", acc.top1), String(format: "%.2f%%", acc.top5),
        ]]))
        try Context.writeJSON(acc, to: common.json)
    }
}
