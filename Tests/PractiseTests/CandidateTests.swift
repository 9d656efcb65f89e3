import Engine
import NN
import Practise
import XCTest

final class CandidateTests: XCTestCase {
    func paths(_ arch: Architecture, _ shape: [Int]) -> [String] {
        Candidates.find(in: arch.make(seed: 0), imageShape: shape).map(\.path)
    }

    func testResNetCandidatesAreEveryBlockButTheFirstOfEachStage() {
        XCTAssertEqual(paths(.resnet34, [3, 64, 64]),
                       ["layer1.1", "layer1.2", "layer2.1", "layer2.2", "layer2.3",
                        "layer3.1", "layer3.2", "layer3.3", "layer3.4", "layer3.5", "layer4.1", "layer4.2"])
        XCTAssertEqual(paths(.resnet18, [3, 64, 64]), ["layer1.1", "layer2.1", "layer3.1", "layer4.1"])
        XCTAssertEqual(paths(.resnet50, [3, 64, 64]).count, 12)
        XCTAssertEqual(paths(.resnet101, [3, 64, 64]).count, 29)
    }

    func testCifarResNetCandidates() {
        XCTAssertEqual(paths(.resnet20, [1, 28, 28]), ["layer1.1", "layer1.2", "layer2.1", "layer2.2", "layer3.1", "layer3.2"])
        XCTAssertEqual(paths(.resnet56, [1, 28, 28]).count, 24)
        XCTAssertEqual(paths(.resnet32, [1, 28, 28]).count, 12)
        XCTAssertEqual(paths(.resnet44, [1, 28, 28]).count, 18)
        XCTAssertEqual(paths(.resnet110, [1, 28, 28]).count, 51)
    }

    func testMobileNetV2CandidatesAreTheInvertedResidualsWithASkip() {
        XCTAssertEqual(paths(.mobilenet_v2, [3, 64, 64]),
                       ["features.3", "features.5", "features.6", "features.8", "features.9", "features.10",
                        "features.12", "features.13", "features.15", "features.16"])
    }

    func testCandidateShapesAndCosts() {
        let c = Candidates.find(in: Architecture.resnet20.make(seed: 0), imageShape: [1, 28, 28])
        XCTAssertEqual(c[0].inputShape, [16, 28, 28])
        XCTAssertEqual(c[4].inputShape, [64, 7, 7])
        // two 3×3 convs 16→16 on 28×28: 2·16·16·9·784
        XCTAssertEqual(c[0].macs, 2 * 16 * 16 * 9 * 784)
        XCTAssertEqual(c[0].parameters, 2 * 16 * 16 * 9 + 4 * 16)
    }
}
