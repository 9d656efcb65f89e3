import CKernels
import Foundation

/// Which algorithms `conv2d` may use (switches for tests and benchmarks).
public enum ConvAlgorithms {
    /// Stride-1 3×3 convolutions (forward and input gradient) by Winograd F(2×2, 3×3): on
    /// unless the environment sets `PRACTISE_WINOGRAD=0`. Results differ from the direct product
    /// by rounding only (about 1e-6 relative).
    nonisolated(unsafe) public static var winograd: Bool = {
        guard let v = getenv("PRACTISE_WINOGRAD") else { return true }
        return String(cString: v) != "0"
    }()
    /// The direct kernels for stride-1 same-width convs on AVX-512 and AVX2 (``ConvPlan/usesDirectKernel``):
    /// on unless the environment sets `PRACTISE_DIRECT=0`.
    nonisolated(unsafe) public static var direct: Bool = {
        guard let v = getenv("PRACTISE_DIRECT") else { return true }
        return String(cString: v) != "0"
    }()
}

/// Floats from one to the next of 16 matrices of `floats` each (the transformed weights, inputs
/// or products of the 16 positions ξ): a cache line past a multiple of 4 KiB, so the 16 streams
/// a transform writes fall in 16 different cache sets. A multiple of 4 KiB apart (ResNet-34's 64
/// channels × 112 tiles, 128 × 56, 512 × 16) they all map to one set of the L1 cache, and loads
/// wait on unrelated stores (4 KiB aliasing).
func winogradMatrixStride(_ floats: Int) -> Int { (floats + 1023) / 1024 * 1024 + 16 }

/// Winograd-transformed weights of a 3×3 conv, packed for the GEMM kernels: for each of the 16
/// positions ξ of a transformed 4×4 tile, `U_ξ` `[O, C]`.
final class WinogradWeights: @unchecked Sendable {
    let outChannels: Int, inChannels: Int
    let packed: [PackedMatrix]

    /// Transforms `w` `[O, C, 3, 3]` and packs the 16 matrices, split across threads. Only the
    /// packed copies are kept (16/9 of the weight's size).
    init(_ w: UnsafePointer<Float>, outChannels o: Int, inChannels c: Int) {
        outChannels = o; inChannels = c
        // u[ξ·stride + c·O + o]: each U_ξ stored [C, O], packed as op(A) = U_ξ with transA.
        let stride = winogradMatrixStride(o * c)
        let u = UnsafeMutablePointer<Float>.allocate(capacity: 16 * stride)
        defer { u.deallocate() }
        Parallel.chunks(c, minChunk: 8) { r in pk_winograd_weight(w, o, c, r.lowerBound, r.upperBound, u, stride) }
        let slots = UnsafeMutablePointer<PackedMatrix?>.allocate(capacity: 16)
        slots.initialize(repeating: nil, count: 16)
        defer { slots.deinitialize(count: 16); slots.deallocate() }
        Parallel.forEach(16) { xi in slots[xi] = PackedMatrix(transA: true, m: o, k: c, a: u + xi * stride, lda: o) }
        packed = (0..<16).map { slots[$0]! }
    }
}

/// The forward pass of a stride-1 3×3 convolution (groups 1) by Winograd F(2×2, 3×3): 2×2
/// output tiles, 16 products `M_ξ[O, tiles] = U_ξ[O, C] · V_ξ[C, tiles]` on the GEMM kernels,
/// 2.25× fewer multiplies than the column-matrix product. The work is cut into units of tiles
/// (several small images side by side, or blocks of tile rows of a large one) whose transformed
/// input and products stay about L2-sized. `conv2d` also runs the input gradient of a qualifying
/// conv through it (a conv of the output gradient with the flipped, transposed weight); weight
/// gradients use ``ConvPlan``.
struct WinogradPlan {
    /// Fewest input and output channels for which Winograd measured faster (see `init`).
    static let minimumChannels = 64
    let plan: ConvPlan
    let shape: pk_conv_shape
    let tilesPerRow: Int, tileRows: Int
    /// Images side by side in one unit, and blocks of tile rows an image is cut into (one of the
    /// two is 1); block b holds tile rows ``tileRows(ofBlock:)``.
    let imagesPerUnit: Int, blocksPerImage: Int

    /// Nil when the convolution does not qualify: kernel, stride, groups or padding, or too
    /// small to gain. Measured on this machine (2 threads), Winograd loses where the products are
    /// thin and the tile rows short: CIFAR ResNet shapes (16–64 channels at 28–7 pixels, batch
    /// 64) ran 1.1–1.7× slower, while 64 channels at 56×56 and 128–512 channels at 28–7 pixels
    /// ran 1.2–1.7× faster. So it needs `minChannels` (64) input and output channels, and a
    /// 14-pixel output width below 128 channels. `unitTiles` overrides the tiles per unit (tests).
    init?(_ plan: ConvPlan, minChannels: Int = WinogradPlan.minimumChannels, unitTiles: Int? = nil) {
        let channels = min(plan.inChannels, plan.outChannels)
        guard ConvAlgorithms.winograd, plan.groups == 1, channels >= minChannels,
              channels >= 2 * minChannels || plan.geometry.outWidth >= 14 else { return nil }
        var shape = plan.geometry.kernelShape
        guard pk_winograd_supports(&shape) != 0 else { return nil }
        self.plan = plan; self.shape = shape
        tilesPerRow = (plan.geometry.outWidth + 1) / 2
        tileRows = (plan.geometry.outHeight + 1) / 2
        // Tiles per unit: transformed input and products (16·(C + O) floats a tile) near 1 MB.
        let target = unitTiles ?? max(64, (1 << 18) / (16 * (plan.inChannels + plan.outChannels)))
        let perImage = tilesPerRow * tileRows
        if perImage >= target {
            let rows = max(1, target / tilesPerRow)
            var blocks = (tileRows + rows - 1) / rows
            // Units are shared out among the threads in whole runs: a block count that is a
            // multiple of the thread count, with tile rows spread evenly over the blocks, leaves
            // no thread waiting on another's extra block (ResNet-34's 28 tile rows at 56×56 made
            // 7 blocks of 4 rows, 4 of them on one of two threads).
            let threads = max(1, Threads.count)
            if blocks > 1, blocks % threads != 0 { blocks = min(tileRows, (blocks + threads - 1) / threads * threads) }
            blocksPerImage = blocks
            imagesPerUnit = 1
        } else {
            blocksPerImage = 1
            // Enough units for every thread where the batch allows.
            let wanted = max(1, min(target / perImage, plan.batch / max(1, Threads.count)))
            imagesPerUnit = wanted
        }
    }

