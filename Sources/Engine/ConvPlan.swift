import CKernels

/// Shapes and work split of one convolution call.
///
/// The work is cut into units whose column matrix stays about cache-sized: several small images
/// side by side (so each GEMM is wide enough), one image, or, for a large image whose column
/// matrix would far exceed L2 (e.g. 64 channels at 56×56: 7 MB), a block of its output rows.
struct ConvPlan: Sendable {
    let batch: Int, inChannels: Int, outChannels: Int, groups: Int
    let geometry: ConvGeometry          // per group: channels = C/groups
    let imagesPerChunk: Int
    /// Output rows per unit: `outHeight` unless one image is cut into row blocks (then
    /// `imagesPerChunk == 1`).
    let rowsPerBlock: Int
    /// Fewest output pixels per image for ``usesPointwisePerImage``.
    let pointwiseMinimumColumns: Int

    /// - Parameters:
    ///   - columnBudget: floats of column matrix per image above which the image is cut into row
    ///     blocks (default 192 Ki floats, 768 KB: under this machine's 1 MB L2).
    ///   - minBlockColumns: fewest columns of a row block, so its GEMM stays wide.
    ///   - pointwiseMinimumColumns: fewest output pixels per image for which a 1×1 stride-1 conv
    ///     multiplies image by image in place (``usesPointwisePerImage``; 14×14 = 196 does). At 7×7
    ///     (49 columns: a 32- and a 17-wide tile) images stay batched side by side.
    init(x: [Int], weight: [Int], bias: [Int]?, stride: Int, padding: Int, groups: Int,
         columnBudget: Int = 196_608, minBlockColumns: Int = 256, pointwiseMinimumColumns: Int = 128) {
        checkShape(x.count == 4, "conv2d: input must be [N, C, H, W], got \(x)")
        checkShape(weight.count == 4, "conv2d: weight must be [O, C/groups, kH, kW], got \(weight)")
        checkShape(groups >= 1 && x[1] % groups == 0 && weight[0] % groups == 0,
                   "conv2d: groups \(groups) must divide input channels \(x[1]) and output channels \(weight[0])")
        checkShape(weight[1] == x[1] / groups,
                   "conv2d: weight \(weight) expects \(weight[1] * groups) input channels, input is \(x)")
        if let bias { checkShape(bias == [weight[0]], "conv2d: bias \(bias) does not match \(weight[0]) output channels") }
        checkShape(stride >= 1 && padding >= 0, "conv2d: stride \(stride) / padding \(padding) invalid")
        batch = x[0]; inChannels = x[1]; outChannels = weight[0]; self.groups = groups
        self.pointwiseMinimumColumns = pointwiseMinimumColumns
        geometry = ConvGeometry(channels: x[1] / groups, height: x[2], width: x[3],
                                kernelH: weight[2], kernelW: weight[3], stride: stride, padding: padding)
        checkShape(geometry.outHeight > 0 && geometry.outWidth > 0,
                   "conv2d: kernel \(weight[2])×\(weight[3]) larger than padded input \(x)")
        let k = max(geometry.columnRows, 1), oh = geometry.outHeight, ow = geometry.outWidth
        // Row blocks of at least 256 columns, balanced, when one image's column matrix is too big
        // (never for 1×1 stride-1 convs: their column matrix is the input itself).
        var rows = oh
        if !geometry.isPointwise && k * geometry.columnCount > columnBudget {
            let perBlock = max(1, max(minBlockColumns, columnBudget / k) / ow)
            let blocks = (oh + perBlock - 1) / perBlock
            rows = (oh + blocks - 1) / blocks
        }
        rowsPerBlock = rows
        // Batch small images side by side so each GEMM is wide enough (≥ 256 columns) while
        // its column matrix stays about L2-sized (≤ 96 Ki floats), in a number of chunks that
        // divides evenly among the threads.
        let perChunkColumns = max(256, min(1024, 98_304 / k))
        let columns = batch * geometry.columnCount
        let threads = Threads.count
        let chunksWanted = max(1, threads * ((columns + perChunkColumns * threads - 1) / (perChunkColumns * threads)))
        imagesPerChunk = rows < oh ? 1 : max(1, (batch + chunksWanted - 1) / chunksWanted)
    }

    var outputShape: [Int] { [batch, outChannels, geometry.outHeight, geometry.outWidth] }

