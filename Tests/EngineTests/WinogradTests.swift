@testable import Engine
import TestSupport
import XCTest

/// Winograd F(2×2, 3×3) forward passes against the column-matrix product, over odd and even
/// sizes, both paddings, tile-row blocks, several images per unit, and 1 or 2 threads.
final class WinogradTests: XCTestCase {
    func testMatchesTheColumnMatrixProduct() {
        // (x, output channels, padding)
        let cases: [([Int], Int, Int)] = [
            ([2, 3, 9, 7], 4, 1),     // odd height and width: clipped last tiles
            ([1, 5, 8, 8], 6, 1),
            ([3, 4, 6, 5], 3, 0),     // valid padding
            ([2, 2, 5, 11], 5, 2),
            ([1, 1, 3, 3], 1, 0),     // a single output pixel
        ]
        let saved = Threads.count
        defer { Threads.count = saved }
        for threads in [1, 2] {
            Threads.count = threads
            for (xs, o, p) in cases {
                let ws = [o, xs[1], 3, 3]
                let plan = ConvPlan(x: xs, weight: ws, bias: nil, stride: 1, padding: p, groups: 1)
                let x = randomTensor(xs, seed: 1), w = randomTensor(ws, seed: 2)
                let want = Tensor(zeros: plan.outputShape)
                plan.forward(x.pointer, w.pointer, want.pointer)
                let weights = WinogradWeights(w.pointer, outChannels: o, inChannels: xs[1])
                // Whole images per unit, one tile row per unit, and one tile per unit (images side by side when small).
                for unitTiles in [nil, (plan.geometry.outWidth + 1) / 2, 1] as [Int?] {
                    let wino = WinogradPlan(plan, minChannels: 0, unitTiles: unitTiles)!
                    let got = Tensor(repeating: .nan, shape: plan.outputShape)
                    wino.forward(x.pointer, weights, got.pointer)
                    assertClose(got, want, rtol: 1e-4, atol: 1e-5,
                                "\(xs) → \(o), padding \(p), unit \(String(describing: unitTiles)), \(threads) threads")
                }
            }
        }
    }

    /// Eligibility: only stride-1 3×3 convs without groups, wide and large enough.
    func testQualifyingConvolutions() {
        func plan(_ w: [Int], side: Int = 14, stride: Int = 1, groups: Int = 1) -> ConvPlan {
            ConvPlan(x: [1, w[1] * groups, side, side], weight: w, bias: nil, stride: stride, padding: 1, groups: groups)
        }
        XCTAssertNotNil(WinogradPlan(plan([64, 64, 3, 3])))
        XCTAssertNotNil(WinogradPlan(plan([128, 128, 3, 3], side: 7)))
        XCTAssertNil(WinogradPlan(plan([64, 64, 3, 3], side: 7)), "64 channels at 7×7")
        XCTAssertNil(WinogradPlan(plan([32, 64, 3, 3])), "too few output channels")
        XCTAssertNil(WinogradPlan(plan([64, 64, 3, 3], stride: 2)))
        XCTAssertNil(WinogradPlan(plan([64, 32, 3, 3], groups: 2)))
        XCTAssertNil(WinogradPlan(plan([64, 64, 5, 5])))
        let saved = ConvAlgorithms.winograd
        defer { ConvAlgorithms.winograd = saved }
        ConvAlgorithms.winograd = false
        XCTAssertNil(WinogradPlan(plan([64, 64, 3, 3])))
    }

