@testable import Engine
import CKernels
import TestSupport
import XCTest

/// An inverted residual's expansion and depthwise convs computed a group of channels at a time
/// (`expandDepthwiseBatchNorm`) against the two fused conv + batch norm passes it replaces, bit
/// for bit, at every SIMD level this CPU has and on 1 and 2 threads.
final class ExpandDepthwiseTests: XCTestCase {
    /// (x, expanded channels, kernel, stride, padding, bias): MobileNetV2's stride 1 and 2,
    /// channel counts that are not a multiple of the weight's row panel, an odd rectangle, planes
    /// wide enough for one-panel groups, a 5×5 kernel, planes narrower than the kernel and a
    /// single pixel, a bias on both convs.
    let cases: [([Int], Int, Int, Int, Int, Bool)] = [
        ([2, 4, 14, 14], 24, 3, 1, 1, false), ([3, 6, 15, 15], 20, 3, 2, 1, false), ([1, 5, 9, 13], 37, 3, 1, 1, true),
        ([1, 8, 112, 112], 48, 3, 2, 1, false), ([2, 3, 11, 10], 16, 5, 1, 2, true),
        ([1, 3, 4, 3], 12, 5, 1, 2, false), ([2, 2, 1, 1], 6, 3, 1, 1, true), ([1, 4, 56, 56], 24, 3, 1, 1, false),
    ]

    private func batchNorm(_ c: Int, seed: UInt64) -> EvalBatchNorm {
        let variance = randomTensor([c], seed: seed + 3)
        for i in 0..<c { variance.pointer[i] = abs(variance.pointer[i]) + 0.1 }
        return EvalBatchNorm(weight: randomTensor([c], seed: seed), bias: randomTensor([c], seed: seed + 1),
                             runningMean: randomTensor([c], seed: seed + 2), runningVar: variance, eps: 1e-5)
    }

    func testGroupedEqualsTheTwoConvPasses() throws {
        forEachSIMDLevelAndThreadCount { label in
            for (i, (xs, e, k, s, p, withBias)) in cases.enumerated() {
                let c = xs[1], seed = UInt64(100 + 10 * i)
                // Scaled so that ReLU6 clamps at both ends.
                let x = randomTensor(xs, seed: seed, scale: 3)
                let we = randomTensor([e, c, 1, 1], seed: seed + 1), wd = randomTensor([e, 1, k, k], seed: seed + 2)
                let be = withBias ? randomTensor([e], seed: seed + 3) : nil, bd = withBias ? randomTensor([e], seed: seed + 4) : nil
                let n1 = batchNorm(e, seed: seed + 5), n2 = batchNorm(e, seed: seed + 9)
                let pack = ConvWeightPack(weight: we, groups: 1, stride: 1)
                for (a1, a2) in [(BatchNormActivation.relu6, BatchNormActivation.relu6), (.relu, .none)] {
                    let (want, got) = Autograd.noGrad {
                        let h = conv2dBatchNorm(x, weight: we, bias: be, pack: pack, bnWeight: n1.weight, bnBias: n1.bias,
                                                runningMean: n1.runningMean, runningVar: n1.runningVar, activation: a1)
                        let want = conv2dBatchNorm(h, weight: wd, bias: bd, stride: s, padding: p, groups: e, bnWeight: n2.weight,
                                                   bnBias: n2.bias, runningMean: n2.runningMean, runningVar: n2.runningVar, activation: a2)
                        let got = expandDepthwiseBatchNorm(x, expandWeight: we, expandBias: be, expandPack: pack, expandNorm: n1,
                                                           expandActivation: a1, depthwiseWeight: wd, depthwiseBias: bd, stride: s,
                                                           padding: p, depthwiseNorm: n2, depthwiseActivation: a2)
                        return (want, got)
                    }
                    let where_ = "\(label), \(xs) → \(e), \(k)×\(k) stride \(s), \(a1)/\(a2)"
                    guard let got else { XCTFail("\(where_): not computed"); continue }
                    XCTAssertEqual(got.shape, want.shape, where_)
                    XCTAssertEqual(got.array, want.array, where_)
                }
            }
        }
    }

