import Checkpoint
import Engine
import Foundation
import ImageData
import NN

/// The teacher-training recipe: SGD with Nesterov momentum and weight decay, one-cycle
/// schedule, random crop with padding + horizontal flip (set by the caller's transform).
public struct TrainRecipe: Codable, Sendable, Equatable {
    public var epochs: Int
    public var batchSize: Int = 128
    public var learningRate: Float = 0.2
    public var momentum: Float = 0.9
    public var weightDecay: Float = 5e-4
    public var pctStart: Double = 0.25
    public var labelSmoothing: Float = 0

    public init(epochs: Int) { self.epochs = epochs }

    public var summary: String {
        "SGD nesterov momentum \(momentum), wd \(weightDecay), one-cycle max lr \(learningRate) (warm-up \(Int(pctStart * 100))%), batch \(batchSize), \(epochs) epochs, random crop (pad 4) + flip"
    }
}

/// Trains a classifier epoch by epoch with a checkpoint after each, resumable exactly: the
/// batch order and augmentation of every step derive from `(seed, epoch, step)`.
public final class Trainer {
    public let model: ClassifierModel
    public let recipe: TrainRecipe
    public let seed: UInt64
    let optimizer: SGD
    let keys: [String]
    public private(set) var completedEpochs = 0
    /// Test top-1 after each completed epoch.
    public private(set) var history: [Double] = []
    /// Seconds spent producing batches (decode + augmentation) and in training steps, this run.
    public private(set) var dataSeconds = 0.0, stepSeconds = 0.0
    /// Share of the training time spent waiting for data.
    public var dataShare: Double { dataSeconds / max(dataSeconds + stepSeconds, 1e-9) }

    public init(model: ClassifierModel, recipe: TrainRecipe, seed: UInt64) {
        self.model = model; self.recipe = recipe; self.seed = seed
        let named = model.namedParameters()
        keys = named.map(\.key)
        optimizer = SGD(parameters: named.map(\.parameter), learningRate: recipe.learningRate,
                        momentum: recipe.momentum, weightDecay: recipe.weightDecay, nesterov: true)
    }

    /// Runs the remaining epochs. `evaluate` returns test top-1; `checkpoint` is called after
    /// each epoch; `progress(epoch, step, steps, loss)` after each step.
    public func run(train: any Dataset, transform: TransformPipeline,
                    evaluate: (ClassifierModel) throws -> Double,
                    checkpoint: (Trainer) throws -> Void,
                    progress: (Int, Int, Int, Float) -> Void) throws {
        let steps = train.count / recipe.batchSize
        guard steps > 0 else { throw PractiseError("the training set has \(train.count) images, fewer than one batch of \(recipe.batchSize)") }
        let total = steps * recipe.epochs
        let schedule = LearningRateSchedule.oneCycle(pctStart: recipe.pctStart)
        while completedEpochs < recipe.epochs {
            let epoch = completedEpochs
            var rng = SeededGenerator(seed: seed, stream: epoch, -7)
            var order = Array(0..<train.count)
            rng.shuffle(&order)
            model.train()
            for step in 0..<steps {
                let idx = Array(order[(step * recipe.batchSize)..<((step + 1) * recipe.batchSize)])
                let t0 = Date()
                let batch = try DataIO.batch(train, indices: idx, transform: transform, seed: seed, stream: epoch * steps + step)
                let t1 = Date()
                defer { dataSeconds += t1.timeIntervalSince(t0); stepSeconds += Date().timeIntervalSince(t1) }
                optimizer.learningRate = schedule.rate(base: recipe.learningRate, iteration: epoch * steps + step, total: total)
                let loss = crossEntropy(model(batch.images), targets: batch.labels, labelSmoothing: recipe.labelSmoothing)
                guard loss.item.isFinite else {
                    throw PractiseError("training diverged: loss is \(loss.item) at epoch \(epoch + 1) step \(step + 1); try a lower --lr")
                }
                loss.backward()
                optimizer.step()
                optimizer.zeroGrad()
                progress(epoch, step, steps, loss.item)
            }
            if let key = Divergence.firstNonFinite(in: model) {
                throw PractiseError("training diverged: \(key) holds NaN or infinity after epoch \(epoch + 1); try a lower --lr")
            }
            model.eval()
            history.append(try evaluate(model))
            completedEpochs += 1
            try checkpoint(self)
        }
    }

    // MARK: Checkpoints

    /// Model state, momentum buffers (`optimizer.<key>`), completed epochs and history.
    public func checkpointDict(metadata: [String: String]) -> StateDict {
        var dict = StateDict(tensors: [:], order: [], metadata: metadata)
        dict.metadata["trainer.epochs_done"] = String(completedEpochs)
        dict.metadata["trainer.history"] = history.map { String($0) }.joined(separator: ",")
        for (k, t) in model.stateDict() { dict.set(k, TensorRecord(shape: t.shape, values: t.array)) }
        for (k, m) in zip(keys, optimizer.state) {
            if let m { dict.set("optimizer.\(k)", TensorRecord(shape: m.shape, values: m.array)) }
        }
        return dict
    }

    /// Restores a checkpoint written by ``checkpointDict(metadata:)``; a damaged one (epoch count
    /// out of range, a history that does not match it, non-finite values) is refused.
    public func restore(_ dict: StateDict, file: String = "checkpoint") throws {
        let epochsText = dict.metadata["trainer.epochs_done"] ?? ""
        guard let done = Int(epochsText), (0...recipe.epochs).contains(done) else {
            throw PractiseError("\(file): metadata trainer.epochs_done must be an integer in 0...\(recipe.epochs) (the --epochs of this run); found '\(epochsText.prefix(40))'")
        }
        let historyText = dict.metadata["trainer.history"] ?? ""
        let past = historyText.split(separator: ",").map { Double($0) }
        guard past.count == done, past.allSatisfy({ $0?.isFinite ?? false }) else {
            throw PractiseError("\(file): metadata trainer.history must be \(done) finite accuracies, one per completed epoch; found '\(historyText.prefix(80))'")
        }
        var model: [String: Tensor] = [:]
        var momentum: [String: Tensor] = [:]
        for (k, r) in dict.tensors {
            let t = Tensor(r.values, shape: r.shape)
            if k.hasPrefix("optimizer.") { momentum[String(k.dropFirst("optimizer.".count))] = t } else { model[k] = t }
        }
        try WeightsIO.checkValues(model.merging(momentum.map { ("optimizer." + $0.key, $0.value) }) { a, _ in a }, file: file)
        try self.model.load(stateDict: model)
        optimizer.restore(keys.map { momentum[$0] })
        completedEpochs = done
        history = past.map { $0! }
    }
}
