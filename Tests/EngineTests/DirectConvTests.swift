@testable import Engine
import CKernels
import TestSupport
import XCTest

/// The direct kernels at every SIMD level this CPU has them (AVX-512, AVX2) against the
/// column-matrix product of the portable path, on stride-1 "same-width" convs: tiles straddling
/// two images, partial tiles, output-channel counts that are not multiples of the kernels' row
/// blocks, groups, 5×5 and 5×3 kernels.
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
        ([2, 3, 8, 4], [11, 3, 3, 3], 1, 1),    // 11 rows: AVX2 halves of 6 + 5; 32-pixel images
        ([4, 5, 9, 9], [7, 5, 3, 3], 1, 1),     // 7 rows (4 + 3), odd channel count for AVX2's channel pairs
    ]

    /// The levels this CPU has that have direct kernels, highest first.
    var levels: [Int32] = []

    override func setUpWithError() throws {
        levels = (1...2).reversed().filter { $0 <= cpuLevel && pk_conv_direct_available($0) != 0 }
        guard !levels.isEmpty else { throw XCTSkip("no SIMD level with direct kernels on this CPU") }
    }

    /// The CPU's highest SIMD level (whatever PRACTISE_SIMD asked for).
    var cpuLevel: Int32 {
        let saved = pk_simd_level()
        defer { _ = pk_set_simd_level(saved) }
        return pk_set_simd_level(2)
    }

    /// Runs `body` at `level`, then restores the level in force before.
    func at<T>(_ level: Int32, _ body: () -> T) -> T {
        let saved = pk_simd_level()
        _ = pk_set_simd_level(level)
        defer { _ = pk_set_simd_level(saved) }
        return body()
    }

    /// Runs `body` on the portable level (the column-matrix path with the plain-C GEMM).
    func atPortable<T>(_ body: () -> T) -> T { at(0, body) }

    /// Runs `body(level, threads)` at every direct level with 1 and 2 threads.
    func everyLevel(_ body: (Int32, Int) -> Void) {
        for level in levels { at(level) { withThreads { threads in body(level, threads) } } }
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
        everyLevel { level, threads in
            for (xs, ws, p, g) in cases {
                let plan = ConvPlan(x: xs, weight: ws, bias: nil, stride: 1, padding: p, groups: g)
                XCTAssertTrue(plan.usesDirectKernel, "\(xs) \(ws) level \(level)")
                let x = randomTensor(xs, seed: 1), w = randomTensor(ws, seed: 2)
                let weights = DirectConvWeights(w.pointer, groups: g, groupOut: plan.groupOut, columnRows: plan.geometry.columnRows)
                let y = Tensor(repeating: .nan, shape: plan.outputShape)
                plan.directForward(x.pointer, weights, y.pointer)
                let ref = Tensor(repeating: .nan, shape: plan.outputShape)
                atPortable { plan.forward(x.pointer, w.pointer, ref.pointer) }
                assertClose(y, ref, rtol: 1e-5, atol: 1e-5, "\(xs) \(ws) padding \(p) groups \(g), level \(level), \(threads) threads")
            }
        }
    }

    func testWeightGradientMatchesTheColumnMatrixProduct() {
        everyLevel { level, threads in
            for (xs, ws, p, g) in cases where ws[2] == 3 && ws[3] == 3 {
                let plan = ConvPlan(x: xs, weight: ws, bias: nil, stride: 1, padding: p, groups: g)
                let x = randomTensor(xs, seed: 1), gy = randomTensor(plan.outputShape, seed: 3)
                let dw = Tensor(repeating: .nan, shape: ws)
                plan.directWeightGradient(x.pointer, gy.pointer, dw.pointer)
                let ref = Tensor(repeating: .nan, shape: ws)
                atPortable { plan.backward(x.pointer, x.pointer, gy.pointer, nil, ref.pointer) }
                assertClose(dw, ref, rtol: 1e-4, atol: 1e-4, "\(xs) \(ws) padding \(p) groups \(g), level \(level), \(threads) threads")
            }
        }
    }

    /// Inference packs hold the direct layout where the direct kernel may run, and conv2d uses it.
    func testInferencePack() {
        let x = randomTensor([2, 16, 8, 8], seed: 4), w = randomTensor([16, 16, 3, 3], seed: 5)
        let ref = atPortable { conv2d(x, weight: w, padding: 1) }
        for level in levels {
            at(level) {
                let pack = ConvWeightPack(weight: w, groups: 1, stride: 1)!
                XCTAssertNotNil(pack.direct, "level \(level)")
                assertClose(conv2d(x, weight: w, padding: 1, pack: pack), ref, rtol: 1e-5, atol: 1e-5, "packed, level \(level)")
                XCTAssertNil(ConvWeightPack(weight: randomTensor([128, 128, 3, 3], seed: 1), groups: 1, stride: 1)!.direct,
                             "Winograd always applies")
                XCTAssertNil(ConvWeightPack(weight: randomTensor([8, 16, 1, 1], seed: 1), groups: 1, stride: 1)!.direct)
                XCTAssertNil(ConvWeightPack(weight: w, groups: 1, stride: 2)!.direct)
            }
        }
        XCTAssertNil(atPortable { ConvWeightPack(weight: w, groups: 1, stride: 1)!.direct }, "portable")
    }

    /// Gradients of conv2d through the direct kernels (forward, input gradient as a forward conv,
    /// weight gradient) at every level against the portable path.
    func testConv2dGradientsMatchThePortablePath() {
        let x = randomTensor([3, 6, 10, 10], seed: 6), w = randomTensor([10, 6, 3, 3], seed: 7)
        let gy = randomTensor([3, 10, 10, 10], seed: 8)
        func run() -> (Tensor, Tensor, Tensor) {
            let xp = Parameter(x), wp = Parameter(w)
            let y = conv2d(xp.tensor, weight: wp.tensor, padding: 1)
            Autograd.backward(y, seed: gy)
            return (y, xp.grad!, wp.grad!)
        }
        let (yr, dxr, dwr) = atPortable(run)
        everyLevel { level, threads in
            let plan = ConvPlan(x: x.shape, weight: w.shape, bias: nil, stride: 1, padding: 1, groups: 1)
            XCTAssertTrue(plan.usesDirectKernel && plan.usesDirectWeightGradient && plan.inputGradientPlan!.usesDirectKernel)
            let (y, dx, dw) = run()
            let where_ = "level \(level), \(threads) threads"
            assertClose(y, yr, rtol: 1e-5, atol: 1e-5, "forward, \(where_)")
            assertClose(dx, dxr, rtol: 1e-4, atol: 1e-4, "input gradient, \(where_)")
            assertClose(dw, dwr, rtol: 1e-4, atol: 1e-4, "weight gradient, \(where_)")
        }
    }

    /// Where the direct kernels do not apply, conv2d takes the column-matrix path (at the highest
    /// direct level, whatever PRACTISE_SIMD asked for).
    func testQualification() {
        let saved = pk_simd_level()
        _ = pk_set_simd_level(levels[0])
        defer { _ = pk_set_simd_level(saved) }
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
        XCTAssertFalse(atPortable { plan([2, 3, 8, 8], [4, 3, 3, 3], padding: 1).usesDirectKernel })
    }
}
