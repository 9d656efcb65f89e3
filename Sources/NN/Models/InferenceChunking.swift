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
///
/// On several threads a model every module of which keeps no state in inference
/// (``Module/isStatelessInInference``: the library's layers and ``GraphNetwork``) runs its chunks
/// side by side instead, one chunk per thread at a time, each thread running its chunk's kernels
/// alone: no thread waits for another between layers, and the budget is shared among the
/// threads' chunks.
public struct InferenceChunking: Sendable, Equatable {
    /// The most bytes the largest activation of one chunk may hold; a chunk has at least one
    /// image. nil: whole batches. Chunks run side by side share it.
    public var activationBudgetBytes: Int?
    /// Whether chunks may run side by side, one per thread (where the model allows it).
    public var concurrentChunks: Bool

    public init(activationBudgetBytes: Int?, concurrentChunks: Bool = true) {
        precondition(activationBudgetBytes.map { $0 > 0 } ?? true, "the activation budget must be positive")
        self.activationBudgetBytes = activationBudgetBytes
        self.concurrentChunks = concurrentChunks
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

    /// Images per chunk when chunks run side by side on `threads` threads, nil when they should
    /// not (one thread, chunking or concurrency off, fewer than two images per thread): the
    /// budget shared by the threads' chunks, and at most a quarter of each thread's share of
    /// the batch, so the threads finish close together.
    public func imagesPerConcurrentChunk(batch: Int, largestActivationBytes: Int, threads: Int) -> Int? {
        guard concurrentChunks, let budget = activationBudgetBytes, threads > 1, batch >= 2 * threads,
              largestActivationBytes > 0 else { return nil }
        let fitting = max(1, budget / threads / largestActivationBytes)
        let balanced = max(1, batch / (4 * threads))
        return min(fitting, balanced)
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
        // Side by side, one chunk per thread at a time, where every module allows it; otherwise
        // one chunk after another, all threads on each.
        let concurrentChunk = runsChunksConcurrently
            ? inferenceChunking.imagesPerConcurrentChunk(batch: batch, largestActivationBytes: perImage * MemoryLayout<Float>.stride,
                                                         threads: Threads.count)
            : nil
        let size = concurrentChunk ?? chunk
        let chunks = (batch + size - 1) / size, imageCount = x.count / batch
        let result = ChunkResult(batch: batch)
        /// `body` on chunk `c` `[n, …]` of `x`, its output stored in its place.
        func run(_ c: Int) {
            let start = c * size, n = min(size, batch - start)
            let part = Tensor(uninitialized: [n] + x.shape.dropFirst())
            part.storage.pointer.update(from: x.storage.pointer + start * imageCount, count: n * imageCount)
            let y = body(part)
            precondition(y.shape.first == n, "a chunk of \(n) images gave an output of shape \(y.shape)")
            result.store(y, at: start)
        }
        if concurrentChunk != nil { Parallel.tasks(chunks, run) } else { for c in 0..<chunks { run(c) } }
        return result.tensor!
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

    /// True when every module says it keeps no state while running inference
    /// (``Module/isStatelessInInference``), so chunks may run on several threads at once.
    private var runsChunksConcurrently: Bool {
        func stateless(_ m: Module) -> Bool { m.isStatelessInInference && m.children.allSatisfy { stateless($0.module) } }
        return stateless(self)
    }
}

/// The `[N, …]` output the chunks write into: made by the first chunk to finish (which knows
/// the shape), under a lock, as chunks may run side by side; each chunk then writes its own rows.
private final class ChunkResult: @unchecked Sendable {
    private let lock = NSLock()
    private let batch: Int
    private(set) var tensor: Tensor?

    init(batch: Int) { self.batch = batch }

    /// Writes `y` `[n, …]` as images `start..<start + n`.
    func store(_ y: Tensor, at start: Int) {
        let n = y.shape[0]
        let out: Tensor = lock.withLock {
            if let t = tensor {
                precondition(Array(t.shape.dropFirst()) == Array(y.shape.dropFirst()),
                             "chunks gave outputs of shapes \(t.shape) and \(y.shape)")
                return t
            }
            let t = Tensor(uninitialized: [batch] + y.shape.dropFirst())
            tensor = t
            return t
        }
        let perOutput = y.count / max(n, 1)
        (out.storage.pointer + start * perOutput).update(from: y.storage.pointer, count: y.count)
    }
}
