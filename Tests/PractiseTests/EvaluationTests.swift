import Engine
import Foundation
import NN
@testable import Practise
import XCTest

/// Non-finite logits never count as correct (a comparison with NaN is always false, so a NaN
/// row used to rank the target first).
final class EvaluationTests: XCTestCase {
    func testARowWithANaNOrAnInfinityHasNoRank() {
        for bad in [Float.nan, .infinity, -.infinity] {
            var row: [Float] = [0.1, 0.2, bad, 0.3]
            XCTAssertNil(Evaluation.rankOfTarget(&row, classes: 4, target: 0))
            XCTAssertNil(Evaluation.rankOfTarget(&row, classes: 4, target: 2))
        }
        var row: [Float] = [0.1, 0.5, 0.5, 0.3]
        XCTAssertEqual(Evaluation.rankOfTarget(&row, classes: 4, target: 1), 0)
        XCTAssertEqual(Evaluation.rankOfTarget(&row, classes: 4, target: 2), 1, "ties go to the lower index")
        XCTAssertEqual(Evaluation.rankOfTarget(&row, classes: 4, target: 0), 3)
    }

    func testAModelWithNaNWeightsScoresZeroAndIsFlagged() throws {
        let model = ModelSpec(architecture: .resnet20, inChannels: 1, numClasses: 10).build(seed: 1)
        let fc = model.module(at: "fc")!.parameter("weight").value
        for i in 0..<fc.count { fc.pointer[i] = .nan }
        var batches = [LabelledBatch(images: Tensor(Array(repeating: 0.5, count: 4 * 28 * 28), shape: [4, 1, 28, 28]), labels: [0, 1, 2, 3])][...]
        let acc = try Evaluation.accuracy(model, next: { batches.popFirst() })
        XCTAssertEqual(acc.top1, 0)
        XCTAssertEqual(acc.top5, 0)
        XCTAssertEqual(acc.nonFinite, 4)
        XCTAssertNotNil(acc.nonFiniteProblem(of: "m"))
        XCTAssertEqual(Divergence.firstNonFinite(in: model), "fc.weight")
        let json = String(decoding: try JSONEncoder().encode(acc), as: UTF8.self)
        XCTAssert(json.contains("\"non_finite\":4"), json)
    }

    func testDivergenceFindsANonFiniteBatchNormStatistic() {
        let model = ModelSpec(architecture: .resnet20, inChannels: 1, numClasses: 10).build(seed: 1)
        XCTAssertNil(Divergence.firstNonFinite(in: model))
        let v = model.module(at: "layer2.1.bn1")!.buffer("running_var")
        v.pointer[3] = .infinity
        XCTAssertEqual(Divergence.firstNonFinite(in: model), "layer2.1.bn1.running_var")
    }

    func testFinitenessIsCheckedAfterTheLastUpdate() throws {
        // The loss is checked before each update, so a blow-up in the last update (simulated by
        // the callback, which runs after the optimiser step) must be caught by the final check.
        let teacher = ModelSpec(architecture: .resnet20, inChannels: 1, numClasses: 10).build(seed: 1)
        let student = ModelSpec(architecture: .resnet20, inChannels: 1, numClasses: 10).build(seed: 1)
        teacher.copyWeights(into: student)
        var g = SeededGenerator(seed: 3)
        let images = Tensor((0..<(8 * 28 * 28)).map { _ in Float.random(in: 0...1, using: &g) }, shape: [8, 1, 28, 28])
        let batch = LabelledBatch(images: images, labels: Array(0..<8))
        let data = TinySet(count: 8, trainBatch: { _ in batch }, evalBatches: { [batch] })
        XCTAssertThrowsError(try Finetuner.run(student: student, teacher: teacher, method: .bp, data: data,
                                               config: PhaseConfig(iterations: 2, learningRate: 0.01, batchSize: 8)) { it, _ in
            if it == 1 { student.module(at: "conv1")!.parameter("weight").value.pointer[0] = .nan }
        }) {
            XCTAssertEqual("\($0)", "BP finetuning diverged: conv1.weight holds NaN or infinity after the last update (iteration 2); try a lower --lr")
        }
    }
}
