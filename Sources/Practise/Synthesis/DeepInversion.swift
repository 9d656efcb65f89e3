import Engine
import Foundation
import NN

/// One synthesised batch in the teacher's normalised input space.
public struct SynthesisBatch: @unchecked Sendable {
    /// `[B, C, H, W]`, the lowest-loss images seen.
    public var images: Tensor
    /// Target label of each image (nil for the label-free variant).
    public var labels: [Int]?
    /// Loss of the kept images, and the batch-norm statistics term alone at the start and there.
    public var loss: Double
    public var initialBNLoss: Double
    public var bnLoss: Double
}

/// Data-free synthesis from a teacher's batch-norm statistics (DeepInversion / ZeroQ; see
/// ``SynthesisSettings`` for the loss and the schedule).
///
/// The teacher stays in eval mode: its batch norms normalise with their running statistics,
/// while an input observer on every ``BatchNorm2d`` adds the distance of that layer's input batch
/// statistics (mean and biased variance over N, H, W) from its running ones. Gradients reach the
/// images through the engine's tape; the teacher's parameters are frozen and get none.
public final class DeepInversion {
    public let teacher: ClassifierModel
    public let settings: SynthesisSettings
    /// `[C, H, W]` of one image.
    public let imageShape: [Int]
    /// Number of classes of the teacher's output.
    public let numClasses: Int
    /// Valid range of each channel in normalised space: `(0 − mean)/std … (1 − mean)/std`.
    let lower: [Float], upper: [Float]
    let batchNorms: [BatchNorm2d]

    public init(teacher: ClassifierModel, imageShape: [Int], numClasses: Int, mean: [Float], std: [Float], settings: SynthesisSettings) throws {
        try settings.validate()
        let c = imageShape[0]
        guard mean.count == c || mean.count == 1, std.count == mean.count else {
            throw PractiseError("normalisation has \(mean.count) values, the input \(c) channels")
        }
        guard settings.jitter < min(imageShape[1], imageShape[2]) else {
            throw PractiseError("synthesis jitter of \(settings.jitter) pixels is not smaller than the \(imageShape[1])×\(imageShape[2]) images; give a smaller --synthesis-jitter")
        }
        self.teacher = teacher; self.settings = settings; self.imageShape = imageShape; self.numClasses = numClasses
        lower = (0..<c).map { ch in (0 - mean[mean.count == 1 ? 0 : ch]) / std[std.count == 1 ? 0 : ch] }
        upper = (0..<c).map { ch in (1 - mean[mean.count == 1 ? 0 : ch]) / std[std.count == 1 ? 0 : ch] }
        batchNorms = teacher.namedModules().compactMap { $0.module as? BatchNorm2d }
        guard !batchNorms.isEmpty else { throw PractiseError("the teacher has no batch-norm layers, whose statistics synthesis matches") }
    }

    /// The loss terms of one forward pass on `x` `[B, C, H, W]` and its gradient with respect to
    /// `x` (priors included). `labels` nil: no cross-entropy. The teacher's parameters should be
    /// frozen (``synthesize`` does it), or they accumulate gradients too.
    public func lossAndGradient(_ x: Tensor, labels: [Int]?) -> (loss: Double, bn: Double, gradient: Tensor) {
        teacher.eval()
        let input = Parameter(x)
        var terms: [Tensor] = []
        var bnValue: Double = 0   // Σ_l of the unweighted distances, whatever the weights (even 0)
        for (i, bn) in batchNorms.enumerated() {
            let scale = settings.bnWeight * (i == 0 ? settings.firstBNMultiplier : 1)
            bn.inputObserver = { t in
                let distance = batchStatisticsLoss(t, targetMean: bn.runningMean, targetVariance: bn.runningVar)
                bnValue += Double(distance.item)
                terms.append(scaled(distance, by: scale))
            }
        }
        defer { for bn in batchNorms { bn.inputObserver = nil } }
        let logits = teacher(input.tensor)
        var total = terms.dropFirst().reduce(terms[0], add)
        if let labels { total = add(total, crossEntropy(logits, targets: labels)) }
        let value = Double(total.item)
        total.backward()
        let g = input.grad ?? Tensor(zeros: x.shape)
        let priors = ImagePriors.evaluate(x, tvWeight: settings.tvWeight, l2Weight: settings.l2Weight, addingGradientTo: g)
        return (value + Double(settings.tvWeight) * priors.tv + Double(settings.l2Weight) * priors.l2, bnValue, g)
    }

    /// Balanced target labels of images `first ..< first + count` of the whole set: image `g`
    /// gets class `g mod K`, so any prefix of the set is as balanced as it can be.
    public static func labels(first: Int, count: Int, classes: Int) -> [Int] { (first..<(first + count)).map { $0 % classes } }

    /// Synthesises batch number `batch` (`count` images, the first of them image `first` of the
    /// set). Seeded by (settings.seed, batch). `progress(iteration, loss)` after each step.
    /// Throws when the loss or its gradient is not finite (weights too large for Float), so no
    /// such batch is ever kept.
    public func synthesize(batch: Int, first: Int, count: Int, progress: (Int, Double) -> Void = { _, _ in }) throws -> SynthesisBatch {
        let s = settings
        teacher.setRequiresGrad(false)   // gradients go to the images only
        defer { teacher.setRequiresGrad(true) }
        var rng = SeededGenerator(seed: s.seed, stream: batch)
        let shape = [count] + imageShape
        let x = Parameter(Tensor(uninitialized: shape))
        let xp = x.value.pointer
        for i in 0..<x.value.count { xp[i] = rng.nextGaussian() }
        let labels = s.usesLabels ? DeepInversion.labels(first: first, count: count, classes: numClasses) : nil
        let adam = Adam(parameters: [x], learningRate: s.learningRate, beta1: 0.5, beta2: 0.9, eps: 1e-8)
        var best = x.value.copy(), bestLoss = Double.infinity, bestBN = 0.0, initialBN = 0.0
        for it in 0..<s.iterations {
            adam.learningRate = s.rate(at: it)
            let jitter = Jitter(dy: s.jitter > 0 ? rng.nextInt(in: -s.jitter...s.jitter) : 0,
                                dx: s.jitter > 0 ? rng.nextInt(in: -s.jitter...s.jitter) : 0,
                                flip: s.flips && rng.nextFloat() < 0.5)
            let (loss, bn, g) = lossAndGradient(jitter.apply(x.value), labels: labels)
            guard loss.isFinite, bn.isFinite, Divergence.allFinite(g) else {
                throw PractiseError("synthesis diverged in batch \(batch + 1) at iteration \(it + 1): the loss is \(loss) (batch-norm term \(bn)); lower --synthesis-bn-weight, --synthesis-tv, --synthesis-l2 or --synthesis-lr")
            }
            if it == 0 { initialBN = bn }
            if loss < bestLoss { bestLoss = loss; bestBN = bn; best = x.value.copy() }
            x.grad = jitter.adjoint(g)
            adam.step()
            clip(x.value)
            progress(it, loss)
        }
        return SynthesisBatch(images: best, labels: labels, loss: bestLoss, initialBNLoss: initialBN, bnLoss: bestBN)
    }

    /// Clamps each channel to the range real images can take after normalisation.
    func clip(_ x: Tensor) {
        let c = x.shape[1], plane = x.shape[2] * x.shape[3], p = x.pointer
        for nc in 0..<(x.shape[0] * c) {
            let lo = lower[nc % c], hi = upper[nc % c], v = p + nc * plane
            for i in 0..<plane { v[i] = min(max(v[i], lo), hi) }
        }
    }
}
