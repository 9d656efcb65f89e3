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
    /// features bit for bit.
    func testChunkedInferenceEqualsTheWholeBatch() {
        for arch in [Architecture.resnet20, .resnet18, .mobilenet_v2] {
            let model = arch.make(inChannels: 3, numClasses: 10, seed: 3)
            model.prepareForInference()
            let x = randomImages(batch: 7, side: 32, seed: 11)
            let perImage = model.largestActivationElements(imageShape: [3, 32, 32])!
            model.inferenceChunking = .off
            let whole = Autograd.noGrad { model(x) }, wholeFeatures = Autograd.noGrad { model.features(x) }
            model.inferenceChunking = InferenceChunking(activationBudgetBytes: 3 * perImage * MemoryLayout<Float>.stride)
            XCTAssertEqual(model.inferenceChunking.imagesPerChunk(batch: 7, largestActivationBytes: perImage * 4, threads: 1), 3)
            let chunked = Autograd.noGrad { model(x) }, chunkedFeatures = Autograd.noGrad { model.features(x) }
            XCTAssertEqual(chunked.shape, [7, 10])
            XCTAssertEqual(chunked.array, whole.array, "\(arch) logits")
            XCTAssertEqual(chunkedFeatures.shape, wholeFeatures.shape)
            XCTAssertEqual(chunkedFeatures.array, wholeFeatures.array, "\(arch) features")
            // The blocks did see chunks: a wrapped block records the batches it runs.
            let path = model.blockPaths[1]
            let recorder = BatchRecorder(model.module(at: path)!)
            recorder.eval()
            model.replace(at: path, with: recorder)
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

    /// Runs `block` and records the batch size of every input.
    private final class BatchRecorder: Module, @unchecked Sendable {
        let block: Module
        var batches: [Int] = []
        init(_ block: Module) { self.block = block; super.init() }
        override func forward(_ x: Tensor) -> Tensor { batches.append(x.shape[0]); return block(x) }
    }

    private func randomImages(batch: Int, side: Int, seed: UInt64) -> Tensor {
        var g = SeededGenerator(seed: seed)
        return Tensor((0..<(batch * 3 * side * side)).map { _ in g.nextGaussian() }, shape: [batch, 3, side, side])
    }
}
