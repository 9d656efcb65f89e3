import Engine
import Foundation

/// Turns a dataset into batches of transformed images.
///
/// Per epoch `e`:
/// 1. the order is `indices` (or `0..<count`), shuffled when `shuffle` is
///    set by a Fisher–Yates on `SeededGenerator(seed:, stream: e, -1)`;
/// 2. it is cut into batches of `batchSize`; a last short batch is kept
///    unless `dropLast`;
/// 3. sample `i` (dataset index) is decoded and transformed with its own
///    generator `SeededGenerator(seed:, stream: e, i)`.
/// So batches depend only on (seed, epoch, settings), never on `workers`.
///
/// With `workers > 0`, that many threads decode and transform samples in
/// the background, at most `prefetch` batches ahead of the consumer;
/// `workers == 0` does everything on the calling thread.
///
/// Usage:
/// ```swift
/// let loader = try BatchLoader(dataset: ds, transform: .imageNetTrain(), batchSize: 32,
///                              shuffle: true, seed: 1, workers: 2)
/// for epoch in 0..<epochs {
///     let batches = loader.batches(epoch: epoch)
///     while let batch = try batches.next() { /* batch.images: [N, C, H, W] */ }
/// }
/// ```
public final class BatchLoader: Sendable {
    public let dataset: any Dataset
    public let order: [Int]
    public let transform: TransformPipeline
    public let batchSize: Int
    public let shuffle: Bool
    public let dropLast: Bool
    public let seed: UInt64
    public let workers: Int
    public let prefetch: Int

    /// - Parameters:
    ///   - indices: samples to use (duplicates allowed); nil = all.
    ///   - workers: background threads (0 = synchronous).
    ///   - prefetch: batches prepared ahead of the one being consumed (≥ 1).
    public init(dataset: any Dataset, indices: [Int]? = nil, transform: TransformPipeline,
                batchSize: Int, shuffle: Bool, dropLast: Bool = false, seed: UInt64,
                workers: Int = 2, prefetch: Int = 2) throws {
        guard batchSize > 0 else { throw DataError.invalidArgument("batch size must be positive, got \(batchSize)") }
        guard workers >= 0 else { throw DataError.invalidArgument("worker count must be ≥ 0, got \(workers)") }
        let order = indices ?? Array(0..<dataset.count)
        for i in order where i < 0 || i >= dataset.count {
            throw DataError.indexOutOfRange(index: i, count: dataset.count, dataset: dataset.name)
        }
        self.dataset = dataset
        self.order = order
        self.transform = transform
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.dropLast = dropLast
        self.seed = seed
        self.workers = workers
        self.prefetch = max(1, prefetch)
    }

    /// Samples per epoch (after drop-last).
    public var sampleCount: Int { dropLast ? (order.count / batchSize) * batchSize : order.count }

    /// Batches per epoch.
    public var batchCount: Int {
        dropLast ? order.count / batchSize : (order.count + batchSize - 1) / batchSize
    }

    /// Dataset indices in the order epoch `epoch` visits them (after drop-last).
    public func epochOrder(_ epoch: Int) -> [Int] {
        var o = order
        if shuffle {
            var rng = SeededGenerator(seed: seed, stream: epoch, -1)
            rng.shuffle(&o)
        }
        return Array(o.prefix(sampleCount))
    }

    /// Decodes and transforms one sample as epoch `epoch` does.
    public func sample(_ index: Int, epoch: Int) throws -> TensorImage {
        var rng = SeededGenerator(seed: seed, stream: epoch, index)
        return try transform.apply(try dataset.image(at: index), using: &rng)
    }

    /// The batches of epoch `epoch`. Starts the background workers (if any)
    /// at once; they stop when the iterator is exhausted or released.
    public func batches(epoch: Int) -> BatchIterator {
        BatchIterator(loader: self, epoch: epoch)
    }

    /// All batches of an epoch at once (convenient for small evaluation sets).
    public func allBatches(epoch: Int) throws -> [Batch] {
        let it = batches(epoch: epoch)
        var result = [Batch]()
        while let b = try it.next() { result.append(b) }
        return result
    }

