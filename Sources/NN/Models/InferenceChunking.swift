import Engine
import Foundation

/// How a classifier runs a large batch in inference: a few images at a time.
///
/// Without autograd and with every layer in evaluation mode, each image's outputs depend on that
/// image alone, so a batch may run in chunks whose activations stay in the CPU's caches and in
/// the heap's reused blocks, instead of whole-batch activations that are mapped afresh (and
/// zeroed by the kernel) on every pass: MobileNetV2 at 224 pixels and batch 64 has a 308 MB
/// activation. ``ClassifierModel/features(_:)`` (and so the forward pass) runs the stem, blocks
/// and tail that way and the head on the whole batch, so the results are the whole batch's bit
/// for bit: each image's convolution outputs are summed in the same order whatever the batch,
/// and the head, whose kernel depends on the number of rows, sees the same rows.
public struct InferenceChunking: Sendable, Equatable {
    /// The most bytes the largest activation of one chunk may hold; a chunk has at least one
    /// image. nil: whole batches.
    public var activationBudgetBytes: Int?

    public init(activationBudgetBytes: Int?) {
        precondition(activationBudgetBytes.map { $0 > 0 } ?? true, "the activation budget must be positive")
        self.activationBudgetBytes = activationBudgetBytes
    }

    /// Chunks whose largest activation holds at most 16 MiB.
    public static let `default` = InferenceChunking(activationBudgetBytes: 16 << 20)
    /// Whole batches.
    public static let off = InferenceChunking(activationBudgetBytes: nil)

    /// Images per chunk for a network whose largest activation holds `largestActivationBytes` per
    /// image, run on `threads` threads; nil when the whole batch of `batch` images fits the budget
    /// (or chunking is off). A chunk of at least `threads` images holds a multiple of `threads`,
    /// so kernels that share images among the threads share them evenly.
    public func imagesPerChunk(batch: Int, largestActivationBytes: Int, threads: Int) -> Int? {
        guard let budget = activationBudgetBytes, batch > 1, largestActivationBytes > 0 else { return nil }
        var images = max(1, budget / largestActivationBytes)
        if threads > 1, images >= threads { images -= images % threads }
        return images < batch ? images : nil
    }
}

extension ClassifierModel {
    /// `body(x)` for `[N, …]` images, run on chunks of images when ``inferenceChunking`` and the
    /// network's largest activation call for it and the run is pure inference (no autograd
    /// recording, every module in evaluation mode, no BatchNorm observing its inputs); the
    /// chunks' outputs `[n, …]` are written into one `[N, …]` result.
    func runningInChunks(_ x: Tensor, _ body: (Tensor) -> Tensor) -> Tensor {
        let batch = x.shape.first ?? 0
        guard batch > 1, inferenceChunking.activationBudgetBytes != nil, !Autograd.isRecording, isPureInference,
              let perImage = largestActivationElements(imageShape: Array(x.shape.dropFirst())),
              let chunk = inferenceChunking.imagesPerChunk(batch: batch, largestActivationBytes: perImage * MemoryLayout<Float>.stride,
                                                           threads: Threads.count)
        else { return body(x) }
        let imageCount = x.count / batch
        var result: Tensor? = nil
        var start = 0
        while start < batch {
            let n = min(chunk, batch - start)
            let part = Tensor(uninitialized: [n] + x.shape.dropFirst())
            part.storage.pointer.update(from: x.storage.pointer + start * imageCount, count: n * imageCount)
            let y = body(part)
            precondition(y.shape.first == n, "a chunk of \(n) images gave an output of shape \(y.shape)")
            let out = result ?? Tensor(uninitialized: [batch] + y.shape.dropFirst())
            let perOutput = y.count / n
            (out.storage.pointer + start * perOutput).update(from: y.storage.pointer, count: y.count)
            result = out
            start += n
        }
        return result!
    }

    /// True when no module is in training mode and no BatchNorm observes its inputs (an observer
    /// would see chunks instead of the batch). Walks the tree without building paths: it runs on
    /// every inference call.
    private var isPureInference: Bool {
        func pure(_ m: Module) -> Bool {
            !m.isTraining && (m as? BatchNorm2d)?.inputObserver == nil && m.children.allSatisfy { pure($0.module) }
        }
        return pure(self)
    }
}