    /// NaN in one input pixel reaches exactly the outputs whose windows read it (through the
    /// expansion, which mixes channels, the depthwise window of the pixel), and no others.
    func testNaNStaysInItsWindows() throws {
        let x = randomTensor([1, 4, 8, 8], seed: 1)
        x.pointer[2 * 64 + 3 * 8 + 5] = .nan  // channel 2, row 3, column 5
        let we = randomTensor([12, 4, 1, 1], seed: 2), wd = randomTensor([12, 1, 3, 3], seed: 3)
        let n = batchNorm(12, seed: 4)
        let y = try XCTUnwrap(Autograd.noGrad {
            expandDepthwiseBatchNorm(x, expandWeight: we, expandBias: nil, expandPack: ConvWeightPack(weight: we, groups: 1, stride: 1),
                                     expandNorm: n, expandActivation: .none, depthwiseWeight: wd, depthwiseBias: nil, stride: 1,
                                     padding: 1, depthwiseNorm: n, depthwiseActivation: .none)
        })
        for ch in 0..<12 {
            for r in 0..<8 {
                for col in 0..<8 {
                    let inWindow = abs(r - 3) <= 1 && abs(col - 5) <= 1
                    XCTAssertEqual(y.pointer[(ch * 8 + r) * 8 + col].isNaN, inWindow, "channel \(ch) (\(r), \(col))")
                }
            }
        }
    }

    /// Where the fused form does not apply it says so (nil) instead of computing something else:
    /// an expansion that is not 1×1, a stale pack, no pack, autograd recording.
    func testRefusesWhatItDoesNotCompute() {
        let x = randomTensor([1, 4, 6, 6], seed: 5)
        let we = randomTensor([8, 4, 1, 1], seed: 6), wd = randomTensor([8, 1, 3, 3], seed: 7)
        let n = batchNorm(8, seed: 8)
        func run(_ w: Tensor, _ pack: ConvWeightPack?) -> Tensor? {
            expandDepthwiseBatchNorm(x, expandWeight: w, expandBias: nil, expandPack: pack, expandNorm: n, expandActivation: .relu6,
                                     depthwiseWeight: wd, depthwiseBias: nil, stride: 1, padding: 1, depthwiseNorm: n,
                                     depthwiseActivation: .relu6)
        }
        let w3 = randomTensor([8, 4, 3, 3], seed: 9)
        Autograd.noGrad {
            XCTAssertNotNil(run(we, ConvWeightPack(weight: we, groups: 1, stride: 1)))
            XCTAssertNil(run(w3, ConvWeightPack(weight: w3, groups: 1, stride: 1)), "3×3 expansion")
            XCTAssertNil(run(we, nil), "no pack")
            let stale = ConvWeightPack(weight: we, groups: 1, stride: 1)
            we.storage.markModified()
            XCTAssertNil(run(we, stale), "stale pack")
        }
        XCTAssertNil(run(we, ConvWeightPack(weight: we, groups: 1, stride: 1)), "recording")
    }

    func testGroupRows() {
        // 256 KiB of planes, a multiple of the row panel, at most a quarter of the channels.
        XCTAssertEqual(expandGroupRows(channels: 96, plane: 112 * 112, rowUnit: 12), 12)
        XCTAssertEqual(expandGroupRows(channels: 144, plane: 56 * 56, rowUnit: 12), 12)
        XCTAssertEqual(expandGroupRows(channels: 192, plane: 28 * 28, rowUnit: 12), 48)
        XCTAssertEqual(expandGroupRows(channels: 960, plane: 7 * 7, rowUnit: 12), 240)
        XCTAssertEqual(expandGroupRows(channels: 20, plane: 49, rowUnit: 6), 6)
    }
}