    func assemble(_ positions: Range<Int>, order: [Int], tensors: [TensorImage]) throws -> Batch {
        let first = tensors[0]
        let per = first.data.count
        var images = [Float]()
        images.reserveCapacity(per * tensors.count)
        for (k, t) in tensors.enumerated() {
            guard t.shape == first.shape else {
                throw DataError.shapeMismatch(sample: dataset.sampleKey(at: order[positions.lowerBound + k]),
                                              expected: first.shape, found: t.shape)
            }
            images.append(contentsOf: t.data)
        }
        let idx = Array(order[positions])
        return Batch(images: images, shape: [tensors.count] + first.shape,
                     labels: idx.map { dataset.label(at: $0) }, indices: idx)
    }
}

/// Iterates one epoch's batches: `while let b = try it.next() { … }`.
/// `next()` throws the first failing sample's error (lowest position in the
/// batch, so the same error whatever the thread count). Not thread-safe:
/// consume from one thread.
public final class BatchIterator {
    private let loader: BatchLoader
    public let epoch: Int
    /// Dataset indices in this epoch's order.
    public let order: [Int]
    private let state: PrefetchState?
    private var nextBatch = 0

    init(loader: BatchLoader, epoch: Int) {
        self.loader = loader
        self.epoch = epoch
        self.order = loader.epochOrder(epoch)
        if loader.workers > 0 && !order.isEmpty {
            let st = PrefetchState(loader: loader, epoch: epoch, order: order)
            state = st
            for _ in 0..<min(loader.workers, order.count) {
                let t = Thread { st.work() }
                t.name = "ImageData.loader"
                t.start()
            }
        } else {
            state = nil
        }
    }

    deinit { state?.cancel() }

    /// Batches in this epoch.
    public var count: Int { loader.batchCount }

    /// The next batch, or nil after the last one.
    public func next() throws -> Batch? {
        guard nextBatch < loader.batchCount else { return nil }
        let b = nextBatch
        nextBatch += 1
        let lo = b * loader.batchSize, hi = min(lo + loader.batchSize, order.count)
        let tensors: [TensorImage]
        if let state {
            tensors = try state.take(batch: b, range: lo..<hi)
        } else {
            tensors = try (lo..<hi).map { try loader.sample(order[$0], epoch: epoch) }
        }
        return try loader.assemble(lo..<hi, order: order, tensors: tensors)
    }
}

/// Shared state of the background workers of one epoch.
final class PrefetchState: @unchecked Sendable {
    private let loader: BatchLoader
    private let epoch: Int
    private let order: [Int]
    private let condition = NSCondition()
    // All below guarded by `condition`.
    private var results: [Result<TensorImage, Error>?]
    private var nextPosition = 0
    private var consumedBatches = 0
    private var cancelled = false

    init(loader: BatchLoader, epoch: Int, order: [Int]) {
        self.loader = loader
        self.epoch = epoch
        self.order = order
        self.results = [Result<TensorImage, Error>?](repeating: nil, count: order.count)
    }

    /// Worker loop: claim the next position inside the prefetch window,
    /// process it outside the lock, store the result.
    func work() {
        condition.lock()
        while true {
            if cancelled || nextPosition >= order.count { break }
            let limit = (consumedBatches + 1 + loader.prefetch) * loader.batchSize
            if nextPosition >= limit {
                condition.wait()
                continue
            }
            let position = nextPosition
            nextPosition += 1
            condition.unlock()
            let result = Result { try loader.sample(order[position], epoch: epoch) }
            condition.lock()
            results[position] = result
            condition.broadcast()
        }
        condition.unlock()
    }

    /// Waits for every sample of batch `batch` and returns them in order.
    func take(batch: Int, range: Range<Int>) throws -> [TensorImage] {
        condition.lock()
        defer { condition.unlock() }
        while range.contains(where: { results[$0] == nil }) { condition.wait() }
        var tensors = [TensorImage]()
        tensors.reserveCapacity(range.count)
        for p in range {
            let r = results[p]!
            results[p] = nil
            switch r {
            case .success(let t): tensors.append(t)
            case .failure(let e):
                consumedBatches = batch + 1
                condition.broadcast()
                throw e
            }
        }
        consumedBatches = batch + 1
        condition.broadcast()
        return tensors
    }

    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }
}
