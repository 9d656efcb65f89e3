import CKernels

/// A convolution weight `[O, C/groups, kH, kW]` in the direct kernel's layout
/// (`pk_conv_direct_pack`): each group's `[O/groups, C/groups·kH·kW]` matrix in 12-row panels.
final class DirectConvWeights: @unchecked Sendable {
    let groups: Int, groupOut: Int, columnRows: Int
    private let groupSize: Int
    private let buffer: UnsafeMutablePointer<Float>

    /// Packs `w`, `groups` matrices of `groupOut` rows and `columnRows` columns.
    init(_ w: UnsafePointer<Float>, groups: Int, groupOut: Int, columnRows: Int) {
        self.groups = groups; self.groupOut = groupOut; self.columnRows = columnRows
        groupSize = pk_conv_direct_packed_size(groupOut, columnRows)
        buffer = .allocate(capacity: max(groups * groupSize, 1))
        for g in 0..<groups {
            pk_conv_direct_pack(w + g * groupOut * columnRows, groupOut, columnRows, columnRows, buffer + g * groupSize)
        }
    }

    deinit { buffer.deallocate() }

    /// Group `g`'s packed panels.
    func group(_ g: Int) -> UnsafePointer<Float> { UnsafePointer(buffer + g * groupSize) }
}

extension ConvPlan {
    /// Whether the forward product runs on the direct kernel (`pk_conv_direct`): AVX-512 or AVX2, stride
    /// 1, output as wide as the input, kernel up to 7×7 but not an unpadded 1×1 (a plain GEMM on
    /// the input), at least 32 output pixels per image.
    var usesDirectKernel: Bool {
        var shape = geometry.kernelShape
        return ConvAlgorithms.direct && pk_conv_direct_supports(pk_simd_level(), &shape) != 0
    }

    /// `y` `[N, O, OH, OW]` = conv of `x` `[N, C, H, W]` with `weights`, on the direct kernel
    /// (``usesDirectKernel`` must hold). The output pixels of all images are one row of columns,
    /// split across threads in 32-column tiles.
    ///
    /// With an `epilogue`, columns are computed in blocks of at most 1,024 and each block's
    /// outputs get the epilogue right after they are written (still in cache).
    func directForward(_ x: UnsafePointer<Float>, _ weights: DirectConvWeights, _ y: UnsafeMutablePointer<Float>,
                       epilogue: ConvEpilogue? = nil) {
        precondition(weights.groups == groups && weights.groupOut == groupOut && weights.columnRows == geometry.columnRows,
                     "direct conv weights do not match the convolution")
        var shape = geometry.kernelShape
        let level = pk_simd_level(), og = groupOut, cg = geometry.channels
        let columns = batch * outPlane
        let run = { (cols: Range<Int>) in
            for g in 0..<groups {
                let done = pk_conv_direct(level, weights.group(g), og, &shape, x + g * cg * inPlane, inChannels * inPlane,
                                          cols.lowerBound, cols.upperBound, y + g * og * outPlane, outChannels * outPlane)
                precondition(done != 0, "direct conv kernel failed (out of memory)")
            }
        }
        let product = { (cols: Range<Int>) in
            guard let epilogue else { return run(cols) }
            var lo = cols.lowerBound
            while lo < cols.upperBound {
                let hi = min(cols.upperBound, lo + 1024)
                run(lo..<hi)
                // The epilogue on the columns just written, image by image (columns run across images).
                var c = lo
                while c < hi {
                    let image = c / outPlane, p0 = c % outPlane, p1 = min(outPlane, p0 + hi - c)
                    var e = epilogue.rows(image: image, channel: 0, outChannels: outChannels, plane: outPlane, column: p0)
                    pk_apply_epilogue(&e, y + image * outChannels * outPlane + p0, outPlane, outChannels, p1 - p0)
                    c += p1 - p0
                }
                lo = hi
            }
        }
        if Threads.count == 1 || 2 * outChannels * geometry.columnRows * columns < 1_000_000 {
            product(0..<columns)
        } else {
            Parallel.alignedChunks(columns, unit: 32, product)
        }
    }
}

extension ConvPlan {
    /// Whether the weight gradient runs on the direct kernel (`pk_conv_direct_weight_grad`):
    /// as ``usesDirectKernel``, with a 3×3 kernel, where it measured faster than the column-matrix
    /// product (one thread, per conv): up to 64 output channels (16–64 channels at 28–7 pixels:
    /// 1.35–1.8×) or outputs of at least 28×28 (64 channels at 56×56: 1.26×, 128 at 28×28: 1.13×).
    /// With 256 channels at 14×14 they tie, and with 512 at 7×7 the product's wide GEMM tiles win
    /// (0.8×): its transposed accumulator no longer fits in cache.
    var usesDirectWeightGradient: Bool {
        var shape = geometry.kernelShape
        return ConvAlgorithms.direct && (groupOut <= 64 || outPlane >= 28 * 28)
            && pk_conv_direct_weight_grad_supports(pk_simd_level(), &shape) != 0
    }

    /// Overwrites `dw` `[O, C/groups, kH, kW]` with the weight gradient for input `x` `[N, C, H, W]`
    /// and output gradient `gy` `[N, O, OH, OW]` on the direct kernel (``usesDirectWeightGradient``
    /// must hold). Threads take contiguous runs of images, each into its own partial sum.
    func directWeightGradient(_ x: UnsafePointer<Float>, _ gy: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>) {
        var shape = geometry.kernelShape
        let level = pk_simd_level(), og = groupOut, cg = geometry.channels, k = geometry.columnRows
        Parallel.summingChunks(batch, size: outChannels * k, into: dw) { images, sum in
            for g in 0..<groups {
                let done = pk_conv_direct_weight_grad(level, &shape, og, x + (images.lowerBound * inChannels + g * cg) * inPlane,
                                                      inChannels * inPlane,
                                                      gy + (images.lowerBound * outChannels + g * og) * outPlane,
                                                      outChannels * outPlane, images.count, sum! + g * og * k)
                precondition(done != 0, "direct conv weight gradient failed (out of memory)")
            }
        }
    }

    /// The weight gradient `[O, C/groups, kH, kW]` for input `x` and output gradient `gy`: on the
    /// direct kernel where it applies, else by the column-matrix product.
    func weightGradient(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ gy: UnsafePointer<Float>) -> Tensor {
        let dw = Tensor(uninitialized: [outChannels, geometry.channels, geometry.kernelH, geometry.kernelW])
        if usesDirectWeightGradient {
            directWeightGradient(x, gy, dw.pointer)
        } else {
            backward(x, w, gy, nil, dw.pointer)
        }
        return dw
    }
}
