import Engine
import Foundation
import TestSupport
import XCTest

final class LossTests: XCTestCase {
    let targets = [1, 0, 3, 2]

    func testCrossEntropyGradient() {
        gradCheck([randomTensor([4, 5], seed: 1)]) { t in crossEntropy(t[0], targets: self.targets) }
        gradCheck([randomTensor([4, 5], seed: 2)]) { t in crossEntropy(t[0], targets: self.targets, labelSmoothing: 0.1) }
    }

    func testCrossEntropyValue() {
        let logits = Tensor([1, 2, 3, 0, 0, 0], shape: [2, 3])
        let l = crossEntropy(logits, targets: [2, 0]).item
        let lse = log(exp(1.0) + exp(2.0) + exp(3.0))
        XCTAssertEqual(Double(l), ((lse - 3) + log(3.0)) / 2, accuracy: 1e-5)
    }

    func testMSEGradientAndValue() {
        gradCheck([randomTensor([2, 3, 2, 2], seed: 1), randomTensor([2, 3, 2, 2], seed: 2)]) { t in mseLoss(t[0], t[1]) }
        XCTAssertEqual(mseLoss(Tensor([1, 2], shape: [2]), Tensor([0, 0], shape: [2])).item, 2.5)
    }

    func testKLDivergenceGradient() {
        let teacher = randomTensor([4, 5], seed: 9, scale: 2)
        gradCheck([randomTensor([4, 5], seed: 3, scale: 2)]) { t in klDivergence(student: t[0], teacher: teacher, temperature: 4) }
        XCTAssertEqual(klDivergence(student: teacher, teacher: teacher, temperature: 4).item, 0, accuracy: 1e-6)
    }
}