    /// For a stride-1 conv without groups, the conv that maps an output gradient `[N, O, OH, OW]`
    /// to the input gradient `[N, C, H, W]`: weight `[C, O, kH, kW]` (flipped), padding
    /// `kH − 1 − padding`. Nil otherwise, or when that padding would be negative.
    var inputGradientPlan: ConvPlan? {
        let g = geometry
        guard groups == 1, g.stride == 1, g.kernelH == g.kernelW, g.padding <= g.kernelH - 1 else { return nil }
        return ConvPlan(x: outputShape, weight: [inChannels, outChannels, g.kernelH, g.kernelW], bias: nil,
                        stride: 1, padding: g.kernelH - 1 - g.padding, groups: 1)
    }
    var isDepthwise: Bool { groups == inChannels && groups == outChannels }
    /// A depthwise conv whose kernel the depthwise forward kernels take (at most 49 taps, 7×7);
    /// a larger one runs forward on the grouped GEMM path.
    var usesDepthwiseKernel: Bool { isDepthwise && geometry.kernelH * geometry.kernelW <= 49 }
    var groupOut: Int { outChannels / groups }
    var inPlane: Int { geometry.height * geometry.width }
    var outPlane: Int { geometry.columnCount }
    var chunkCount: Int { (batch + imagesPerChunk - 1) / imagesPerChunk }
    var blocksPerImage: Int { (geometry.outHeight + rowsPerBlock - 1) / rowsPerBlock }
    /// Units of forward work: every row block of every chunk.
    var unitCount: Int { chunkCount * blocksPerImage }
    /// Most columns of one unit's column matrix.
    var unitColumns: Int { imagesPerChunk * rowsPerBlock * geometry.outWidth }
    /// Whether to split `count` units across threads (else each GEMM is split).
    func parallel(over count: Int) -> Bool { count >= Threads.count && Threads.count > 1 }

    /// Images `[first, first+count)` of chunk `index`.
    func chunk(_ index: Int) -> (first: Int, count: Int) {
        let first = index * imagesPerChunk
        return (first, min(imagesPerChunk, batch - first))
    }

    /// Output rows of row block `index` of an image.
    func rowBlock(_ index: Int) -> Range<Int> {
        index * rowsPerBlock..<min(geometry.outHeight, (index + 1) * rowsPerBlock)
    }

    /// The column matrix `[K, count·rows·OW]` of group `g` of the chunk's images: the input itself
    /// for a 1×1 stride-1 conv of one image, else unfolded into `scratch`.
    func columnMatrix(_ x: UnsafePointer<Float>, group g: Int, first: Int, count: Int, rows: Range<Int>,
                      scratch: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        if geometry.isPointwise && count == 1 { return x + (first * inChannels + g * geometry.channels) * inPlane }
        let block = rows.count * geometry.outWidth, cols = count * block
        for t in 0..<count {
            let img = x + ((first + t) * inChannels + g * geometry.channels) * inPlane
            im2col(img, geometry, rows: rows, scratch + t * block, ldc: cols)
        }
        return UnsafePointer(scratch)
    }

    /// Whether the forward product of a 1×1 stride-1 conv runs image by image on the input itself
    /// (``pointwiseForward(_:_:_:packed:)``) although ``imagesPerChunk`` batches images: when each
    /// image has at least ``pointwiseMinimumColumns`` output pixels, so its GEMM stays wide.
    var usesPointwisePerImage: Bool {
        geometry.isPointwise && imagesPerChunk > 1 && outPlane >= pointwiseMinimumColumns
    }

