import Engine
import TestSupport
import XCTest

/// Gradients of the ops imported graphs add, against central finite differences.
final class GraphOpsTests: XCTestCase {
    func testActivationGradients() {
        // Values away from the kinks (±3 for hard-swish, 0/1 crossings for hard-sigmoid) at eps 1e-2.
        let x = Tensor((0..<60).map { Float($0) * 0.173 - 5.1 }, shape: [2, 3, 2, 5])
        gradCheck([x]) { sigmoid($0[0]) }
        gradCheck([x]) { hardSwish($0[0]) }
        gradCheck([x]) { hardSigmoid($0[0], alpha: 0.2, beta: 0.5) }
        gradCheck([x]) { clip($0[0], min: -1.05, max: 2.05) }
        XCTAssertEqual(hardSwish(Tensor([-4, -1.5, 0, 1.5, 4], shape: [5])).array, [0, -0.375, 0, 1.125, 4])
        XCTAssertEqual(hardSigmoid(Tensor([-3, 0, 3], shape: [3]), alpha: 1 / 6, beta: 0.5).array, [0, 0.5, 1])
    }

    func testMultiplyGradients() {
        let a = randomTensor([2, 3, 4, 5], seed: 1), b = randomTensor([2, 3, 4, 5], seed: 2), gate = randomTensor([2, 3, 1, 1], seed: 3)
        gradCheck([a, b]) { multiply($0[0], $0[1]) }
        gradCheck([a, gate]) { multiply($0[0], $0[1]) }
        gradCheck([gate, a]) { multiply($0[0], $0[1]) }
        let y = multiply(a, gate)
        XCTAssertEqual(y.pointer[1 * 20 + 7], a.pointer[1 * 20 + 7] * gate.pointer[1])
    }

    func testPadAndDilatedKernel() {
        let x = randomTensor([2, 2, 3, 4], seed: 4)
        gradCheck([x]) { pad2d($0[0], top: 1, left: 0, bottom: 2, right: 3) }
        let p = pad2d(x, top: 1, left: 0, bottom: 2, right: 3)
        XCTAssertEqual(p.shape, [2, 2, 6, 7])
        XCTAssertEqual(p.pointer[(0 * 6 + 1) * 7 + 0], x.pointer[0])
        let w = randomTensor([3, 2, 3, 3], seed: 5)
        gradCheck([w]) { dilateKernel($0[0], dilation: 2) }
        // A dilated conv equals the direct sum over dilated taps.
        let input = randomTensor([1, 2, 9, 9], seed: 6)
        let y = conv2d(input, weight: dilateKernel(w, dilation: 2), padding: 2)
        var expected: Float = 0
        for c in 0..<2 { for r in 0..<3 { for q in 0..<3 {
            let iy = 4 + 2 * (r - 1), ix = 4 + 2 * (q - 1)
            expected += w.pointer[(c * 3 + r) * 3 + q] * input.pointer[(c * 9 + iy) * 9 + ix]
        } } }
        XCTAssertEqual(y.pointer[(0 * 9 + 4) * 9 + 4], expected, accuracy: 1e-4)
    }
}
