import Engine
import TestSupport
import XCTest

/// Finite-difference checks of the non-convolution ops.
final class LayerGradientTests: XCTestCase {
    func testBatchNormTrainingMode() {
        let rm = Tensor(zeros: [3]), rv = Tensor(repeating: 1, shape: [3])
        gradCheck([randomTensor([4, 3, 3, 3], seed: 1), randomTensor([3], seed: 2), randomTensor([3], seed: 3)]) { t in
            batchNorm2d(t[0], weight: t[1], bias: t[2], runningMean: rm.copy(), runningVar: rv.copy(), training: true)
        }
    }

    func testBatchNormEvalMode() {
        let rm = randomTensor([3], seed: 4, scale: 0.1), rv = Tensor([0.5, 1.2, 0.9], shape: [3])
        gradCheck([randomTensor([2, 3, 4, 4], seed: 1), randomTensor([3], seed: 2), randomTensor([3], seed: 3)]) { t in
            batchNorm2d(t[0], weight: t[1], bias: t[2], runningMean: rm, runningVar: rv, training: false)
        }
    }

    /// batchNorm2d(…, activation: .relu / .relu6) against relu(batchNorm2d(…)) / relu6(…): output
    /// and all three gradients, in both modes.
    func testBatchNormWithFusedActivationEqualsTheComposition() {
        let cases: [(BatchNormActivation, (Tensor) -> Tensor)] = [(.relu, { relu($0) }), (.relu6, { relu6($0) })]
        for (activation, separate) in cases {
            for training in [true, false] {
                var results: [[Tensor]] = []
                for fused in [true, false] {
                    let x = Parameter(randomTensor([3, 4, 5, 5], seed: 11, scale: 4))
                    // Scales and shifts that send some outputs below 0 and some above 6.
                    let w = Parameter(Tensor([4, -5, 6, 3], shape: [4])), b = Parameter(Tensor([1, 2, 3, 0.5], shape: [4]))
                    let rm = randomTensor([4], seed: 14, scale: 0.1), rv = Tensor([0.5, 1.2, 0.9, 2.0], shape: [4])
                    let bn = { (activation: BatchNormActivation) in
                        batchNorm2d(x.tensor, weight: w.tensor, bias: b.tensor, runningMean: rm, runningVar: rv,
                                    training: training, activation: activation)
                    }
                    let y = fused ? bn(activation) : separate(bn(.none))
                    weightedSum(y, randomTensor(y.shape, seed: 15)).backward()
                    results.append([y, x.grad!, w.grad!, b.grad!])
                }
                let out = UnsafeBufferPointer(start: results[0][0].pointer, count: results[0][0].count)
                XCTAssert(out.contains(0), "some outputs are clamped at 0")
                if activation == .relu6 { XCTAssert(out.contains(6), "some outputs are clamped at 6") }
                for (i, what) in ["output", "input gradient", "weight gradient", "bias gradient"].enumerated() {
                    assertClose(results[0][i], results[1][i], rtol: 1e-5, atol: 1e-5, "\(activation) \(what), training \(training)")
                }
            }
            // NaN passes through the fused activation as through relu() and relu6().
            let nanInput = randomTensor([1, 4, 2, 2], seed: 16)
            nanInput.pointer[5] = .nan
            let fusedNaN = batchNorm2d(nanInput, weight: Tensor(repeating: 1, shape: [4]), bias: Tensor(zeros: [4]),
                                       runningMean: Tensor(zeros: [4]), runningVar: Tensor(repeating: 1, shape: [4]),
                                       training: false, activation: activation)
            XCTAssert(fusedNaN.pointer[5].isNaN)
        }
    }

    func testBatchNormRunningStatistics() {
        let x = randomTensor([2, 2, 3, 3], seed: 9)
        let rm = Tensor(zeros: [2]), rv = Tensor(repeating: 1, shape: [2])
        _ = batchNorm2d(x, weight: Tensor(repeating: 1, shape: [2]), bias: Tensor(zeros: [2]),
                        runningMean: rm, runningVar: rv, training: true)
        for c in 0..<2 {
            var vals: [Double] = []
            for n in 0..<2 { for i in 0..<9 { vals.append(Double(x.pointer[(n * 2 + c) * 9 + i])) } }
            let mean = vals.reduce(0, +) / 18
            let unbiased = vals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 17
            XCTAssertEqual(Double(rm.pointer[c]), 0.1 * mean, accuracy: 1e-6)
            XCTAssertEqual(Double(rv.pointer[c]), 0.9 + 0.1 * unbiased, accuracy: 1e-6)
        }
    }

