@testable import Engine
import CKernels
import TestSupport
import XCTest

/// The work split of conv2d: cutting large images into blocks of output rows must not change
/// the forward output or either gradient.
final class ConvPlanTests: XCTestCase {
    /// Runs `plan` forward and backward on fixed random data; returns (y, dx, dw).
    func run(_ plan: ConvPlan, x: Tensor, w: Tensor, gy: Tensor) -> (Tensor, Tensor, Tensor) {
        // dx and dw start as garbage: backward overwrites them.
        let y = Tensor(zeros: plan.outputShape), dx = Tensor(repeating: .nan, shape: x.shape), dw = Tensor(repeating: .nan, shape: w.shape)
        plan.forward(x.pointer, w.pointer, y.pointer)
        plan.backward(x.pointer, w.pointer, gy.pointer, dx.pointer, dw.pointer)
        return (y, dx, dw)
    }

    func testRowBlocksGiveTheSameResultsAsWholeImages() {
        // (x, weight, stride, padding, groups)
        let cases: [([Int], [Int], Int, Int, Int)] = [
            ([2, 3, 9, 7], [4, 3, 3, 3], 1, 1, 1),   // "same" 3×3: shifted-plane path (9 rows: 2+2+2+2+1)
            ([1, 2, 11, 8], [3, 2, 3, 3], 2, 1, 1),  // strided
            ([2, 4, 8, 8], [6, 2, 5, 5], 1, 2, 2),   // grouped, larger kernel
            ([3, 2, 6, 6], [2, 2, 3, 3], 1, 0, 1),   // valid padding
        ]
        let saved = Threads.count
        defer { Threads.count = saved }
        for threads in [1, 2] {
            Threads.count = threads
            for (xs, ws, s, p, g) in cases {
                let whole = ConvPlan(x: xs, weight: ws, bias: nil, stride: s, padding: p, groups: g)
                XCTAssertEqual(whole.rowsPerBlock, whole.geometry.outHeight)
                let x = randomTensor(xs, seed: 1), w = randomTensor(ws, seed: 2)
                let gy = randomTensor(whole.outputShape, seed: 3)
                let (y0, dx0, dw0) = run(whole, x: x, w: w, gy: gy)
                // The weight gradient alone (several images per chunk: per-image products).
                let dwOnly = Tensor(repeating: .nan, shape: ws)
                whole.backward(x.pointer, w.pointer, gy.pointer, nil, dwOnly.pointer)
                assertClose(dwOnly, dw0, rtol: 1e-5, atol: 1e-5, "weight gradient without dx, \(xs) \(ws)")
                // One-row blocks, and two-row blocks whose last block is shorter.
                let twoRows = whole.geometry.columnRows * whole.geometry.outWidth * 2
                for (budget, rows) in [(1, 1), (twoRows, 2)] {
                    let blocked = ConvPlan(x: xs, weight: ws, bias: nil, stride: s, padding: p, groups: g,
                                           columnBudget: budget, minBlockColumns: 1)
                    XCTAssertEqual(blocked.rowsPerBlock, rows, "\(xs) \(ws)")
                    XCTAssertEqual(blocked.imagesPerChunk, 1)
                    let (y1, dx1, dw1) = run(blocked, x: x, w: w, gy: gy)
                    let what = "\(xs) \(ws) stride \(s) padding \(p) groups \(g), \(rows)-row blocks, \(threads) threads"
                    assertClose(y1, y0, rtol: 1e-5, atol: 1e-5, "forward, \(what)")
                    assertClose(dx1, dx0, rtol: 1e-5, atol: 1e-5, "input gradient, \(what)")
                    assertClose(dw1, dw0, rtol: 1e-5, atol: 1e-5, "weight gradient, \(what)")
                }
            }
        }
    }

