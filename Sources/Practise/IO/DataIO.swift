import Engine
import Foundation
import ImageData

/// Builds the method's inputs from a dataset: the tiny training set with the train transform
/// (deterministic per iteration) and batched evaluation.
public enum DataIO {
    /// Train transform: small images (≤ 64 px, e.g. Fashion-MNIST) get random crop with 4-pixel
    /// padding + horizontal flip; larger ones the dataset's default training augmentation.
    public static func trainTransform(spec: DataSpec, imageSide: Int, normalization: Normalization) -> TransformPipeline {
        if imageSide <= 64 {
            return TransformPipeline([RandomCrop(size: imageSide, padding: 4), RandomHorizontalFlip()], normalization: normalization)
        }
        return spec.defaultTransform(train: true, normalization: normalization)
    }

    public static func evalTransform(spec: DataSpec, normalization: Normalization) -> TransformPipeline {
        spec.defaultTransform(train: false, normalization: normalization)
    }

    /// Decodes and transforms `indices` of `dataset` in parallel into one batch.
    /// The random stream of each image is derived from `(seed, stream, position)`.
    public static func batch(_ dataset: any Dataset, indices: [Int], transform: TransformPipeline,
                             seed: UInt64, stream: Int) throws -> LabelledBatch {
        var images = [TensorImage?](repeating: nil, count: indices.count)
        var firstError: Error?
        let lock = NSLock()
        images.withUnsafeMutableBufferPointer { out in
            nonisolated(unsafe) let out = out
            Parallel.forEach(indices.count) { i in
                var rng = SeededGenerator(seed: seed, stream: stream, i)
                do {
                    out[i] = try transform.apply(try dataset.image(at: indices[i]), using: &rng)
                } catch {
                    lock.lock(); if firstError == nil { firstError = error }; lock.unlock()
                }
            }
        }
        if let firstError { throw firstError }
        let first = images[0]!
        let t = Tensor(uninitialized: [indices.count] + first.shape)
        let per = first.data.count
        for (i, img) in images.enumerated() {
            guard let img, img.data.count == per else {
                throw PractiseError("image \(dataset.sampleKey(at: indices[i])) of \(dataset.name) has shape \(images[i]?.shape ?? []), expected \(first.shape)")
            }
            img.data.withUnsafeBufferPointer { (t.pointer + i * per).update(from: $0.baseAddress!, count: per) }
        }
        return LabelledBatch(images: t, labels: indices.map { dataset.label(at: $0) })
    }

    /// The tiny set: iteration `i` takes `batchSize` consecutive positions of an endless stream
    /// made of seeded shuffles of `indices` (one shuffle per epoch), as a cycling DataLoader.
    public static func tinySet(_ dataset: any Dataset, indices: [Int], train: TransformPipeline, eval: TransformPipeline,
                               batchSize: Int, evalBatchSize: Int = 64, seed: UInt64) -> TinySet {
        let n = indices.count
        func epochOrder(_ e: Int) -> [Int] {
            var rng = SeededGenerator(seed: seed, stream: e, -1)
            var o = indices
            rng.shuffle(&o)
            return o
        }
        return TinySet(count: n, trainBatch: { it in
            var picked: [Int] = []
            var pos = it * batchSize
            var cachedEpoch = -1, order: [Int] = []
            while picked.count < batchSize {
                let e = pos / n
                if e != cachedEpoch { order = epochOrder(e); cachedEpoch = e }
                picked.append(order[pos % n])
                pos += 1
            }
            return try batch(dataset, indices: picked, transform: train, seed: seed, stream: it)
        }, evalBatches: {
            try stride(from: 0, to: n, by: evalBatchSize).map { start in
                try batch(dataset, indices: Array(indices[start..<min(n, start + evalBatchSize)]), transform: eval, seed: seed, stream: -2)
            }
        })
    }

    /// A function returning successive batches over `indices` (all of the dataset by default)
    /// under `transform`, then nil.
    public static func evalBatches(_ dataset: any Dataset, indices: [Int]? = nil, transform: TransformPipeline,
                                   batchSize: Int = 100) -> () throws -> LabelledBatch? {
        let all = indices ?? Array(0..<dataset.count)
        var start = 0
        return {
            guard start < all.count else { return nil }
            let idx = Array(all[start..<min(all.count, start + batchSize)])
            start += batchSize
            return try batch(dataset, indices: idx, transform: transform, seed: 0, stream: -3)
        }
    }
}
