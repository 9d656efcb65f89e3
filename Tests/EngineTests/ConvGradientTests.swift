import CKernels
import Engine
import TestSupport
import XCTest

/// Finite-difference checks of conv2d's backward pass in every configuration the models use.
final class ConvGradientTests: XCTestCase {
    func check(x: [Int], w: [Int], bias: Bool, stride: Int, padding: Int, groups: Int, threads: Int = 1) {
        let saved = Threads.count
        Threads.count = threads
        defer { Threads.count = saved }
        var inputs = [randomTensor(x, seed: 1), randomTensor(w, seed: 2, scale: 0.5)]
        if bias { inputs.append(randomTensor([w[0]], seed: 3)) }
        gradCheck(inputs) { t in
            conv2d(t[0], weight: t[1], bias: bias ? t[2] : nil, stride: stride, padding: padding, groups: groups)
        }
    }

    func testPlain3x3Padded() { check(x: [2, 3, 6, 5], w: [4, 3, 3, 3], bias: true, stride: 1, padding: 1, groups: 1) }
    func testStrided() { check(x: [2, 3, 7, 7], w: [4, 3, 3, 3], bias: false, stride: 2, padding: 1, groups: 1) }
    func testPointwise() { check(x: [2, 5, 4, 4], w: [3, 5, 1, 1], bias: true, stride: 1, padding: 0, groups: 1) }
    func testPointwiseStrided() { check(x: [2, 4, 5, 5], w: [6, 4, 1, 1], bias: false, stride: 2, padding: 0, groups: 1) }
    func testDepthwise() { check(x: [2, 4, 6, 6], w: [4, 1, 3, 3], bias: false, stride: 1, padding: 1, groups: 4) }
    func testDepthwiseLargerThan7x7() { check(x: [2, 2, 11, 10], w: [2, 1, 9, 9], bias: true, stride: 2, padding: 4, groups: 2) }
    func testDepthwiseStrided() { check(x: [2, 4, 7, 7], w: [4, 1, 3, 3], bias: true, stride: 2, padding: 1, groups: 4) }
    func testGrouped() { check(x: [2, 4, 5, 5], w: [6, 2, 3, 3], bias: true, stride: 1, padding: 1, groups: 2) }
    // Stride-1 input gradients run as a conv with padding kernel − 1 − padding: 4 here, and 0 below.
    func testUnpadded5x5() { check(x: [2, 3, 8, 7], w: [4, 3, 5, 5], bias: false, stride: 1, padding: 0, groups: 1) }
    func testOverPadded3x3() { check(x: [1, 2, 5, 6], w: [3, 2, 3, 3], bias: false, stride: 1, padding: 2, groups: 1) }
    func testLargeKernel() { check(x: [1, 2, 9, 9], w: [3, 2, 7, 7], bias: false, stride: 2, padding: 3, groups: 1) }
    // Direct kernels on AVX-512 and AVX2 (≥ 32 output pixels per image, tiles straddling images): forward,
    // input gradient (a 3×3 conv of gy) and the 3×3 weight gradient.
    func testDirect3x3() { check(x: [3, 3, 6, 7], w: [5, 3, 3, 3], bias: true, stride: 1, padding: 1, groups: 1) }
    func testDirect3x3MultiThreaded() { check(x: [4, 2, 6, 7], w: [4, 2, 3, 3], bias: false, stride: 1, padding: 1, groups: 1, threads: 2) }
    func testDirectTallKernel() { check(x: [2, 2, 9, 6], w: [3, 2, 5, 3], bias: false, stride: 1, padding: 1, groups: 1) }
    func testMultiThreadedBatchOfChunks() { check(x: [5, 3, 4, 4], w: [4, 3, 3, 3], bias: true, stride: 1, padding: 1, groups: 1, threads: 2) }

