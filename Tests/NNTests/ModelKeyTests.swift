import Engine
import Foundation
import NN
import XCTest

/// Our `state_dict` keys and shapes equal torchvision's (lists dumped by Scripts/dump-torchvision-keys.py).
final class ModelKeyTests: XCTestCase {
    func expectedKeys(_ name: String) throws -> [(String, [Int])] {
        let url = Bundle.module.url(forResource: name, withExtension: "txt", subdirectory: "Fixtures/torchvision-keys")!
        return try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { line in
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            let shape = parts.count > 2 && !parts[2].isEmpty ? parts[2].split(separator: ",").map { Int($0)! } : []
            return (String(parts[0]), shape)
        }
    }

    func check(_ arch: Architecture, file: StaticString = #filePath, line: UInt = #line) throws {
        let model = arch.make(seed: 0)
        let ours = model.stateDict().map { ($0.key, $0.tensor.shape) }
        let theirs = try expectedKeys(arch.rawValue)
        XCTAssertEqual(ours.map(\.0), theirs.map(\.0), "\(arch) key order", file: file, line: line)
        for ((k, s), (_, t)) in zip(ours, theirs) { XCTAssertEqual(s, t, "\(arch) \(k)", file: file, line: line) }
    }

    func testResNet18() throws { try check(.resnet18) }
    func testResNet34() throws { try check(.resnet34) }
    func testResNet50() throws { try check(.resnet50) }
    func testResNet101() throws { try check(.resnet101) }
    func testMobileNetV2() throws { try check(.mobilenet_v2) }
    func testResNet20() throws { try check(.resnet20) }
    func testResNet56() throws { try check(.resnet56) }

    func testFeaturesAndLogitsShapes() {
        let x = Tensor(zeros: [2, 1, 28, 28])
        let m = Architecture.resnet20.make(seed: 1)
        m.eval()
        let f = Autograd.noGrad { m.features(x) }
        XCTAssertEqual(f.shape, [2, 64, 7, 7])
        XCTAssertEqual(Autograd.noGrad { m.classify(f) }.shape, [2, 10])
        let mb = Architecture.mobilenet_v2.make(inChannels: 3, numClasses: 7, seed: 1)
        mb.eval()
        XCTAssertEqual(Autograd.noGrad { mb(Tensor(zeros: [1, 3, 64, 64])) }.shape, [1, 7])
    }
}
