import Engine
import NN
import Practise
import XCTest

/// A `state_dict` without metadata: its architecture from its keys, its input channels and class
/// count from the first conv and the classifier that the architecture's description names.
final class ArchitectureMatcherTests: XCTestCase {
    func testShapesComeFromTheDescribedFirstConvAndClassifier() {
        for (arch, inC, classes) in [(Architecture.resnet20, 3, 7), (.mobilenet_v2, 1, 5)] {
            let tensors = Dictionary(uniqueKeysWithValues: arch.make(inChannels: inC, numClasses: classes, seed: 0).stateDict().map { ($0.key, $0.tensor) })
            if arch == .resnet20 {   // (matching builds every architecture before it: once is enough)
                let m = ArchitectureMatcher.match(keys: Set(tensors.keys).subtracting(tensors.keys.filter { $0.hasPrefix("layer1.1.") }))
                XCTAssertEqual(m?.architecture, .resnet20)
                XCTAssertEqual(m?.droppedBlocks, ["layer1.1"])
            }
            let shapes = ArchitectureMatcher.shapes(of: tensors, architecture: arch)
            XCTAssertEqual(shapes.inChannels, inC, "\(arch)")
            XCTAssertEqual(shapes.numClasses, classes, "\(arch)")
        }
        // A first conv or classifier of the wrong rank gives no shape, not a trap.
        let odd = ["conv1.weight": Tensor(zeros: [4]), "fc.weight": Tensor(zeros: [3])]
        let shapes = ArchitectureMatcher.shapes(of: odd, architecture: .resnet20)
        XCTAssertNil(shapes.inChannels)
        XCTAssertNil(shapes.numClasses)
    }
}
