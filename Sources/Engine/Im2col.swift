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

/// Unfolds one image `x` `[C, H, W]` into `col` `[C*kH*kW, OH*OW]` whose rows are laid out with
/// leading dimension `ldc` (≥ OH*OW, so several images can sit side by side).
func im2col(_ x: UnsafePointer<Float>, _ g: ConvGeometry, _ col: UnsafeMutablePointer<Float>, ldc: Int) {
    let oh = g.outHeight, ow = g.outWidth
    for c in 0..<g.channels {
        let plane = x + c * g.height * g.width
        for i in 0..<g.kernelH {
            for j in 0..<g.kernelW {
                let row = col + ((c * g.kernelH + i) * g.kernelW + j) * ldc
                let valid = g.validColumns(j)
                let off = j - g.padding
                for y in 0..<oh {
                    let dst = row + y * ow
                    let iy = y * g.stride - g.padding + i
                    if iy < 0 || iy >= g.height {
                        Vector.zero(dst, count: ow)
                        continue
                    }
                    let src = plane + iy * g.width
                    if valid.lowerBound > 0 { Vector.zero(dst, count: valid.lowerBound) }
                    if g.stride == 1 {
                        // Rows are short (7–56 floats): a plain loop beats a memmove call.
                        Vector.copy(dst + valid.lowerBound, src + valid.lowerBound + off, count: valid.count)
                    } else {
                        for x in valid { dst[x] = src[x * g.stride + off] }
                    }
                    if valid.upperBound < ow { Vector.zero(dst + valid.upperBound, count: ow - valid.upperBound) }
                }
            }
        }
    }
}

/// Folds `col` `[C*kH*kW, OH*OW]` (leading dimension `ldc`) back, adding into `dx` `[C, H, W]`.
func col2im(_ col: UnsafePointer<Float>, ldc: Int, _ g: ConvGeometry, _ dx: UnsafeMutablePointer<Float>) {
    let oh = g.outHeight, ow = g.outWidth
    for c in 0..<g.channels {
        let plane = dx + c * g.height * g.width
        for i in 0..<g.kernelH {
            for j in 0..<g.kernelW {
                let row = col + ((c * g.kernelH + i) * g.kernelW + j) * ldc
                let valid = g.validColumns(j)
                let off = j - g.padding
                for y in 0..<oh {
                    let iy = y * g.stride - g.padding + i
                    if iy < 0 || iy >= g.height { continue }
                    let src = row + y * ow
                    let dst = plane + iy * g.width
                    if g.stride == 1 {
                        for x in valid { dst[x + off] += src[x] }
                    } else {
                        for x in valid { dst[x * g.stride + off] += src[x] }
                    }
                }
            }
        }
    }
}
