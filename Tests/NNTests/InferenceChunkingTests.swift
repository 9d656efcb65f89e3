import Foundation
import XCTest
import Engine
@testable import NN

final class InferenceChunkingTests: XCTestCase {
    func testImagesPerChunkFitTheBudget() {
        let c = InferenceChunking(activationBudgetBytes: 100)
        XCTAssertEqual(c.imagesPerChunk(batch: 64, largestActivationBytes: 30, threads: 1), 3)
        XCTAssertEqual(c.imagesPerChunk(batch: 64, largestActivationBytes: 30, threads: 2), 2, "a multiple of the threads")
        XCTAssertEqual(c.imagesPerChunk(batch: 64, largestActivationBytes: 15, threads: 3), 6)
        XCTAssertEqual(c.imagesPerChunk(batch: 64, largestActivationBytes: 60, threads: 2), 1, "fewer images than threads")
        XCTAssertEqual(c.imagesPerChunk(batch: 64, largestActivationBytes: 101, threads: 1), 1, "one image even above the budget")
        XCTAssertNil(c.imagesPerChunk(batch: 3, largestActivationBytes: 30, threads: 1), "the whole batch fits")
        XCTAssertNil(c.imagesPerChunk(batch: 1, largestActivationBytes: 500, threads: 1))
        XCTAssertNil(InferenceChunking.off.imagesPerChunk(batch: 64, largestActivationBytes: 1 << 30, threads: 2))
    }

    func testConcurrentChunksShareTheBudgetAndTheBatch() {
        let c = InferenceChunking(activationBudgetBytes: 100)
        XCTAssertEqual(c.imagesPerConcurrentChunk(batch: 64, largestActivationBytes: 10, threads: 2), 5, "the budget shared by two chunks")
        XCTAssertEqual(c.imagesPerConcurrentChunk(batch: 64, largestActivationBytes: 1, threads: 2), 8, "a quarter of each thread's share")
        XCTAssertEqual(c.imagesPerConcurrentChunk(batch: 64, largestActivationBytes: 200, threads: 2), 1, "one image even above the budget")
        XCTAssertNil(c.imagesPerConcurrentChunk(batch: 64, largestActivationBytes: 10, threads: 1), "one thread")
        XCTAssertNil(c.imagesPerConcurrentChunk(batch: 3, largestActivationBytes: 10, threads: 2), "under two images per thread")
        XCTAssertNil(InferenceChunking(activationBudgetBytes: 100, concurrentChunks: false)
            .imagesPerConcurrentChunk(batch: 64, largestActivationBytes: 10, threads: 2))
        XCTAssertNil(InferenceChunking.off.imagesPerConcurrentChunk(batch: 64, largestActivationBytes: 10, threads: 2))
    }

    /// Chunks run side by side on two threads give the whole batch's logits and features bit for
    /// bit, and each block sees chunks of the size the policy says.
    func testConcurrentChunksEqualTheWholeBatch() {
        let saved = Threads.count
        defer { Threads.count = saved }
        Threads.count = 2
        for arch in [Architecture.resnet20, .resnet18, .mobilenet_v2] {
            let model = arch.make(inChannels: 3, numClasses: 10, seed: 5)
            model.prepareForInference()
            let x = randomImages(batch: 9, side: 32, seed: 12)
            let (whole, perImage) = assertBudgetedEqualsWhole(model, x, images: 2, "\(arch)")
            XCTAssertEqual(model.inferenceChunking.imagesPerConcurrentChunk(batch: 9, largestActivationBytes: perImage * 4, threads: 2), 1)
            // Both threads ran chunks of one image: a wrapped block that says it is stateless
            // records the threads and batches it sees.
            let recorder = wrapSecondBlock(of: model, in: ThreadRecorder.init)
            _ = model.largestActivationElements(imageShape: [3, 32, 32])  // the one-image pass a new block needs
            recorder.reset()
            let wrapped = Autograd.noGrad { model(x) }
            XCTAssertEqual(wrapped.array, whole.array, "\(arch) logits with the wrapped block")
            XCTAssertEqual(recorder.seen.map(\.batch), Array(repeating: 1, count: 9), "\(arch)")
            XCTAssertEqual(Set(recorder.seen.map(\.thread)).count, 2, "\(arch): chunks on both threads")
            // NaN in one image stays in that image's row.
            let poisoned = x.copy()
            poisoned.pointer[4 * 3 * 32 * 32 + 17] = .nan
            let rows = Autograd.noGrad { model(poisoned) }.array
            for i in 0..<9 {
                let row = rows[(i * 10)..<(i * 10 + 10)]
                XCTAssertEqual(row.contains { $0.isNaN }, i == 4, "\(arch) image \(i)")
                if i != 4 { XCTAssertEqual(Array(row), Array(whole.array[(i * 10)..<(i * 10 + 10)]), "\(arch) image \(i)") }
            }
        }
    }

