import Engine
import NN
import Practise
import TestSupport
import XCTest

final class AdaptorTests: XCTestCase {
    func placement(_ arch: Architecture, _ block: String, shape: [Int]) -> AdaptorPlacement {
        let m = arch.make(seed: 0)
        let c = Candidates.find(in: m, imageShape: shape).first { $0.path == block }!
        return AdaptorPlacement(dropping: c, in: m)
    }

    func testPlacementInFirstStage() {
        let p = placement(.resnet34, "layer1.1", shape: [3, 64, 64])
        XCTAssertEqual(p.afterConvs, ["layer1.0.conv2"])
        XCTAssertEqual(p.preConvs, ["layer1.2.conv1", "layer2.0.conv1", "layer2.0.downsample.0"])
    }

    func testPlacementInMiddleStage() {
        let p = placement(.resnet34, "layer3.2", shape: [3, 64, 64])
        XCTAssertEqual(p.afterConvs, ["layer3.0.conv2", "layer3.0.downsample.0", "layer3.1.conv2"])
        XCTAssertEqual(p.preConvs, ["layer3.3.conv1", "layer3.4.conv1", "layer3.5.conv1", "layer4.0.conv1", "layer4.0.downsample.0"])
    }

    func testPlacementInLastStage() {
        let p = placement(.resnet34, "layer4.2", shape: [3, 64, 64])
        XCTAssertEqual(p.afterConvs, ["layer4.0.conv2", "layer4.0.downsample.0", "layer4.1.conv2"])
        XCTAssertEqual(p.preConvs, [])
        let b = placement(.resnet50, "layer2.1", shape: [3, 64, 64])
        XCTAssertEqual(b.afterConvs, ["layer2.0.conv3", "layer2.0.downsample.0"])
    }

    func testMobileNetPlacement() {
        let p = placement(.mobilenet_v2, "features.5", shape: [3, 64, 64])
        XCTAssertEqual(p.afterConvs, ["features.4.conv.2", "features.5.conv.2"].filter { $0 != "features.5.conv.2" })
        XCTAssertEqual(p.preConvs, ["features.6.conv.0.0", "features.7.conv.0.0"])
    }

    func testIdentityAdaptorsLeaveTheDroppedNetworkUnchanged() {
        let m = Architecture.resnet20.make(seed: 3)
        m.eval()
        let c = Candidates.find(in: m, imageShape: [1, 28, 28])[3]
        let s = AdaptedStudent(placement: AdaptorPlacement(dropping: c, in: m), model: m)
        let x = randomTensor([2, 1, 28, 28], seed: 1)
        s.apply(to: m)
        let adapted = Autograd.noGrad { m(x) }
        s.remove(from: m)
        let plain = ModelSpec(architecture: .resnet20, droppedBlocks: [c.path]).build(seed: 3)
        plain.eval()
        assertClose(adapted, Autograd.noGrad { plain(x) }, rtol: 1e-5, atol: 1e-6)
        XCTAssert(m.module(at: c.path) is GraphBlock, "remove restores the teacher")
    }

    func testAbsorbingAdaptorsGivesTheSameOutputs() {
        var g = SeededGenerator(seed: 1)
        for (groups, pre) in [(1, true), (1, false)] {
            let conv = Conv2d(4, 8, kernelSize: 3, stride: 2, padding: 1, groups: groups, bias: true, generator: &g)
            conv.bias!.value = randomTensor([8], seed: 5)
            let a = AdaptedConv(conv, pre: pre, post: true)
            a.pre?.weight.value = randomTensor([4, 4, 1, 1], seed: 2)
            a.post!.weight.value = randomTensor([8, 8, 1, 1], seed: 3)
            let x = randomTensor([2, 4, 9, 9], seed: 4)
            let y = Autograd.noGrad { a(x) }
            let merged = a.absorbed()
            assertClose(Autograd.noGrad { merged(x) }, y, rtol: 1e-5, atol: 1e-5 * y.maxAbs, "groups \(groups) pre \(pre)")
        }
    }

    func testOnlyAdaptorsTrain() throws {
        let m = Architecture.resnet20.make(seed: 2)
        let c = Candidates.find(in: m, imageShape: [1, 28, 28])
        let before = m.stateDict().map { $0.tensor.copy() }
        let analysis = RecoverabilityAnalysis(teacher: m, candidates: [c[0], c[5]], config: PhaseConfig(iterations: 3, batchSize: 4))
        let data = TinySet(count: 4, trainBatch: { i in LabelledBatch(images: randomTensor([4, 1, 28, 28], seed: UInt64(i)), labels: [0, 1, 2, 3]) },
                           evalBatches: { [LabelledBatch(images: randomTensor([4, 1, 28, 28], seed: 99), labels: [0, 1, 2, 3])] })
        try analysis.train(data: data)
        for ((k, t), b) in zip(m.stateDict(), before) { XCTAssertEqual(t.array, b.array, "\(k) must not change") }
        XCTAssert(analysis.students[0].adaptorParameters.contains { p in
            (0..<p.value.count).contains { i in p.value.pointer[i] != (i % (p.shape[0] + 1) == 0 ? 1 : 0) }
        }, "adaptors moved away from the identity")
        let cache = try analysis.makeEvalCache(data: data)
        XCTAssertGreaterThan(analysis.recoverability(of: 0, cache: cache), 0)
    }
}
