import Engine
@testable import NN
import TestSupport
import XCTest

/// Running a program through its plan (fused BatchNorm+ReLU and Add+ReLU, slots freed after
/// their last reader) computes what its steps say, one by one.
final class StepProgramTests: XCTestCase {
    func testThePlanComputesTheStepsOneByOne() throws {
        let net = Architecture.resnet20.make(inChannels: 3, seed: 2)
        let block = try XCTUnwrap(net.graphBlock(at: "layer2.0"))   // BN+ReLU, a projection read after the branch, Add+ReLU
        let x = randomTensor([3, 16, 8, 8], seed: 5)
        for training in [false, true] {
            block.train(training)
            let planned = Autograd.noGrad { block.program.run(x, on: block) }
            let stepByStep = Autograd.noGrad { block.program.values(x, on: block, keeping: [])[block.program.output]! }
            assertClose(planned, stepByStep, rtol: 1e-6, atol: 1e-6, "training \(training)")
        }
    }

    func testTheInputGradientFlowsThroughTheFusedSteps() throws {
        let net = Architecture.resnet20.make(inChannels: 1, seed: 4)
        let block = try XCTUnwrap(net.graphBlock(at: "layer1.1"))
        block.eval()
        let x = randomTensor([1, 16, 4, 4], seed: 6)
        gradCheck([x]) { block.program.run($0[0], on: block) }
    }

    func testObserverAndMACs() throws {
        let net = Architecture.resnet20.make(seed: 0)
        let block = try XCTUnwrap(net.graphBlock(at: "layer1.1"))
        var seen: [Int: [Int]] = [:]
        _ = Autograd.noGrad { block.program.run(Tensor(zeros: [1, 16, 28, 28]), on: block) { seen[$0] = $1.shape } }
        // conv1, bn1+relu (seen as the relu), conv2, bn2, add+relu (seen as the relu).
        XCTAssertEqual(seen.keys.sorted(), [0, 2, 3, 4, 6])
        XCTAssertEqual(seen[0], [1, 16, 28, 28])
        XCTAssertEqual(block.macs(input: [16, 28, 28]), 2 * 28 * 28 * 16 * 16 * 9)
        XCTAssertEqual(try XCTUnwrap(net.graphBlock(at: "layer2.0")).macs(input: [16, 28, 28]),
                       14 * 14 * 32 * (16 * 9 + 32 * 9 + 16), "conv1 (stride 2), conv2 and the 1×1 projection")
    }

    func testALayerReplacedByPathTakesEffect() throws {
        let net = Architecture.resnet20.make(seed: 0)
        net.eval()
        let x = randomTensor([1, 1, 12, 12], seed: 9)
        let before = Autograd.noGrad { net(x) }
        net.replace(at: "layer3.2", with: Identity())
        XCTAssertNotEqual(Autograd.noGrad { net(x) }.array, before.array)
    }
}

extension StepProgramTests {
    /// A whole network's MACs are its stem's, blocks', tail's and head's; a dropped block counts nothing.
    func testNetworkMACs() throws {
        let net = Architecture.resnet20.make(seed: 0)
        let shapes = [[16, 28, 28], [16, 28, 28], [16, 28, 28], [16, 28, 28], [32, 14, 14], [32, 14, 14], [32, 14, 14], [64, 7, 7], [64, 7, 7]]
        let blocks = zip(net.blockPaths, shapes).map { net.graphBlock(at: $0)!.macs(input: $1) }.reduce(0, +)
        let stem = 28 * 28 * 16 * 9, head = 64 * 10
        XCTAssertEqual(net.macs(imageShape: [1, 28, 28]), stem + blocks + head)
        let layer31 = net.graphBlock(at: "layer3.1")!.macs(input: [64, 7, 7])
        net.replace(at: "layer3.1", with: Identity())
        XCTAssertEqual(net.macs(imageShape: [1, 28, 28]), stem + blocks + head - layer31)
    }
}

