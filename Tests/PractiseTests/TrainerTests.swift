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

    /// A checkpoint whose epoch count or history was damaged is refused, naming the file and the
    /// key, instead of silently restarting the schedule.
    func testADamagedCheckpointIsRefusedNamingTheKey() throws {
        let first = trainer()
        try train(first, stopAfter: 1)
        let good = first.checkpointDict(metadata: [:])
        let cases: [([String: String], String)] = [
            (["trainer.epochs_done": "abc"], "c.safetensors: metadata trainer.epochs_done must be an integer in 0...2 (the --epochs of this run); found 'abc'"),
            (["trainer.epochs_done": "7"], "c.safetensors: metadata trainer.epochs_done must be an integer in 0...2"),
            (["trainer.history": "nan"], "c.safetensors: metadata trainer.history must be 1 finite accuracies, one per completed epoch; found 'nan'"),
            (["trainer.history": "1,2"], "c.safetensors: metadata trainer.history must be 1 finite accuracies"),
        ]
        for (edits, message) in cases {
            var dict = good
            for (k, v) in edits { dict.metadata[k] = v }
            XCTAssertThrowsError(try trainer().restore(dict, file: "c.safetensors")) { XCTAssert("\($0)".hasPrefix(message), "\($0)") }
        }
        var dict = good
        let key = dict.tensors.keys.sorted().first { $0.hasPrefix("optimizer.") }!
        dict.tensors[key]!.values[0] = .nan
        XCTAssertThrowsError(try trainer().restore(dict, file: "c.safetensors")) {
            XCTAssert("\($0)".contains("c.safetensors: 1 tensor holds NaN or infinity: \(key)"), "\($0)")
        }
        XCTAssertNoThrow(try trainer().restore(good, file: "c.safetensors"))
    }

    /// The last update of an epoch is checked before its evaluation and checkpoint: a step that
    /// leaves NaN or infinity in the weights is a divergence, never an accuracy or a saved file.
    func testAnUpdateThatLeavesNonFiniteWeightsStopsBeforeEvaluationAndCheckpoint() {
        var recipe = TrainRecipe(epochs: 1)
        recipe.batchSize = 24          // one step: its loss is finite, the update is not
        recipe.learningRate = .infinity   // (the CLI refuses it; the trainer must still catch the result)
        let t = Trainer(model: Architecture.resnet20.make(numClasses: 3, seed: 4), recipe: recipe, seed: 9)
        var evaluated = false, saved = false
        XCTAssertThrowsError(try t.run(train: RandomImages(), transform: TransformPipeline([], normalization: nil),
                                       evaluate: { _ in evaluated = true; return 100 }, checkpoint: { _ in saved = true },
                                       progress: { _, _, _, _ in })) {
            XCTAssert("\($0)".hasPrefix("training diverged: "), "\($0)")
            XCTAssert("\($0)".contains("holds NaN or infinity after epoch 1; try a lower --lr"), "\($0)")
        }
        XCTAssertFalse(evaluated)
        XCTAssertFalse(saved)
        XCTAssertEqual(t.history, [])
    }
}