    /// conv2d picks Winograd for a qualifying conv, with and without an inference pack, and
    /// its gradients are still those of the convolution.
    func testConv2dForwardAndPackedWeights() {
        let x = randomTensor([2, 64, 14, 14], seed: 4), w = randomTensor([64, 64, 3, 3], seed: 5, scale: 0.1)
        let saved = ConvAlgorithms.winograd
        defer { ConvAlgorithms.winograd = saved }
        ConvAlgorithms.winograd = false
        let direct = conv2d(x, weight: w, padding: 1)
        ConvAlgorithms.winograd = true
        let wino = conv2d(x, weight: w, padding: 1)
        assertClose(wino, direct, rtol: 1e-4, atol: 1e-5, "conv2d")
        let pack = ConvWeightPack(weight: w, groups: 1, stride: 1)!
        XCTAssertNotNil(pack.winograd)
        XCTAssertEqual(pack.matrices.count, 1, "64 channels: small images take the column-matrix path")
        // A CIFAR-sized conv gets plain packed matrices only; 128 channels Winograd only.
        let small = ConvWeightPack(weight: randomTensor([16, 16, 3, 3], seed: 1), groups: 1, stride: 1)!
        XCTAssertNil(small.winograd)
        XCTAssertEqual(small.matrices.count, 1)
        let wide = ConvWeightPack(weight: randomTensor([128, 128, 3, 3], seed: 1), groups: 1, stride: 1)!
        XCTAssertNotNil(wide.winograd)
        XCTAssertTrue(wide.matrices.isEmpty)
        assertClose(conv2d(x, weight: w, padding: 1, pack: pack), direct, rtol: 1e-4, atol: 1e-5, "packed")
        // A changed weight invalidates the pack.
        Vector.scale(w.pointer, 2, count: w.count)
        w.storage.markModified()
        XCTAssertFalse(pack.isValid(for: w))
        Vector.scale(direct.pointer, 2, count: direct.count)
        assertClose(conv2d(x, weight: w, padding: 1, pack: pack), direct, rtol: 1e-4, atol: 1e-5, "after a weight change")
    }

    /// The input gradient of a qualifying conv runs as a Winograd conv of the output gradient
    /// with the flipped, transposed weight: it must equal the column-matrix gradient, for both
    /// paddings (the gradient conv then pads 1 and 2) and unequal channel counts.
    func testInputGradientMatchesTheColumnMatrixGradient() {
        let saved = ConvAlgorithms.winograd
        defer { ConvAlgorithms.winograd = saved }
        for (xs, o, p) in [([2, 64, 14, 14], 64, 1), ([1, 64, 16, 15], 128, 0)] {
            let ws = [o, xs[1], 3, 3]
            let plan = ConvPlan(x: xs, weight: ws, bias: nil, stride: 1, padding: p, groups: 1)
            XCTAssertNotNil(plan.inputGradientPlan.flatMap { WinogradPlan($0) }, "\(xs) qualifies")
            var grads: [[Tensor]] = []
            for on in [false, true] {
                ConvAlgorithms.winograd = on
                let x = Parameter(randomTensor(xs, seed: 6)), w = Parameter(randomTensor(ws, seed: 7, scale: 0.05))
                let gy = randomTensor(plan.outputShape, seed: 8)
                let y = conv2d(x.tensor, weight: w.tensor, padding: p)
                // loss = Σ y·gy, so dL/dy = gy.
                let loss = Autograd.record(Tensor(scalar: 0), inputs: [y]) { _, _ in [gy] }
                loss.backward()
                grads.append([x.grad!, w.grad!])
            }
            assertClose(grads[1][0], grads[0][0], rtol: 1e-4, atol: 1e-4, "input gradient \(xs) → \(o), padding \(p)")
            assertClose(grads[1][1], grads[0][1], rtol: 1e-4, atol: 1e-4, "weight gradient \(xs) → \(o), padding \(p)")
        }
    }

    func testFlippedTransposedKernel() {
        let w = Tensor((0..<(2 * 3 * 9)).map(Float.init), shape: [2, 3, 3, 3])
        let f = flippedTransposedKernel(w)
        XCTAssertEqual(f.shape, [3, 2, 3, 3])
        for o in 0..<2 { for c in 0..<3 { for t in 0..<9 {
            XCTAssertEqual(f.pointer[(c * 2 + o) * 9 + 8 - t], w.pointer[(o * 3 + c) * 9 + t])
        } } }
    }
}