extension StepProgramTests {
    /// In inference a depthwise conv, its BatchNorm and ReLU6 run as one kernel; the result equals
    /// the steps one by one (to float rounding), and MAC counting still sees the conv.
    func testDepthwiseConvAndBatchNormFuseInInference() throws {
        let net = Architecture.mobilenet_v2.make(inChannels: 3, seed: 6)
        let block = try XCTUnwrap(net.graphBlock(at: "features.3"))
        for (_, m) in block.namedModules() {
            if let bn = m as? BatchNorm2d {   // non-trivial statistics, so a wrong fold shows
                bn.setBuffer("running_mean", randomTensor([bn.channels], seed: 11, scale: 0.3))
                bn.setBuffer("running_var", Tensor((0..<bn.channels).map { Float(0.5 + Double($0 % 7) * 0.2) }, shape: [bn.channels]))
            }
        }
        block.eval()
        let x = randomTensor([2, 24, 9, 9], seed: 12)
        let fused = Autograd.noGrad { block.program.run(x, on: block) }
        let stepByStep = Autograd.noGrad { block.program.values(x, on: block, keeping: [])[block.program.output]! }
        assertClose(fused, stepByStep, rtol: 1e-5, atol: 1e-5)
        XCTAssertEqual(block.macs(input: [24, 9, 9]), 81 * (24 * 144 + 144 * 9 + 144 * 24), "expansion, depthwise and projection")
    }
}

extension StepProgramTests {
    /// Gives every BatchNorm of `module` non-trivial statistics and affine parameters, so a wrong fold shows.
    func randomiseBatchNorms(_ module: Module, seed: UInt64) {
        for (i, (_, m)) in module.namedModules().enumerated() {
            guard let bn = m as? BatchNorm2d else { continue }
            let c = bn.channels, s = seed + UInt64(10 * i)
            bn.setBuffer("running_mean", randomTensor([c], seed: s, scale: 0.3))
            bn.setBuffer("running_var", Tensor((0..<c).map { Float(0.5 + Double(($0 + i) % 7) * 0.2) }, shape: [c]))
            bn.weight.value = randomTensor([c], seed: s + 1)
            bn.bias.value = randomTensor([c], seed: s + 2)
        }
    }

    /// In inference each conv is written once with its BatchNorm, its activation and, at the end
    /// of a residual block, the residual Add and its ReLU: the plan says so, and the result equals
    /// the steps one by one (to float rounding) — ResNet's BasicBlock with and without a
    /// projection, Bottleneck, and MobileNetV2's inverted residual with its skip. Two conv +
    /// BatchNorm + activation runs in a row are planned as a pair: MobileNetV2's expansion and
    /// depthwise conv run a group of channels at a time, Bottleneck's 1×1 and 3×3 convs (not an
    /// expansion and a depthwise conv) as the two runs.
    func testConvBatchNormAndResidualAddFuseInInference() throws {
        let cases: [(Architecture, String, [Int], [String])] = [
            (.resnet20, "layer1.1", [2, 16, 8, 8], ["conv+batchNorm+relu", "conv+batchNorm+add+relu"]),
            (.resnet20, "layer2.0", [2, 16, 8, 8], ["conv+batchNorm+relu", "conv+batchNorm", "conv+batchNorm+add+relu"]),
            (.resnet50, "layer1.1", [1, 256, 6, 6], ["conv+batchNorm+relu+conv+batchNorm+relu", "conv+batchNorm+add+relu"]),
            (.mobilenet_v2, "features.3", [2, 24, 9, 9], ["conv+batchNorm+relu6+conv+batchNorm+relu6", "conv+batchNorm+add"]),
        ]
        for (arch, path, shape, runs) in cases {
            let net = arch.make(inChannels: 3, seed: 6)
            let block = try XCTUnwrap(net.graphBlock(at: path))
            randomiseBatchNorms(block, seed: 20)
            block.eval()
            let label = "\(arch) \(path)"
            XCTAssertEqual(block.program.plannedRuns.filter { $0.hasPrefix("conv") }, runs, label)
            let x = randomTensor(shape, seed: 12)
            let fused = Autograd.noGrad { block.program.run(x, on: block) }
            let stepByStep = Autograd.noGrad { block.program.values(x, on: block, keeping: [])[block.program.output]! }
            assertClose(fused, stepByStep, rtol: 1e-5, atol: 1e-5, label)
            block.prepareForInference()
            assertClose(Autograd.noGrad { block.program.run(x, on: block) }, stepByStep, rtol: 1e-5, atol: 1e-5, "\(label), prepared")
        }
    }
}
