@testable import Engine
import CKernels
import TestSupport
import XCTest

/// The direct kernels (AVX-512 only) against the column-matrix product of the AVX2 path, on
/// stride-1 "same-width" convs: tiles straddling two images, partial tiles, output-channel
/// counts that are not multiples of the kernels' row blocks, groups, 5×5 and 5×3 kernels.
final class DirectConvTests: XCTestCase {
    /// (x, weight, padding, groups)
    let cases: [([Int], [Int], Int, Int)] = [
        ([3, 4, 7, 7], [16, 4, 3, 3], 1, 1),    // 49-pixel images: most tiles straddle two; 8 + 8 rows
        ([2, 3, 4, 8], [5, 3, 3, 3], 1, 1),     // exactly 32 pixels; 5 output channels
        ([2, 5, 9, 7], [13, 5, 5, 5], 2, 1),    // 5×5, 13 output channels (7 + 6)
        ([2, 3, 9, 6], [6, 3, 5, 3], 1, 1),     // 5×3: 7 output rows of the same width
        ([3, 4, 6, 6], [6, 2, 3, 3], 1, 2),     // groups
        ([2, 31, 8, 5], [1, 31, 3, 3], 1, 1),   // one output channel, K = 279
        ([15, 2, 6, 7], [20, 2, 3, 3], 1, 1),   // weight gradient: image blocks of 13 + 2, a partial
                                                // second vector of output channels
        ([1, 3, 29, 30], [9, 3, 3, 3], 1, 1),   // a large image: many tiles, a partial last one
        ([64, 2, 7, 7], [5, 2, 3, 3], 1, 1),    // enough tiles (on one thread) for the per-offset mask table
        ([8, 1, 28, 28], [3, 1, 3, 3], 1, 1),   // the same with whole-image tiles
    ]

    override func setUpWithError() throws {
        guard pk_simd_level() == 2 else { throw XCTSkip("the direct kernels need AVX-512") }
    }

    /// Runs `body` at the AVX2 level (the column-matrix path), then restores AVX-512.
    func atAVX2<T>(_ body: () -> T) -> T {
        _ = pk_set_simd_level(1)
        defer { _ = pk_set_simd_level(2) }
        return body()
    }

    func withThreads(_ body: (Int) -> Void) {
        let saved = Threads.count
        defer { Threads.count = saved }
        for threads in [1, 2] {
            Threads.count = threads
            body(threads)
        }
    }

    func testForwardMatchesTheColumnMatrixProduct() {
        withThreads { threads in
            for (xs, ws, p, g) in cases {
                let plan = ConvPlan(x: xs, weight: ws, bias: nil, stride: 1, padding: p, groups: g)
                XCTAssertTrue(plan.usesDirectKernel, "\(xs) \(ws)")
                let x = randomTensor(xs, seed: 1), w = randomTensor(ws, seed: 2)
                let weights = DirectConvWeights(w.pointer, groups: g, groupOut: plan.groupOut, columnRows: plan.geometry.columnRows)
                let y = Tensor(repeating: .nan, shape: plan.outputShape)
                plan.directForward(x.pointer, weights, y.pointer)
                let ref = Tensor(repeating: .nan, shape: plan.outputShape)
                atAVX2 { plan.forward(x.pointer, w.pointer, ref.pointer) }
                assertClose(y, ref, rtol: 1e-5, atol: 1e-5, "\(xs) \(ws) padding \(p) groups \(g), \(threads) threads")
            }
        }
    }

    func testWeightGradientMatchesTheColumnMatrixProduct() {
        withThreads { threads in
            for (xs, ws, p, g) in cases where ws[2] == 3 && ws[3] == 3 {
                let plan = ConvPlan(x: xs, weight: ws, bias: nil, stride: 1, padding: p, groups: g)
                let x = randomTensor(xs, seed: 1), gy = randomTensor(plan.outputShape, seed: 3)
                let dw = Tensor(repeating: .nan, shape: ws)
                plan.directWeightGradient(x.pointer, gy.pointer, dw.pointer)
                let ref = Tensor(repeating: .nan, shape: ws)
                atAVX2 { plan.backward(x.pointer, x.pointer, gy.pointer, nil, ref.pointer) }
                assertClose(dw, ref, rtol: 1e-4, atol: 1e-4, "\(xs) \(ws) padding \(p) groups \(g), \(threads) threads")
            }
        }
    }

    /// Inference packs hold the direct layout where the direct kernel may run, and conv2d uses it.
    func testInferencePack() {
        let x = randomTensor([2, 16, 8, 8], seed: 4), w = randomTensor([16, 16, 3, 3], seed: 5)
        let pack = ConvWeightPack(weight: w, groups: 1, stride: 1)!
        XCTAssertNotNil(pack.direct)
        let ref = atAVX2 { conv2d(x, weight: w, padding: 1) }
        assertClose(conv2d(x, weight: w, padding: 1, pack: pack), ref, rtol: 1e-5, atol: 1e-5, "packed")
        XCTAssertNil(ConvWeightPack(weight: randomTensor([128, 128, 3, 3], seed: 1), groups: 1, stride: 1)!.direct,
                     "Winograd always applies")
        XCTAssertNil(ConvWeightPack(weight: randomTensor([8, 16, 1, 1], seed: 1), groups: 1, stride: 1)!.direct)
        XCTAssertNil(ConvWeightPack(weight: w, groups: 1, stride: 2)!.direct)
    }

    /// Where the direct kernels do not apply, conv2d takes the column-matrix path.
    func testQualification() {
        func plan(_ x: [Int], _ w: [Int], stride: Int = 1, padding: Int) -> ConvPlan {
            ConvPlan(x: x, weight: w, bias: nil, stride: stride, padding: padding, groups: 1)
        }
        XCTAssertFalse(plan([2, 3, 5, 6], [4, 3, 3, 3], padding: 1).usesDirectKernel)             // 30 pixels
        XCTAssertFalse(plan([2, 3, 8, 8], [4, 3, 3, 3], stride: 2, padding: 1).usesDirectKernel)  // strided
        XCTAssertFalse(plan([2, 3, 8, 8], [4, 3, 3, 3], padding: 0).usesDirectKernel)             // narrower output
        XCTAssertFalse(plan([2, 3, 8, 8], [4, 3, 1, 1], padding: 0).usesDirectKernel)             // 1×1: a plain GEMM
        XCTAssertFalse(plan([2, 3, 9, 9], [4, 3, 5, 5], padding: 2).usesDirectWeightGradient)
        // Many channels on small images keep the column-matrix product's weight gradient.
        XCTAssertFalse(plan([2, 128, 14, 14], [128, 128, 3, 3], padding: 1).usesDirectWeightGradient)
        XCTAssertTrue(plan([2, 128, 28, 28], [128, 128, 3, 3], padding: 1).usesDirectWeightGradient)
        XCTAssertTrue(plan([2, 64, 56, 56], [64, 64, 3, 3], padding: 1).usesDirectWeightGradient)
        XCTAssertTrue(plan([2, 64, 7, 7], [64, 64, 3, 3], padding: 1).usesDirectWeightGradient)
        XCTAssertTrue(plan([2, 16, 28, 28], [16, 16, 3, 3], padding: 1).usesDirectWeightGradient)
        XCTAssertFalse(atAVX2 { plan([2, 3, 8, 8], [4, 3, 3, 3], padding: 1).usesDirectKernel })
    }
}
