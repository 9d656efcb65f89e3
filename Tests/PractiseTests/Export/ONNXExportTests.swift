import Engine
import Foundation
import NN
import ONNX
import Practise
import TestSupport
import XCTest

/// A zoo network written to ONNX from its description carries PyTorch module paths in its node
/// names, so importing the file back gives the same blocks, stages and candidates and the same
/// logits: the zoo and imported networks are one kind of description.
final class ONNXExportTests: XCTestCase {
    func testAZooNetworkRoundTripsThroughONNXWithItsBlockNames() throws {
        let path = NSTemporaryDirectory() + "zoo-roundtrip-\(UUID().uuidString).onnx"
        defer { try? FileManager.default.removeItem(atPath: path) }
        for (arch, side) in [(Architecture.resnet20, 16), (.mobilenet_v2, 32)] {
            let spec = ModelSpec(architecture: arch, inChannels: 3, numClasses: 7, droppedBlocks: [])
            let model = spec.build(seed: 5)
            model.eval()
            try ONNXExport.write(model, spec: spec, imageShape: [3, side, side], to: path)
            let back = try ONNXImporter.load(path: path)
            if arch == .mobilenet_v2 {
                // torchvision's module tree puts the stem conv and the last 1×1 conv beside the
                // blocks (`features.0`, `features.18`), so the importer makes them plain blocks of
                // stages of their own; no candidate or adaptor changes.
                XCTAssertEqual(back.stages, [["features.0"]] + model.stages + [["features.18"]])
            } else {
                XCTAssertEqual(back.stages, model.stages, "\(arch)")
            }
            XCTAssertEqual(Candidates.find(in: back, imageShape: [3, side, side]).map(\.path),
                           Candidates.find(in: model, imageShape: [3, side, side]).map(\.path), "\(arch)")
            XCTAssertEqual(back.headPrefix, model.headPrefix, "\(arch)")
            XCTAssertEqual([back.inputName, back.outputName], ["input", "logits"])
            back.eval()
            let x = randomTensor([2, 3, side, side], seed: 8)
            let expected = Autograd.noGrad { model(x) }
            assertClose(Autograd.noGrad { back(x) }, expected, rtol: 1e-4, atol: 1e-4 * expected.maxAbs, "\(arch)")
        }
    }
}
