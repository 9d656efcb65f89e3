import Engine
import Foundation
import ImageData
import NN
import Practise
import XCTest

/// An in-memory dataset of random 8×8 grey images in 3 classes.
struct RandomImages: Dataset {
    let name = "random"
    let count = 24
    let classes = ["a", "b", "c"]
    let channels = 1
    let defaultNormalization = Normalization.identity
    func image(at index: Int) throws -> Image {
        var g = SeededGenerator(seed: UInt64(index))
        return Image(width: 8, height: 8, channels: 1, pixels: (0..<64).map { _ in UInt8(g.nextInt(below: 256)) })
    }
    func label(at index: Int) -> Int { index % 3 }
}

final class TrainerTests: XCTestCase {
    func trainer() -> Trainer {
        var recipe = TrainRecipe(epochs: 2)
        recipe.batchSize = 8
        recipe.learningRate = 0.05
        return Trainer(model: Architecture.resnet20.make(numClasses: 3, seed: 4), recipe: recipe, seed: 9)
    }

    func train(_ t: Trainer, stopAfter: Int? = nil) throws {
        let transform = TransformPipeline([RandomCrop(size: 8, padding: 2), RandomHorizontalFlip()], normalization: nil)
        struct Stop: Error {}
        do {
            try t.run(train: RandomImages(), transform: transform, evaluate: { _ in 0 }, checkpoint: { t in
                if let stopAfter, t.completedEpochs == stopAfter { throw Stop() }
            }, progress: { _, _, _, _ in })
        } catch is Stop {}
    }

    func testResumedTrainingEndsWithTheSameWeights() throws {
        let straight = trainer()
        try train(straight)

        let first = trainer()
        try train(first, stopAfter: 1)
        XCTAssertEqual(first.completedEpochs, 1)
        let saved = first.checkpointDict(metadata: [:])
        let resumed = trainer()
        try resumed.restore(saved)
        try train(resumed)
        XCTAssertEqual(resumed.completedEpochs, 2)
        for ((k, a), (_, b)) in zip(straight.model.stateDict(), resumed.model.stateDict()) {
            XCTAssertEqual(a.array, b.array, "\(k) differs after resuming")
        }
    }
}