    func testLargestActivationIsTheWidestValueOfOneImage() {
        let resnet = Architecture.resnet20.make(inChannels: 3, numClasses: 10, seed: 0)
        resnet.prepareForInference()
        XCTAssertEqual(resnet.largestActivationElements(imageShape: [3, 32, 32]), 16 * 32 * 32)
        // MobileNetV2 at 64 pixels: the stem gives 32 × 32 × 32; block 2 expands 16 channels to 96 at 32 × 32.
        let mobilenet = Architecture.mobilenet_v2.make(inChannels: 3, numClasses: 10, seed: 0)
        mobilenet.prepareForInference()
        XCTAssertEqual(mobilenet.largestActivationElements(imageShape: [3, 64, 64]), 96 * 32 * 32)
        // A dropped block changes what is measured; the mode the model was in is kept.
        resnet.replace(at: "layer1.1", with: Identity())
        XCTAssertEqual(resnet.largestActivationElements(imageShape: [3, 8, 8]), 16 * 8 * 8)
        XCTAssertFalse(resnet.isTraining)
    }

    /// Chunks of 3 images (2 on two threads) over a batch of 7 give the whole batch's logits and
    /// features bit for bit. A model with a module that does not say it is stateless in
    /// inference (the recording wrapper below) runs its chunks one after another, in order.
    func testChunkedInferenceEqualsTheWholeBatch() {
        for arch in [Architecture.resnet20, .resnet18, .mobilenet_v2] {
            let model = arch.make(inChannels: 3, numClasses: 10, seed: 3)
            model.prepareForInference()
            let x = randomImages(batch: 7, side: 32, seed: 11)
            let (whole, perImage) = assertBudgetedEqualsWhole(model, x, images: 3, "\(arch)")
            XCTAssertEqual(model.inferenceChunking.imagesPerChunk(batch: 7, largestActivationBytes: perImage * 4, threads: 1), 3)
            // The blocks did see chunks: a wrapped block records the batches it runs.
            let recorder = wrapSecondBlock(of: model, in: BatchRecorder.init)
            let measured = model.largestActivationElements(imageShape: [3, 32, 32])!
            model.inferenceChunking = InferenceChunking(activationBudgetBytes: 3 * measured * MemoryLayout<Float>.stride)
            recorder.batches = []
            let recorded = Autograd.noGrad { model(x) }
            let k = model.inferenceChunking.imagesPerChunk(batch: 7, largestActivationBytes: measured * 4, threads: Threads.count)!
            XCTAssertEqual(recorder.batches, stride(from: 0, to: 7, by: k).map { min(k, 7 - $0) }, "\(arch)")
            XCTAssertLessThan(recorder.batches.max()!, 7, "\(arch): chunks")
            XCTAssertEqual(recorded.array, whole.array, "\(arch) logits with the wrapped block")
        }
    }

    /// In training mode a BatchNorm normalises by the batch's statistics, so a chunked run would
    /// differ: the batch runs whole (the same logits as with chunking off, and the same running
    /// statistics afterwards).
    func testTrainingModeRunsTheWholeBatch() {
        let a = Architecture.resnet20.make(inChannels: 3, numClasses: 10, seed: 4)
        let b = Architecture.resnet20.make(inChannels: 3, numClasses: 10, seed: 4)
        a.inferenceChunking = InferenceChunking(activationBudgetBytes: 1)
        b.inferenceChunking = .off
        let x = randomImages(batch: 6, side: 16, seed: 5)
        let ya = Autograd.noGrad { a(x) }, yb = Autograd.noGrad { b(x) }
        XCTAssertEqual(ya.array, yb.array)
        XCTAssertEqual((a.module(at: "bn1") as! BatchNorm2d).runningMean.array, (b.module(at: "bn1") as! BatchNorm2d).runningMean.array)
    }

