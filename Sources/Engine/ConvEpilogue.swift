import CKernels

/// What a conv does to each output channel once its sum is complete: an eval-mode batch norm
/// folded to a scale and shift per channel, a residual of the output's shape added after it, and
/// a clamp (ReLU `[0, ∞)`, ReLU6 `[0, 6]`):
/// `y[n, o, p] = min(max(sum[n, o, p] · scale[o] + shift[o] + residual[n, o, p], lower), upper)`.
///
/// The GEMM paths apply it to each column panel as the panel's last K block is stored
/// (`pk_sgemm_packed_rows_epilogue`); Winograd and the direct conv to each block of outputs right
/// after writing it (`pk_apply_epilogue`, in place, while the block is in cache);
/// ``apply(to:shape:)`` to a whole output.
struct ConvEpilogue {
    /// `[O]` each.
    let scale: UnsafePointer<Float>, shift: UnsafePointer<Float>
    /// `[N, O, OH, OW]`, or nil for none.
    let residual: UnsafePointer<Float>?
    let lower: Float, upper: Float

    /// The epilogue of a product writing output channels `channel..<channel + rows` of image
    /// `image` (each row a plane of `plane` pixels), from pixel `column` of the plane on.
    func rows(image: Int, channel: Int, outChannels: Int, plane: Int, column: Int = 0) -> pk_epilogue {
        pk_epilogue(scale: scale + channel, shift: shift + channel,
                    residual: residual.map { $0 + (image * outChannels + channel) * plane + column },
                    ldr: plane, lower: lower, upper: upper)
    }

    /// Applies the epilogue in place to `y` of `shape` `[N, O, OH, OW]` (images split across threads).
    func apply(to y: UnsafeMutablePointer<Float>, shape: [Int]) {
        let o = shape[1], plane = shape[2] * shape[3]
        Parallel.chunks(shape[0] * o, minChunk: 8) { planes in
            var lo = planes.lowerBound
            while lo < planes.upperBound {
                // Runs of channels of one image.
                let image = lo / o, first = lo % o
                let count = min(planes.upperBound - lo, o - first)
                var e = rows(image: image, channel: first, outChannels: o, plane: plane)
                pk_apply_epilogue(&e, y + lo * plane, plane, count, plane)
                lo += count
            }
        }
    }
}

extension pk_epilogue {
    /// The epilogue of the sub-product whose C starts `rows` rows and `columns` columns further on.
    func offset(rows: Int, columns: Int) -> pk_epilogue {
        pk_epilogue(scale: scale + rows, shift: shift + rows, residual: residual.map { $0 + rows * ldr + columns },
                    ldr: ldr, lower: lower, upper: upper)
    }
}
