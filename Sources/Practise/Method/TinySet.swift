import Engine

/// A labelled batch: images `[N, C, H, W]` and `N` labels.
public struct LabelledBatch: @unchecked Sendable {
    public var images: Tensor
    public var labels: [Int]
    public init(images: Tensor, labels: [Int]) { self.images = images; self.labels = labels }
}

/// The data the method consumes, independent of where images come from.
///
/// `trainBatch(i)` must be a pure function of `i` (seeded augmentation), so a resumed run sees
/// the same batches as an uninterrupted one and every candidate sees the same batches.
public struct TinySet: @unchecked Sendable {
    /// Number of images in the tiny set.
    public var count: Int
    /// Training batch for iteration `i` (train transform).
    public var trainBatch: (Int) throws -> LabelledBatch
    /// The whole tiny set under the eval transform, in fixed batches.
    public var evalBatches: () throws -> [LabelledBatch]

    public init(count: Int, trainBatch: @escaping (Int) throws -> LabelledBatch, evalBatches: @escaping () throws -> [LabelledBatch]) {
        self.count = count; self.trainBatch = trainBatch; self.evalBatches = evalBatches
    }
}

/// Hyper-parameters of a training phase (recoverability or finetuning). Defaults are the
/// reference code's: SGD lr 0.02, momentum 0.9, weight decay 1e-4, batch 64, and its
/// `StepLR(step_size=0.4·iterations, gamma=0.1)` stepped per iteration, i.e. ×0.1 at 40% and
/// again at 80%.
public struct PhaseConfig: Sendable, Codable, Equatable {
    public var iterations: Int
    public var learningRate: Float = 0.02
    public var momentum: Float = 0.9
    public var weightDecay: Float = 1e-4
    public var batchSize: Int = 64
    public var decayAt: [Double] = [0.4, 0.8]

    public init(iterations: Int, learningRate: Float = 0.02, batchSize: Int = 64) {
        self.iterations = iterations; self.learningRate = learningRate; self.batchSize = batchSize
    }

    public func rate(at iteration: Int) -> Float {
        LearningRateSchedule.step(milestones: decayAt, gamma: 0.1).rate(base: learningRate, iteration: iteration, total: iterations)
    }
}

import NN
