import CKernels

/// Geometry of one 2-D convolution or pooling window sweep over a single image plane.
public struct ConvGeometry: Sendable, Equatable {
    public var channels: Int, height: Int, width: Int
    public var kernelH: Int, kernelW: Int
    public var stride: Int, padding: Int

    public init(channels: Int, height: Int, width: Int, kernelH: Int, kernelW: Int, stride: Int, padding: Int) {
        self.channels = channels; self.height = height; self.width = width
        self.kernelH = kernelH; self.kernelW = kernelW; self.stride = stride; self.padding = padding
    }

    public var outHeight: Int { (height + 2 * padding - kernelH) / stride + 1 }
    public var outWidth: Int { (width + 2 * padding - kernelW) / stride + 1 }
    /// Rows of the column matrix: `channels * kernelH * kernelW`.
    public var columnRows: Int { channels * kernelH * kernelW }
    /// Columns of the column matrix for one image: `outHeight * outWidth`.
    public var columnCount: Int { outHeight * outWidth }
    /// True when the column matrix is the input itself (1×1, stride 1, no padding).
    public var isPointwise: Bool { kernelH == 1 && kernelW == 1 && stride == 1 && padding == 0 }

    /// Output columns `ow` whose input column `ow*stride - padding + j` lies inside `0..<width`.
    @inline(__always)
    func validColumns(_ j: Int) -> Range<Int> {
        let off = j - padding
        // smallest ow with ow*s + off >= 0
        let lo = off >= 0 ? 0 : (-off + stride - 1) / stride
        // largest ow with ow*s + off <= width-1
        let hiIncl = (width - 1 - off) >= 0 ? (width - 1 - off) / stride : -1
        let hi = min(outWidth, hiIncl + 1)
        return lo < hi ? lo..<hi : lo..<lo
    }
}

/// Unfolds the output rows `rows` of one image: `col` `[C*kH*kW, rows.count*OW]`, column
/// `(y - rows.lowerBound)*OW + x` holding output pixel `(y, x)`.
func im2col(_ x: UnsafePointer<Float>, _ g: ConvGeometry, rows: Range<Int>, _ col: UnsafeMutablePointer<Float>, ldc: Int) {
    var shape = g.kernelShape
    pk_im2col_rows(x, &shape, rows.lowerBound, rows.upperBound, col, ldc)
}

/// Folds a block of output rows laid out as `im2col(_:_:rows:_:ldc:)`'s back into `dx` `[C, H, W]`.
/// `col` is scratch: its padding entries are overwritten.
func col2im(_ col: UnsafeMutablePointer<Float>, ldc: Int, _ g: ConvGeometry, rows: Range<Int>, _ dx: UnsafeMutablePointer<Float>) {
    var shape = g.kernelShape
    pk_col2im_rows(col, ldc, &shape, rows.lowerBound, rows.upperBound, dx)
}

extension ConvGeometry {
    /// The same geometry as the C kernels take it.
    var kernelShape: pk_conv_shape {
        pk_conv_shape(channels: channels, height: height, width: width, kernel_h: kernelH, kernel_w: kernelW,
                      stride: stride, padding: padding, out_h: outHeight, out_w: outWidth)
    }
}
