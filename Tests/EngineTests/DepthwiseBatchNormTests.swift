@testable import Engine
import CKernels
import TestSupport
import XCTest

/// The fused depthwise conv + eval batch norm + activation against the two ops it replaces, at
/// every SIMD level this CPU has and on 1 and 2 threads.
final class DepthwiseBatchNormTests: XCTestCase {
    /// (x, kernel, stride, padding): MobileNetV2's 3×3 stride 1 and 2, a row longer than a block,
    /// a 5×5 kernel.
    let cases: [([Int], Int, Int, Int)] = [
        ([2, 6, 14, 14], 3, 1, 1), ([3, 5, 15, 15], 3, 2, 1), ([1, 4, 5, 70], 3, 1, 1), ([2, 3, 9, 8], 5, 1, 2),
        // Larger than 7×7: the grouped GEMM path with the epilogue.
        ([1, 3, 12, 11], 9, 2, 4),
    ]

    func unfused(_ x: Tensor, _ w: Tensor, _ s: Int, _ p: Int, _ bn: [Tensor], _ act: BatchNormActivation) -> Tensor {
        batchNorm2d(conv2d(x, weight: w, stride: s, padding: p, groups: x.shape[1]), weight: bn[0], bias: bn[1],
                    runningMean: bn[2], runningVar: bn[3], training: false, activation: act)
    }

    func batchNorm(_ c: Int, seed: UInt64) -> [Tensor] {
        let variance = randomTensor([c], seed: seed + 3)
        for i in 0..<c { variance.pointer[i] = abs(variance.pointer[i]) + 0.1 }
        return [randomTensor([c], seed: seed), randomTensor([c], seed: seed + 1), randomTensor([c], seed: seed + 2), variance]
    }

    func testFusedMatchesConvThenBatchNorm() {
        forEachSIMDLevelAndThreadCount { label in
            for (i, (xs, k, s, p)) in cases.enumerated() {
                let c = xs[1]
                // Scaled so that ReLU6 clamps at both ends.
                let x = randomTensor(xs, seed: UInt64(40 + i), scale: 3), w = randomTensor([c, 1, k, k], seed: UInt64(50 + i))
                let bn = batchNorm(c, seed: UInt64(60 + i))
                for act in [BatchNormActivation.none, .relu, .relu6] {
                    let (want, got) = Autograd.noGrad {
                        (unfused(x, w, s, p, bn, act),
                         depthwiseConv2dBatchNorm(x, weight: w, stride: s, padding: p, bnWeight: bn[0], bnBias: bn[1],
                                                  runningMean: bn[2], runningVar: bn[3], activation: act))
                    }
                    assertClose(got, want, rtol: 1e-6, atol: 1e-6, "\(label), \(xs) \(k)×\(k) stride \(s), \(act)")
                }
            }
        }
    }

    /// A NaN input passes the clamp as it passes batchnorm's: the outputs whose window holds it are
    /// NaN in both, every other output agrees.
    func testNaNPassesTheClampAsInTheUnfusedOps() {
        forEachSIMDLevelAndThreadCount { label in
            for (xs, s) in [([1, 2, 14, 14], 1), ([1, 2, 15, 15], 2)] {
                let x = randomTensor(xs, seed: 7, scale: 3), w = randomTensor([2, 1, 3, 3], seed: 8)
                x.pointer[14 * 5 + 6] = .nan
                let bn = batchNorm(2, seed: 9)
                let (want, got) = Autograd.noGrad {
                    (unfused(x, w, s, 1, bn, .relu6),
                     depthwiseConv2dBatchNorm(x, weight: w, stride: s, padding: 1, bnWeight: bn[0], bnBias: bn[1],
                                              runningMean: bn[2], runningVar: bn[3], activation: .relu6))
                }
                let nanWant = want.array.map(\.isNaN), nanGot = got.array.map(\.isNaN)
                XCTAssertTrue(nanWant.contains(true), "\(label): the NaN reaches the output")
                XCTAssertEqual(nanGot, nanWant, "\(label), stride \(s): NaN positions")
                for (a, b) in zip(got.array, want.array) where !a.isNaN {
                    XCTAssertEqual(a, b, accuracy: 1e-5, "\(label), stride \(s)")
                }
            }
        }
    }

    func testWhileRecordingItIsTheTwoOpsWithTheirGradients() {
        let x = randomTensor([2, 3, 6, 6], seed: 1), w = randomTensor([3, 1, 3, 3], seed: 2)
        let bn = batchNorm(3, seed: 3)
        let got = depthwiseConv2dBatchNorm(x, weight: w, stride: 1, padding: 1, bnWeight: bn[0], bnBias: bn[1],
                                           runningMean: bn[2], runningVar: bn[3], activation: .relu6)
        let want = unfused(x, w, 1, 1, bn, .relu6)
        assertClose(got, want, rtol: 0, atol: 0, "recording: the same ops")
        // Without the clamp, whose kinks finite differences cannot step over.
        let r = randomTensor(want.shape, seed: 9)
        gradCheck([x, w]) { ins in
            weightedSum(depthwiseConv2dBatchNorm(ins[0], weight: ins[1], stride: 1, padding: 1, bnWeight: bn[0], bnBias: bn[1],
                                                 runningMean: bn[2], runningVar: bn[3]), r)
        }
    }
}