    /// - Parameters:
    ///   - prepacked: each group's weight matrix already packed (``ConvWeightPack``).
    ///   - epilogue: applied to every output as its sum completes (a folded batch norm, a residual, a clamp).
    func forward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                 prepacked: [PackedMatrix]? = nil, epilogue: ConvEpilogue? = nil) {
        let k = geometry.columnRows, og = groupOut
        if usesPointwisePerImage {
            let packed = prepacked ?? (0..<groups).map { g in PackedMatrix(m: og, k: k, a: w + g * og * k, lda: k) }
            pointwiseForward(x, w, y, packed: packed, epilogue: epilogue)
            return
        }
        let perUnit = parallel(over: unitCount)
        let colSize = k * unitColumns
        let tmpSize = imagesPerChunk > 1 ? og * unitColumns : 0
        // Each group's weight matrix is packed once for all units instead of once per GEMM.
        // (Always packed with an epilogue: the epilogue runs in the packed product.)
        let packed = prepacked
            ?? (unitCount > 1 || epilogue != nil ? (0..<groups).map { g in PackedMatrix(m: og, k: k, a: w + g * og * k, lda: k) } : nil)
        let work = { (units: Range<Int>) in
            let col = UnsafeMutablePointer<Float>.allocate(capacity: max(colSize, 1))
            let tmp = UnsafeMutablePointer<Float>.allocate(capacity: max(tmpSize, 1))
            defer { col.deallocate(); tmp.deallocate() }
            for u in units {
                let (first, count) = chunk(u / blocksPerImage)
                let rows = rowBlock(u % blocksPerImage)
                let cols = count * rows.count * geometry.outWidth
                for g in 0..<groups {
                    let wg = PackedOrPlain(packed?[g], m: og, k: k, a: w + g * og * k, lda: k)
                    // Straight into the output rows of this block (leading dimension OH·OW) for one
                    // image, else into tmp and copied out per image below.
                    let direct = y + (first * outChannels + g * og) * outPlane + rows.lowerBound * geometry.outWidth
                    let (dst, ldc) = count == 1 ? (direct, outPlane) : (tmp, cols)
                    let b = columnMatrix(x, group: g, first: first, count: count, rows: rows, scratch: col)
                    if count == 1, let epilogue, let p = wg.packed {
                        let e = epilogue.rows(image: first, channel: g * og, outChannels: outChannels, plane: outPlane,
                                              column: rows.lowerBound * geometry.outWidth)
                        gemm(perUnit, p, n: cols, b: b, ldb: cols, c: dst, ldc: ldc, epilogue: e)
                    } else {
                        gemm(perUnit, wg, n: cols, b: b, ldb: cols, c: dst, ldc: ldc)
                    }
                    if count > 1 {
                        for t in 0..<count {
                            let image = y + ((first + t) * outChannels + g * og) * outPlane
                            for o in 0..<og {
                                Vector.copy(image + o * outPlane, tmp + o * cols + t * outPlane, count: outPlane)
                            }
                            // The images' sums are complete once copied out: the epilogue in place, while in cache.
                            if let epilogue {
                                var e = epilogue.rows(image: first + t, channel: g * og, outChannels: outChannels, plane: outPlane)
                                pk_apply_epilogue(&e, image, outPlane, og, outPlane)
                            }
                        }
                    }
                }
            }
        }
        if perUnit { Parallel.chunks(unitCount, work) } else { work(0..<unitCount) }
    }

    /// `y` `[N, O, H, W]` = each group's packed weight `[O/groups, C/groups]` times each image's
    /// `[C/groups, H·W]`, read in place: one GEMM per image and group, straight into the output,
    /// with no column matrix and no copies (images split across threads).
    private func pointwiseForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                                  packed: [PackedMatrix], epilogue: ConvEpilogue?) {
        let og = groupOut, cg = geometry.channels
        let perImage = parallel(over: batch)
        let work = { (images: Range<Int>) in
            for n in images {
                for g in 0..<groups {
                    let b = x + (n * inChannels + g * cg) * inPlane, c = y + (n * outChannels + g * og) * outPlane
                    if let epilogue {
                        let e = epilogue.rows(image: n, channel: g * og, outChannels: outChannels, plane: outPlane)
                        gemm(perImage, packed[g], n: outPlane, b: b, ldb: inPlane, c: c, ldc: outPlane, epilogue: e)
                    } else {
                        gemm(perImage, PackedOrPlain(packed[g], m: og, k: cg, a: w + g * og * cg, lda: cg), n: outPlane,
                             b: b, ldb: inPlane, c: c, ldc: outPlane)
                    }
                }
            }
        }
        if perImage { Parallel.chunks(batch, work) } else { work(0..<batch) }
    }

    /// Writes `dx` (zeroing it chunk by chunk on the threads that fill it, so it may come
    /// uninitialised) and `dw` (overwritten).
    ///
    /// Work is split across threads by whole chunks: row blocks of one image fold into
    /// overlapping rows of its input gradient, so they stay on one thread.
    func backward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ gy: UnsafePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, _ dw: UnsafeMutablePointer<Float>?) {
        let k = geometry.columnRows, og = groupOut
        let perChunk = parallel(over: chunkCount)
        let colSize = k * unitColumns
        let gySize = imagesPerChunk > 1 ? og * unitColumns : 0
        // Each group's W_gᵀ packed once for all units' input-gradient GEMMs.
        let packed = dx != nil && unitCount > 1
            ? (0..<groups).map { g in PackedMatrix(transA: true, m: k, k: og, a: w + g * og * k, lda: k) } : nil
        // Private weight-gradient accumulators per thread, summed at the end.
        Parallel.summingChunks(chunkCount, size: outChannels * k, into: dw, parallel: perChunk) { chunks, myDW in
            let col = UnsafeMutablePointer<Float>.allocate(capacity: max(colSize, 1))
            let dcol = UnsafeMutablePointer<Float>.allocate(capacity: max(colSize, 1))
            let gyc = UnsafeMutablePointer<Float>.allocate(capacity: max(gySize, 1))
            defer { col.deallocate(); dcol.deallocate(); gyc.deallocate() }
            for ci in chunks {
                let (first, count) = chunk(ci)
                if let dx { (dx + first * inChannels * inPlane).initialize(repeating: 0, count: count * inChannels * inPlane) }
                for block in 0..<blocksPerImage {
                    let rows = rowBlock(block)
                    let cols = count * rows.count * geometry.outWidth
                    for g in 0..<groups {
                        // Gradient of this group's outputs as [og, cols] with leading dimension ld.
                        // Several images and no input gradient: dW per image, reading gy in place.
                        let perImageDW = dx == nil && count > 1
                        let gyg: UnsafePointer<Float>, ld: Int
                        if count == 1 || perImageDW {
                            gyg = gy + (first * outChannels + g * og) * outPlane + rows.lowerBound * geometry.outWidth
                            ld = outPlane
                        } else {
                            for t in 0..<count {
                                for o in 0..<og {
                                    Vector.copy(gyc + o * cols + t * outPlane,
                                                gy + ((first + t) * outChannels + g * og + o) * outPlane, count: outPlane)
                                }
                            }
                            gyg = UnsafePointer(gyc)
                            ld = cols
                        }
                        if let myDW {
                            let b = columnMatrix(x, group: g, first: first, count: count, rows: rows, scratch: col)
                            // dW_g[og, K] += gy_g[og, cols] · col[K, cols]ᵀ
                            if perImageDW {
                                let block = rows.count * geometry.outWidth
                                for t in 0..<count {
                                    gemm(perChunk, transB: true, m: og, n: k, k: block, a: gyg + t * outChannels * outPlane,
                                         lda: ld, b: b + t * block, ldb: cols, beta: 1, c: myDW + g * og * k, ldc: k)
                                }
                            } else {
                                gemm(perChunk, transB: true, m: og, n: k, k: cols, a: gyg, lda: ld, b: b, ldb: cols,
                                     beta: 1, c: myDW + g * og * k, ldc: k)
                            }
                        }
                        guard let dx else { continue }
                        let wgT = PackedOrPlain(packed?[g], transA: true, m: k, k: og, a: w + g * og * k, lda: k)
                        if geometry.isPointwise && count == 1 {
                            let dst = dx + (first * inChannels + g * geometry.channels) * inPlane
                            gemm(perChunk, wgT, n: cols, b: gyg, ldb: ld, beta: 1, c: dst, ldc: cols)
                        } else {
                            // dcol[K, cols] = W_gᵀ · gy_g, then fold back into dx.
                            gemm(perChunk, wgT, n: cols, b: gyg, ldb: ld, c: dcol, ldc: cols)
                            let block = rows.count * geometry.outWidth
                            for t in 0..<count {
                                let img = dx + ((first + t) * inChannels + g * geometry.channels) * inPlane
                                col2im(dcol + t * block, ldc: cols, geometry, rows: rows, img)
                            }
                        }
                    }
                }
            }
        }
    }

    /// `C = op(A)·B + beta·C` with `op(A)` packed beforehand when it is reused, on this thread
    /// (`single`) or split across threads.
    @inline(__always)
    private func gemm(_ single: Bool, _ a: PackedOrPlain, n: Int, b: UnsafePointer<Float>, ldb: Int,
                      beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        switch (a.packed, single) {
        case let (p?, true): Gemm.single(p, n: n, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        case let (p?, false): Gemm.parallel(p, n: n, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        case (nil, _):
            gemm(single, transA: a.transA, m: a.m, n: n, k: a.k, a: a.a, lda: a.lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
    }

    /// The packed product with `epilogue` applied as its sums complete.
    private func gemm(_ single: Bool, _ a: PackedMatrix, n: Int, b: UnsafePointer<Float>, ldb: Int,
                      c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: pk_epilogue) {
        if single { Gemm.single(a, n: n, b: b, ldb: ldb, c: c, ldc: ldc, epilogue: epilogue) }
        else { Gemm.parallel(a, n: n, b: b, ldb: ldb, c: c, ldc: ldc, epilogue: epilogue) }
    }

    @inline(__always)
    private func gemm(_ single: Bool, transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                      a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                      beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if single {
            Gemm.single(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        } else {
            Gemm.parallel(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
    }
}

/// A GEMM left operand `op(A)` `[m, k]`, packed beforehand or not.
struct PackedOrPlain {
    let packed: PackedMatrix?
    let transA: Bool, m: Int, k: Int, a: UnsafePointer<Float>, lda: Int

    init(_ packed: PackedMatrix?, transA: Bool = false, m: Int, k: Int, a: UnsafePointer<Float>, lda: Int) {
        self.packed = packed; self.transA = transA; self.m = m; self.k = k; self.a = a; self.lda = lda
    }
}
