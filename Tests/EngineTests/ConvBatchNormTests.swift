@testable import Engine
import CKernels
import TestSupport
import XCTest

/// The conv written once with its eval batch norm, residual and activation against the ops it
/// replaces, on every conv path, at every SIMD level this CPU has and on 1 and 2 threads.
final class ConvBatchNormTests: XCTestCase {
    struct Case {
        let x: [Int], out: Int, kernel: Int, stride: Int, padding: Int, groups: Int, bias: Bool
        let path: String
    }
    /// One case per path of ``gemmForward(_:_:_:_:pack:epilogue:)``: 1×1 convs image by image in
    /// place and batched side by side; the column-matrix product for one image, for several
    /// images side by side and in row blocks of a large image; Winograd; the direct conv; grouped
    /// and depthwise convs (with a residual, the epilogue after the depthwise kernel).
    let cases: [Case] = [
        Case(x: [3, 24, 12, 12], out: 40, kernel: 1, stride: 1, padding: 0, groups: 1, bias: false, path: "1×1 per image"),
        Case(x: [5, 16, 7, 7], out: 24, kernel: 1, stride: 1, padding: 0, groups: 1, bias: true, path: "1×1 batched"),
        Case(x: [1, 3, 17, 17], out: 20, kernel: 3, stride: 2, padding: 1, groups: 1, bias: false, path: "column matrix, one image"),
        Case(x: [6, 8, 9, 9], out: 13, kernel: 3, stride: 2, padding: 1, groups: 1, bias: true, path: "column matrix, images side by side"),
        Case(x: [1, 16, 120, 120], out: 8, kernel: 3, stride: 2, padding: 1, groups: 1, bias: false, path: "column matrix, row blocks"),
        Case(x: [2, 64, 10, 10], out: 64, kernel: 3, stride: 1, padding: 1, groups: 1, bias: false, path: "Winograd"),
        Case(x: [2, 16, 10, 10], out: 24, kernel: 3, stride: 1, padding: 1, groups: 1, bias: true, path: "direct (AVX) or column matrix"),
        Case(x: [2, 12, 8, 8], out: 18, kernel: 3, stride: 1, padding: 1, groups: 3, bias: false, path: "grouped"),
        Case(x: [2, 10, 9, 9], out: 10, kernel: 3, stride: 1, padding: 1, groups: 10, bias: false, path: "depthwise"),
    ]

    func batchNorm(_ c: Int, seed: UInt64) -> [Tensor] {
        let variance = randomTensor([c], seed: seed + 3)
        for i in 0..<c { variance.pointer[i] = abs(variance.pointer[i]) + 0.1 }
        return [randomTensor([c], seed: seed), randomTensor([c], seed: seed + 1), randomTensor([c], seed: seed + 2), variance]
    }

    func unfused(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ c: Case, _ bn: [Tensor], _ act: BatchNormActivation, _ r: Tensor?) -> Tensor {
        let h = conv2d(x, weight: w, bias: b, stride: c.stride, padding: c.padding, groups: c.groups)
        let y = batchNorm2d(h, weight: bn[0], bias: bn[1], runningMean: bn[2], runningVar: bn[3], training: false)
        let s = r.map { add(y, $0) } ?? y
        switch act {
        case .none: return s
        case .relu: return relu(s)
        case .relu6: return relu6(s)
        }
    }

    func testFusedMatchesTheSeparateOpsOnEveryPath() {
        forEachSIMDLevelAndThreadCount { label in
            for (i, c) in cases.enumerated() {
                let seed = UInt64(100 + 10 * i)
                let x = randomTensor(c.x, seed: seed, scale: 3)
                let w = randomTensor([c.out, c.x[1] / c.groups, c.kernel, c.kernel], seed: seed + 1)
                let b = c.bias ? randomTensor([c.out], seed: seed + 2) : nil
                let bn = batchNorm(c.out, seed: seed + 3)
                let outShape = ConvPlan(x: c.x, weight: w.shape, bias: nil, stride: c.stride, padding: c.padding, groups: c.groups).outputShape
                let r = randomTensor(outShape, seed: seed + 8)
                for act in [BatchNormActivation.none, .relu, .relu6] {
                    for residual in [nil, r] {
                        let (want, got) = Autograd.noGrad {
                            (unfused(x, w, b, c, bn, act, residual),
                             conv2dBatchNorm(x, weight: w, bias: b, stride: c.stride, padding: c.padding, groups: c.groups,
                                             bnWeight: bn[0], bnBias: bn[1], runningMean: bn[2], runningVar: bn[3],
                                             activation: act, residual: residual))
                        }
                        assertClose(got, want, rtol: 1e-5, atol: 1e-5,
                                    "\(label), \(c.path) \(c.x) → \(c.out), \(act), residual \(residual != nil)")
                    }
                }
            }
        }
    }

    /// With the weight packed for inference (``ConvWeightPack``), and after the weight changed
    /// (the stale pack is not used).
    func testWithAnInferencePack() {
        for c in [cases[0], cases[3], cases[5], cases[6]] {
            let x = randomTensor(c.x, seed: 7), w = randomTensor([c.out, c.x[1], c.kernel, c.kernel], seed: 8)
            let bn = batchNorm(c.out, seed: 9)
            let pack = ConvWeightPack(weight: w, groups: 1, stride: c.stride)
            func fused() -> Tensor {
                Autograd.noGrad {
                    conv2dBatchNorm(x, weight: w, stride: c.stride, padding: c.padding, pack: pack, bnWeight: bn[0], bnBias: bn[1],
                                    runningMean: bn[2], runningVar: bn[3], activation: .relu)
                }
            }
            assertClose(fused(), Autograd.noGrad { unfused(x, w, nil, c, bn, .relu, nil) }, rtol: 1e-5, atol: 1e-5, "\(c.path), packed")
            w.pointer[0] += 1
            w.storage.markModified()
            assertClose(fused(), Autograd.noGrad { unfused(x, w, nil, c, bn, .relu, nil) }, rtol: 1e-5, atol: 1e-5, "\(c.path), stale pack")
        }
    }

    func testWhileRecordingItIsTheSeparateOpsWithTheirGradients() {
        let c = cases[6]
        let x = randomTensor([2, 16, 5, 5], seed: 1), w = randomTensor([24, 16, 3, 3], seed: 2), b = randomTensor([24], seed: 3)
        let bn = batchNorm(24, seed: 4), r = randomTensor([2, 24, 5, 5], seed: 5)
        let got = conv2dBatchNorm(x, weight: w, bias: b, stride: 1, padding: 1, bnWeight: bn[0], bnBias: bn[1],
                                  runningMean: bn[2], runningVar: bn[3], activation: .relu, residual: r)
        assertClose(got, unfused(x, w, b, c, bn, .relu, r), rtol: 0, atol: 0, "recording: the same ops")
        let g = randomTensor([2, 24, 5, 5], seed: 9)
        gradCheck([x, w, r]) { ins in
            weightedSum(conv2dBatchNorm(ins[0], weight: ins[1], bias: b, stride: 1, padding: 1, bnWeight: bn[0], bnBias: bn[1],
                                        runningMean: bn[2], runningVar: bn[3], residual: ins[2]), g)
        }
    }
}