    /// 1×1 stride-1 convs on images of at least `pointwiseMinimumColumns` pixels multiply image by
    /// image in place; against the batched path (images side by side in a copied column matrix,
    /// products copied out), with prepacked and unpacked weights, groups and 1 and 2 threads.
    func testPointwisePerImageMatchesTheBatchedPath() {
        // (x, weight, groups)
        let cases: [([Int], [Int], Int)] = [
            ([5, 24, 14, 14], [40, 24, 1, 1], 1),   // MobileNetV2-like 14×14
            ([3, 8, 9, 15], [13, 8, 1, 1], 1),      // odd plane (135), 13 outputs
            ([4, 6, 12, 12], [10, 3, 1, 1], 2),     // groups
        ]
        let saved = Threads.count
        defer { Threads.count = saved }
        for threads in [1, 2] {
            Threads.count = threads
            for (xs, ws, g) in cases {
                let perImage = ConvPlan(x: xs, weight: ws, bias: nil, stride: 1, padding: 0, groups: g)
                let batched = ConvPlan(x: xs, weight: ws, bias: nil, stride: 1, padding: 0, groups: g,
                                       pointwiseMinimumColumns: .max)
                XCTAssertGreaterThan(batched.imagesPerChunk, 1, "the reference batches images")
                XCTAssertTrue(perImage.usesPointwisePerImage)
                XCTAssertFalse(batched.usesPointwisePerImage)
                let x = randomTensor(xs, seed: 4), w = randomTensor(ws, seed: 5)
                let want = Tensor(zeros: batched.outputShape)
                batched.forward(x.pointer, w.pointer, want.pointer)
                let og = ws[0] / g, k = ws[1]
                let packed = (0..<g).map { PackedMatrix(m: og, k: k, a: w.pointer + $0 * og * k, lda: k) }
                for prepacked in [nil, packed] {
                    let y = Tensor(repeating: .nan, shape: perImage.outputShape)
                    perImage.forward(x.pointer, w.pointer, y.pointer, prepacked: prepacked)
                    assertClose(y, want, rtol: 1e-6, atol: 1e-6, "\(xs) \(ws) groups \(g), \(threads) threads, packed \(prepacked != nil)")
                }
            }
        }
    }

    /// The default split only cuts images whose column matrix is well beyond L2, into blocks of
    /// at least 256 columns: ResNet-34's first stage at 224, not ResNet-56's 28×28 images.
    func testDefaultSplitCutsOnlyLargeColumnMatrices() {
        let stage1 = ConvPlan(x: [16, 64, 56, 56], weight: [64, 64, 3, 3], bias: nil, stride: 1, padding: 1, groups: 1)
        XCTAssertLessThan(stage1.rowsPerBlock, 56)
        XCTAssertGreaterThanOrEqual(stage1.rowsPerBlock * 56, 256)
        XCTAssertLessThanOrEqual(stage1.geometry.columnRows * stage1.rowsPerBlock * 56, 196_608)
        let cifar = ConvPlan(x: [64, 16, 28, 28], weight: [16, 16, 3, 3], bias: nil, stride: 1, padding: 1, groups: 1)
        XCTAssertEqual(cifar.rowsPerBlock, 28)
        let pointwise = ConvPlan(x: [1, 256, 56, 56], weight: [64, 256, 1, 1], bias: nil, stride: 1, padding: 0, groups: 1)
        XCTAssertEqual(pointwise.rowsPerBlock, 56)
        // MobileNetV2 at batch 64: 14×14 1×1 convs run image by image, 7×7 ones stay batched.
        XCTAssertTrue(ConvPlan(x: [64, 576, 14, 14], weight: [96, 576, 1, 1], bias: nil, stride: 1, padding: 0, groups: 1).usesPointwisePerImage)
        XCTAssertFalse(ConvPlan(x: [64, 960, 7, 7], weight: [160, 960, 1, 1], bias: nil, stride: 1, padding: 0, groups: 1).usesPointwisePerImage)
    }
}