    /// A BatchNorm observing its inputs (data-free synthesis reads batch statistics through it)
    /// sees the whole batch once per pass.
    func testObservedBatchNormSeesTheWholeBatch() {
        let model = Architecture.resnet20.make(inChannels: 3, numClasses: 10, seed: 4)
        model.prepareForInference()
        model.inferenceChunking = InferenceChunking(activationBudgetBytes: 1)
        let bn = model.module(at: "bn1") as! BatchNorm2d
        var seen: [[Int]] = []
        bn.inputObserver = { seen.append($0.shape) }
        _ = Autograd.noGrad { model(randomImages(batch: 5, side: 8, seed: 1)) }
        XCTAssertEqual(seen, [[5, 16, 8, 8]])
        bn.inputObserver = nil
    }

    /// Runs `model` on `x` `[N, 3, 32, 32]` whole, then with chunking budgeted at `images` images'
    /// largest activation (left set), and asserts the logits `[N, 10]` and the features agree bit
    /// for bit. Returns the whole batch's logits and the largest activation's elements per image.
    private func assertBudgetedEqualsWhole(_ model: ClassifierModel, _ x: Tensor, images: Int,
                                           _ label: String) -> (whole: Tensor, perImage: Int) {
        model.inferenceChunking = .off
        let whole = Autograd.noGrad { model(x) }, wholeFeatures = Autograd.noGrad { model.features(x) }
        let perImage = model.largestActivationElements(imageShape: [3, 32, 32])!
        model.inferenceChunking = InferenceChunking(activationBudgetBytes: images * perImage * MemoryLayout<Float>.stride)
        let chunked = Autograd.noGrad { model(x) }, chunkedFeatures = Autograd.noGrad { model.features(x) }
        XCTAssertEqual(chunked.shape, [x.shape[0], 10], label)
        XCTAssertEqual(chunked.array, whole.array, "\(label) logits")
        XCTAssertEqual(chunkedFeatures.shape, wholeFeatures.shape, label)
        XCTAssertEqual(chunkedFeatures.array, wholeFeatures.array, "\(label) features")
        return (whole, perImage)
    }

    /// Replaces the model's second block by `wrap(block)`, in evaluation mode, and returns it.
    private func wrapSecondBlock<W: Module>(of model: ClassifierModel, in wrap: (Module) -> W) -> W {
        let path = model.blockPaths[1]
        let wrapper = wrap(model.module(at: path)!)
        wrapper.eval()
        model.replace(at: path, with: wrapper)
        return wrapper
    }

    /// Runs `block` and records the batch size of every input.
    private final class BatchRecorder: Module, @unchecked Sendable {
        let block: Module
        var batches: [Int] = []
        init(_ block: Module) { self.block = block; super.init() }
        override func forward(_ x: Tensor) -> Tensor { batches.append(x.shape[0]); return block(x) }
    }

    /// Runs `block`, says it keeps no state, and records (under a lock) the thread and batch size
    /// of every input; it lingers a millisecond so both threads take chunks.
    private final class ThreadRecorder: Module, @unchecked Sendable {
        let block: Module
        private let lock = NSLock()
        private(set) var seen: [(thread: UInt, batch: Int)] = []
        init(_ block: Module) { self.block = block; super.init(); register("block", block) }
        override var isStatelessInInference: Bool { true }
        func reset() { lock.withLock { seen = [] } }
        override func forward(_ x: Tensor) -> Tensor {
            usleep(1000)
            let thread = UInt(bitPattern: Int(bitPattern: unsafeBitCast(pthread_self(), to: UInt.self)))
            lock.withLock { seen.append((thread, x.shape[0])) }
            return block(x)
        }
    }

    private func randomImages(batch: Int, side: Int, seed: UInt64) -> Tensor {
        var g = SeededGenerator(seed: seed)
        return Tensor((0..<(batch * 3 * side * side)).map { _ in g.nextGaussian() }, shape: [batch, 3, side, side])
    }
}