    /// Tile rows of block `b` of an image: the blocks' rows differ by at most one.
    func tileRows(ofBlock b: Int) -> Range<Int> { b * tileRows / blocksPerImage..<(b + 1) * tileRows / blocksPerImage }
    /// The most tile rows a block holds.
    var tileRowsPerUnit: Int { (tileRows + blocksPerImage - 1) / blocksPerImage }
    var chunkCount: Int { (plan.batch + imagesPerUnit - 1) / imagesPerUnit }
    var unitCount: Int { chunkCount * blocksPerImage }

    /// - Parameters:
    ///   - x: `[N, C, H, W]`; y: `[N, O, OH, OW]`
    ///   - weights: the transformed weights of this conv.
    ///   - epilogue: applied to each block of outputs right after the output transform wrote it
    ///     (still in cache).
    func forward(_ x: UnsafePointer<Float>, _ weights: WinogradWeights, _ y: UnsafeMutablePointer<Float>,
                 epilogue: ConvEpilogue? = nil) {
        let c = plan.inChannels, o = plan.outChannels
        let inPlane = plan.inPlane, outPlane = plan.outPlane
        let maxCols = imagesPerUnit * tileRowsPerUnit * tilesPerRow
        let perUnit = plan.parallel(over: unitCount)
        let work = { (units: Range<Int>) in
            let v = UnsafeMutablePointer<Float>.allocate(capacity: 16 * winogradMatrixStride(c * maxCols))
            let m = UnsafeMutablePointer<Float>.allocate(capacity: 16 * winogradMatrixStride(o * maxCols))
            defer { v.deallocate(); m.deallocate() }
            var shape = self.shape
            for unit in units {
                let first = unit / blocksPerImage * imagesPerUnit, count = min(imagesPerUnit, plan.batch - first)
                let rows = tileRows(ofBlock: unit % blocksPerImage), ty0 = rows.lowerBound, ty1 = rows.upperBound
                let block = (ty1 - ty0) * tilesPerRow, cols = count * block
                let vStride = winogradMatrixStride(c * cols), mStride = winogradMatrixStride(o * cols)
                // Transformed input V_ξ [C, cols], images side by side.
                for t in 0..<count {
                    let img = x + (first + t) * c * inPlane
                    if perUnit {
                        pk_winograd_input(img, &shape, 0, c, ty0, ty1, v + t * block, cols, vStride)
                    } else {
                        Parallel.chunks(c) { r in
                            var s = shape
                            pk_winograd_input(img, &s, r.lowerBound, r.upperBound, ty0, ty1, v + t * block, cols, vStride)
                        }
                    }
                }
                for xi in 0..<16 {
                    let a = weights.packed[xi], bx = v + xi * vStride, mx = m + xi * mStride
                    if perUnit {
                        Gemm.single(a, n: cols, b: bx, ldb: cols, c: mx, ldc: cols)
                    } else {
                        Gemm.parallel(a, n: cols, b: bx, ldb: cols, c: mx, ldc: cols)
                    }
                }
                // Output rows [y0, y1) of this unit's tile rows.
                let y0 = 2 * ty0, y1 = min(plan.geometry.outHeight, 2 * ty1), ow = plan.geometry.outWidth
                for t in 0..<count {
                    let img = y + (first + t) * o * outPlane
                    /// The epilogue on channels `r` of the rows just written.
                    func finish(_ r: Range<Int>) {
                        guard let epilogue else { return }
                        var e = epilogue.rows(image: first + t, channel: r.lowerBound, outChannels: o, plane: outPlane, column: y0 * ow)
                        pk_apply_epilogue(&e, img + r.lowerBound * outPlane + y0 * ow, outPlane, r.count, (y1 - y0) * ow)
                    }
                    if perUnit {
                        pk_winograd_output(m + t * block, cols, mStride, &shape, 0, o, ty0, ty1, img)
                        finish(0..<o)
                    } else {
                        Parallel.chunks(o) { r in
                            var s = shape
                            pk_winograd_output(m + t * block, cols, mStride, &s, r.lowerBound, r.upperBound, ty0, ty1, img)
                            finish(r)
                        }
                    }
                }
            }
        }
        if perUnit { Parallel.chunks(unitCount, work) } else { work(0..<unitCount) }
    }
}
