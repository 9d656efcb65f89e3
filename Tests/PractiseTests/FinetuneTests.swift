import Engine
import Foundation
import NN
import Practise
import TestSupport
import XCTest

final class FinetuneTests: XCTestCase {
    func data() -> TinySet {
        TinySet(count: 8, trainBatch: { i in
            LabelledBatch(images: randomTensor([8, 1, 12, 12], seed: UInt64(100 + i)), labels: Array(0..<8).map { $0 % 4 })
        }, evalBatches: { [] })
    }

    func testEveryMethodReducesItsLossWithoutTouchingTheTeacher() throws {
        for method in FinetuneMethod.allCases {
            let teacher = Architecture.resnet20.make(numClasses: 4, seed: 3)
            let before = teacher.stateDict().map { $0.tensor.copy() }
            let student = ModelSpec(architecture: .resnet20, numClasses: 4, droppedBlocks: ["layer1.1", "layer3.2"]).build()
            teacher.copyWeights(into: student)
            var losses: [Float] = []
            try Finetuner.run(student: student, teacher: teacher, method: method, data: data(),
                              // A random teacher in eval mode has unnormalised features far larger than a trained
                              // one's, so MiR needs a smaller step here than the reference's 0.02.
                              config: PhaseConfig(iterations: 12, learningRate: method == .mir ? 0.002 : 0.02, batchSize: 8)) { _, l in losses.append(l) }
            XCTAssert(losses.allSatisfy(\.isFinite), "\(method): \(losses)")
            XCTAssertLessThan(losses.suffix(3).reduce(0, +), losses.prefix(3).reduce(0, +), "\(method) loss goes down: \(losses)")
            for ((k, t), b) in zip(teacher.stateDict(), before) { XCTAssertEqual(t.array, b.array, "\(method) changed teacher \(k)") }
            if method == .mir {
                let fcWeight = student.module(at: "fc")!.parameter("weight").value
                XCTAssertEqual(fcWeight.array, teacher.module(at: "fc")!.parameter("weight").value.array, "MiR freezes the classifier")
            }
        }
    }
}