    /// Compares the GEMM path against a direct loop on a case with batched small images.
    func testForwardMatchesDirectLoop() {
        let x = randomTensor([3, 2, 5, 4], seed: 4), w = randomTensor([3, 2, 3, 3], seed: 5)
        let y = conv2d(x, weight: w, stride: 2, padding: 1)
        XCTAssertEqual(y.shape, [3, 3, 3, 2])
        let ref = Tensor(zeros: y.shape)
        for n in 0..<3 { for o in 0..<3 { for r in 0..<3 { for q in 0..<2 {
            var acc: Float = 0
            for c in 0..<2 { for i in 0..<3 { for j in 0..<3 {
                let iy = r * 2 - 1 + i, ix = q * 2 - 1 + j
                if iy >= 0 && iy < 5 && ix >= 0 && ix < 4 {
                    acc += x.pointer[((n * 2 + c) * 5 + iy) * 4 + ix] * w.pointer[((o * 2 + c) * 3 + i) * 3 + j]
                }
            } } }
            ref.pointer[((n * 3 + o) * 3 + r) * 2 + q] = acc
        } } } }
        assertClose(y, ref, rtol: 1e-5, atol: 1e-5, "conv forward")
    }

    /// The depthwise kernels (in place at strides 1 and 2 on x86, else a zero-bordered scratch
    /// split by column phase) against a direct loop: strides 1–3, paddings 0–3, square and oblong kernels, rows shorter
    /// and longer than a block; at every SIMD level and on 1 and 2 threads.
    func testDepthwiseForwardMatchesDirectLoop() {
        forEachSIMDLevelAndThreadCount { label in
            checkDepthwiseForward(label)
        }
    }

    func checkDepthwiseForward(_ setting: String) {
        // (x [N, C, H, W], kernel (kH, kW), stride, padding)
        let cases: [([Int], (Int, Int), Int, Int)] = [
            ([2, 3, 7, 9], (3, 3), 1, 1), ([1, 2, 9, 70], (3, 3), 2, 1), ([2, 2, 8, 131], (3, 3), 1, 1),
            ([1, 3, 11, 10], (5, 5), 2, 2), ([1, 2, 6, 7], (3, 5), 3, 0), ([1, 1, 5, 5], (3, 3), 1, 3),
            // Many planes per thread through one scratch (zeroed once): its padding must stay zero.
            ([4, 6, 9, 9], (3, 3), 2, 1), ([3, 7, 6, 5], (3, 3), 1, 1),
            // Strided copies into the phases at their edges: a one-column image, no padding,
            // padding wider than the stride, an even kernel.
            ([1, 2, 5, 1], (1, 1), 2, 0), ([1, 2, 6, 3], (3, 3), 3, 2), ([1, 1, 8, 8], (2, 2), 2, 0), ([2, 3, 5, 4], (3, 3), 2, 3),
            // Kernels larger than the depthwise kernels take (7×7): the grouped GEMM path.
            ([1, 2, 12, 11], (9, 9), 1, 4), ([2, 3, 13, 10], (9, 9), 2, 4),
        ]
        for (xs, (kh, kw), s, p) in cases {
            let c = xs[1], h = xs[2], w = xs[3]
            let x = randomTensor(xs, seed: 6), wt = randomTensor([c, 1, kh, kw], seed: 7)
            let y = conv2d(x, weight: wt, stride: s, padding: p, groups: c)
            let oh = (h + 2 * p - kh) / s + 1, ow = (w + 2 * p - kw) / s + 1
            XCTAssertEqual(y.shape, [xs[0], c, oh, ow])
            let ref = Tensor(zeros: y.shape)
            for plane in 0..<(xs[0] * c) { for r in 0..<oh { for q in 0..<ow {
                var acc: Float = 0
                for i in 0..<kh { for j in 0..<kw {
                    let iy = r * s - p + i, ix = q * s - p + j
                    if iy >= 0 && iy < h && ix >= 0 && ix < w {
                        acc += x.pointer[(plane * h + iy) * w + ix] * wt.pointer[((plane % c) * kh + i) * kw + j]
                    }
                } }
                ref.pointer[(plane * oh + r) * ow + q] = acc
            } } }
            assertClose(y, ref, rtol: 1e-5, atol: 1e-5, "depthwise \(xs) kernel \(kh)×\(kw) stride \(s) padding \(p), \(setting)")
        }
    }
}