    func testReLUAndReLU6() {
        // Keep values away from the kinks at 0 and 6.
        var g = SeededGenerator(seed: 3)
        let vals = (0..<48).map { _ -> Float in
            let v = g.nextFloat() * 14 - 4
            return abs(v) < 0.1 || abs(v - 6) < 0.1 ? v + 0.3 : v
        }
        let x = Tensor(vals, shape: [2, 3, 2, 4])
        gradCheck([x]) { t in relu(t[0]) }
        gradCheck([x]) { t in relu6(t[0]) }
    }

    func testAddAndScale() {
        gradCheck([randomTensor([2, 3], seed: 1), randomTensor([2, 3], seed: 2)]) { t in scaled(add(t[0], t[1]), by: 1.5) }
    }

    func testFusedAddReLU() {
        // Sums kept away from the kink at 0.
        var g = SeededGenerator(seed: 9)
        let a = Tensor((0..<24).map { _ in g.nextFloat() * 4 - 2 }, shape: [2, 3, 4])
        let b = Tensor(a.array.map { v in (v >= 0 ? 0.3 : -0.3) + (g.nextFloat() - 0.5) * 0.2 }, shape: [2, 3, 4])
        gradCheck([a, b]) { t in addReLU(t[0], t[1]) }
        XCTAssertEqual(addReLU(a, b).array, relu(add(a, b)).array)
    }

    func testMaxPool() {
        // Distinct values so the argmax is stable under the finite-difference step.
        var g = SeededGenerator(seed: 5)
        let x = Tensor((0..<(2 * 2 * 7 * 7)).map { i in Float(i % 97) * 0.1 + g.nextFloat() * 0.01 }.shuffled(using: &g), shape: [2, 2, 7, 7])
        gradCheck([x], eps: 1e-3) { t in maxPool2d(t[0], kernel: 3, stride: 2, padding: 1) }
    }

    func testAvgPoolAndAdaptive() {
        gradCheck([randomTensor([2, 2, 6, 5], seed: 1)]) { t in avgPool2d(t[0], kernel: 2, stride: 2, padding: 1) }
        gradCheck([randomTensor([2, 2, 7, 5], seed: 2)]) { t in adaptiveAvgPool2d(t[0], outputSize: (3, 2)) }
        gradCheck([randomTensor([2, 3, 4, 4], seed: 3)]) { t in globalAvgPool(t[0]) }
    }

    func testAdaptivePoolWindowsMatchPyTorchRule() {
        // H = 5 → 3 windows: [0,2), [1,4), [3,5)
        let x = Tensor((0..<5).map(Float.init), shape: [1, 1, 5, 1])
        let y = adaptiveAvgPool2d(x, outputSize: (3, 1))
        XCTAssertEqual(y.array, [0.5, 2, 3.5])
    }

    func testLinearAndFlatten() {
        gradCheck([randomTensor([3, 2, 2, 2], seed: 1), randomTensor([4, 8], seed: 2), randomTensor([4], seed: 3)]) { t in
            linear(flatten(t[0]), weight: t[1], bias: t[2])
        }
    }

    func testDropoutScalesKeptUnitsAndIsIdentityInEval() {
        var g = SeededGenerator(seed: 1)
        let x = Tensor(repeating: 1, shape: [1000])
        let y = dropout(x, p: 0.25, training: true, generator: &g)
        let kept = y.array.filter { $0 != 0 }
        XCTAssert(kept.allSatisfy { abs($0 - 4.0 / 3.0) < 1e-6 })
        XCTAssertEqual(Double(kept.count) / 1000, 0.75, accuracy: 0.05)
        XCTAssertEqual(dropout(x, p: 0.25, training: false, generator: &g).array, x.array)
        var g2 = SeededGenerator(seed: 2)
        gradCheck([randomTensor([20], seed: 4)]) { t in
            var local = g2
            return dropout(t[0], p: 0.3, training: true, generator: &local)
        }
        _ = g2.next()
    }
}
