import Engine
import Foundation
import ImageData
import NN
import Practise
import XCTest

/// The committed teachers reproduce, on the bundled test subset, the accuracy recorded in their
/// metadata when they were trained.
final class BundledTeacherTests: XCTestCase {
    func check(_ model: String) throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Assets/teachers/\(model)-fashion-mnist.safetensors").path
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("no bundled \(model) teacher") }
        let weights = try WeightsIO.load(path)
        let recorded = try XCTUnwrap(weights.metadata["practise.top1.bundled_test"].flatMap(Double.init), "metadata lacks the bundled-test accuracy")
        let spec = ModelSpec(architecture: try XCTUnwrap(weights.architecture), inChannels: weights.inChannels, numClasses: weights.numClasses)
        let net = spec.build()
        try net.load(stateDict: weights.tensors)
        let data = try DataSpec.parse("bundled")
        let test = try data.open(split: .test)
        let norm = try XCTUnwrap(weights.normalization)
        let acc = try Evaluation.accuracy(net, next: DataIO.evalBatches(test, transform: DataIO.evalTransform(spec: data, normalization: Normalization(mean: norm.mean, std: norm.std))))
        XCTAssertEqual(acc.count, 2000)
        XCTAssertEqual(acc.top1, recorded, accuracy: 0.005)
    }

    func testResNet20() throws { try check("resnet20") }
    func testResNet56() throws { try check("resnet56") }
}
