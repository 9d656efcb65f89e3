import NN
import XCTest

/// A spec read from a file or the command line is checked before anything is allocated.
final class ModelSpecTests: XCTestCase {
    func testCountsOutOfRangeAndUnknownBlocksThrowInsteadOfTrapping() {
        let bad: [(ModelSpec, String)] = [
            (ModelSpec(architecture: .resnet20, numClasses: -3), "num_classes must be in 1...100000, got -3"),
            (ModelSpec(architecture: .resnet20, numClasses: 0), "num_classes must be in 1...100000, got 0"),
            (ModelSpec(architecture: .resnet20, inChannels: -1), "in_channels must be in 1...1024, got -1"),
            (ModelSpec(architecture: .resnet20, droppedBlocks: ["layer9.9"]), "'layer9.9' is not a droppable block of resnet20 (droppable: layer1.1, layer1.2, layer2.1, layer2.2, layer3.1, layer3.2)"),
            (ModelSpec(architecture: .resnet20, droppedBlocks: ["layer2.0"]), "'layer2.0' is not a droppable block of resnet20"),
        ]
        for (spec, message) in bad {
            XCTAssertThrowsError(try spec.buildChecked()) { XCTAssert("\($0)".hasPrefix(message), "\($0)") }
        }
        XCTAssertNoThrow(try ModelSpec(architecture: .resnet20, droppedBlocks: ["layer1.1"]).buildChecked())
    }

    func testDroppableBlocksAreTheIdentitySkipBlocksAfterEachStagesFirst() {
        XCTAssertEqual(Architecture.resnet20.make().droppableBlockPaths, ["layer1.1", "layer1.2", "layer2.1", "layer2.2", "layer3.1", "layer3.2"])
        XCTAssertEqual(Architecture.resnet18.make().droppableBlockPaths, ["layer1.1", "layer2.1", "layer3.1", "layer4.1"])
    }
}
