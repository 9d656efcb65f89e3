import Engine
import NN
import XCTest

/// The zoo's descriptions carry PyTorch module paths and node names as `torch.onnx.export`
/// writes them, and register layers under torchvision's `state_dict` keys in forward order.
final class ProgramBuilderTests: XCTestCase {
    func testNodeNamesAndModulePaths() {
        var b = ProgramBuilder(scope: "layer2.0")
        var g = SeededGenerator(seed: 0)
        let h = b.conv(b.input, Conv2d(2, 2, kernelSize: 1, generator: &g), at: "downsample.0")
        _ = b.relu(b.add(h, b.input), module: "relu")
        XCTAssertEqual(b.steps.map(\.nodeName), ["/layer2/layer2.0/downsample/downsample.0/Conv", "/layer2/layer2.0/Add",
                                                 "/layer2/layer2.0/relu/Relu"])
        XCTAssertEqual(b.steps.map(\.modulePath), ["layer2.0.downsample.0", "layer2.0", "layer2.0.relu"])
        XCTAssertEqual(b.layers.map(\.path), ["downsample.0"])
        let mobile = Architecture.mobilenet_v2.make(seed: 0)
        XCTAssertEqual(mobile.graphBlock(at: "features.5")?.program.steps.first?.nodeName, "/features/features.5/conv/conv.0/conv.0.0/Conv")
    }

    func testStagesHeadAndNames() {
        let net = Architecture.resnet56.make(seed: 0)
        XCTAssertEqual(net.stages.map(\.count), [9, 9, 9])
        XCTAssertEqual(net.headPrefix, "fc")
        XCTAssertEqual(net.name, "resnet56")
        XCTAssertEqual([net.inputName, net.outputName], ["input", "logits"])
        XCTAssertNil(net.fixedImageShape, "a zoo network runs at any size")
        let mobile = Architecture.mobilenet_v2.make(seed: 0)
        XCTAssertEqual(mobile.stages.map(\.count), [1, 2, 3, 4, 3, 3, 1])
        XCTAssertEqual(mobile.headPrefix, "classifier")
    }
}
