import Engine
import NN
import TestSupport
import XCTest

/// What the method needs to know about a block, read off the zoo's descriptions, equals the
/// torchvision facts the reference hard-codes (entry/exit convs, identity skips, the inner
/// channels filter pruning may thin, the branch FSKD fits).
final class BlockStructureTests: XCTestCase {
    private func block(_ arch: Architecture, _ path: String) throws -> GraphBlock {
        try XCTUnwrap(arch.make(inChannels: 3, numClasses: 10, seed: 0).graphBlock(at: path), path)
    }

    func testBasicBlocks() throws {
        let plain = try block(.resnet20, "layer1.1").structure
        XCTAssertTrue(plain.isResidual)
        XCTAssertTrue(plain.hasIdentitySkip)
        XCTAssertEqual(plain.entryConvs, ["conv1"])
        XCTAssertEqual(plain.exitConvs, ["conv2"])
        XCTAssertEqual(plain.innerSites, [InnerChannelSite(conv: "conv1", outputFollowers: ["bn1"], consumer: "conv2", channels: 16)])
        XCTAssertEqual(plain.branchExit, BranchExit(conv: "conv2", batchNorm: "bn2"))

        let projection = try block(.resnet18, "layer2.0").structure
        XCTAssertTrue(projection.isResidual)
        XCTAssertFalse(projection.hasIdentitySkip)
        XCTAssertEqual(projection.entryConvs, ["conv1", "downsample.0"])
        XCTAssertEqual(projection.exitConvs, ["conv2", "downsample.0"])
        XCTAssertEqual(projection.innerSites.map(\.conv), ["conv1"])
        XCTAssertEqual(projection.branchExit, BranchExit(conv: "conv2", batchNorm: "bn2"), "the branch is the operand with more convs")
    }

    func testBottlenecks() throws {
        let s = try block(.resnet50, "layer1.0").structure
        XCTAssertFalse(s.hasIdentitySkip)
        XCTAssertEqual(s.entryConvs, ["conv1", "downsample.0"])
        XCTAssertEqual(s.exitConvs, ["conv3", "downsample.0"])
        XCTAssertEqual(s.innerSites, [
            InnerChannelSite(conv: "conv1", outputFollowers: ["bn1"], consumer: "conv2", channels: 64),
            InnerChannelSite(conv: "conv2", outputFollowers: ["bn2"], consumer: "conv3", channels: 64),
        ])
        XCTAssertEqual(s.branchExit, BranchExit(conv: "conv3", batchNorm: "bn3"))
        XCTAssertTrue(try block(.resnet50, "layer1.1").structure.hasIdentitySkip)
    }

    func testInvertedResiduals() throws {
        // features.1: no expansion (depthwise first), stride 1 but 32 → 16 channels: no skip.
        let first = try block(.mobilenet_v2, "features.1").structure
        XCTAssertFalse(first.isResidual)
        XCTAssertEqual(first.entryConvs, ["conv.0.0"])
        XCTAssertEqual(first.exitConvs, ["conv.1"])
        XCTAssertEqual(first.innerSites, [], "a depthwise conv starts no site")
        XCTAssertEqual(first.branchExit, BranchExit(conv: "conv.1", batchNorm: "conv.2"))
        // features.3: expansion 6 of 24 channels, identity skip `x + conv(x)`.
        let s = try block(.mobilenet_v2, "features.3").structure
        XCTAssertTrue(s.hasIdentitySkip)
        XCTAssertEqual(s.entryConvs, ["conv.0.0"])
        XCTAssertEqual(s.exitConvs, ["conv.2"])
        XCTAssertEqual(s.innerSites, [InnerChannelSite(conv: "conv.0.0", outputFollowers: ["conv.0.1", "conv.1.0", "conv.1.1"],
                                                       consumer: "conv.2", channels: 144)])
        XCTAssertEqual(s.branchExit, BranchExit(conv: "conv.2", batchNorm: "conv.3"))
    }

    func testResidualPartsAreTheBranchAndTheSkip() throws {
        let b = try block(.resnet20, "layer1.1")
        b.eval()
        let x = randomTensor([2, 16, 6, 6], seed: 3)
        let (branch, skip) = Autograd.noGrad { b.residualParts(x) }
        XCTAssertEqual(skip?.array, x.array, "an identity skip is the block input")
        assertClose(Autograd.noGrad { b(x) }, relu(add(branch, x)), rtol: 0, atol: 0)
        let mobile = try block(.mobilenet_v2, "features.1")
        mobile.eval()
        let y = randomTensor([1, 32, 5, 5], seed: 4)
        let parts = Autograd.noGrad { mobile.residualParts(y) }
        XCTAssertNil(parts.skip)
        XCTAssertEqual(parts.branch.array, Autograd.noGrad { mobile(y) }.array, "without an Add the branch is the output")
    }
}
