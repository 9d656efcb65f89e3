/// Bilinear resampling that reproduces Pillow's `Image.resize(size,
/// BILINEAR)` on 8-bit images (Pillow ≥ 4 `Resample.c`): a triangle filter
/// whose support is scaled by the reduction factor when shrinking
/// (antialiasing), separable, horizontal pass first, fixed-point weights
/// with 22 fractional bits, intermediate rounded and clipped to 8 bits.
/// Results match Pillow byte for byte in the fixtures (see tests).
enum Resample {
    static let precisionBits = 32 - 8 - 2

    /// Fixed-point filter taps for one axis.
    struct Coefficients {
        var kernelSize: Int
        var bounds: [Int]      // per output pixel: xmin, count
        var weights: [Int32]   // per output pixel: kernelSize taps
    }

    /// Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for the span
    /// `[in0, in1)` of an axis of `inSize` pixels mapped to `outSize`.
    static func coefficients(inSize: Int, in0: Double, in1: Double, outSize: Int) -> Coefficients {
        let scale = (in1 - in0) / Double(outSize)
        let filterScale = max(scale, 1.0)
        let support = 1.0 * filterScale       // bilinear filter support is 1
        let kernelSize = Int(support.rounded(.up)) * 2 + 1
        var bounds = [Int](repeating: 0, count: outSize * 2)
        var weights = [Int32](repeating: 0, count: outSize * kernelSize)
        var taps = [Double](repeating: 0, count: kernelSize)
        let ss = 1.0 / filterScale
        for xx in 0..<outSize {
            let center = in0 + (Double(xx) + 0.5) * scale
            var xmin = Int(center - support + 0.5)   // C cast: truncation
            if xmin < 0 { xmin = 0 }
            var xmax = Int(center + support + 0.5)
            if xmax > inSize { xmax = inSize }
            xmax -= xmin
            var total = 0.0
            for x in 0..<max(xmax, 0) {
                var t = (Double(x + xmin) - center + 0.5) * ss
                if t < 0 { t = -t }
                let w = t < 1.0 ? 1.0 - t : 0.0
                taps[x] = w
                total += w
            }
            for x in 0..<max(xmax, 0) {
                let w = total != 0 ? taps[x] / total : taps[x]
                let fixed = w < 0 ? -0.5 + w * Double(1 << precisionBits) : 0.5 + w * Double(1 << precisionBits)
                weights[xx * kernelSize + x] = Int32(fixed)   // truncation toward zero, as in C
            }
            bounds[2 * xx] = xmin
            bounds[2 * xx + 1] = max(xmax, 0)
        }
        return Coefficients(kernelSize: kernelSize, bounds: bounds, weights: weights)
    }

    @inline(__always)
    static func clip8(_ v: Int32) -> UInt8 {
        if v >= Int32(1 << precisionBits) << 8 { return 255 }
        if v <= 0 { return 0 }
        return UInt8(truncatingIfNeeded: v >> Int32(precisionBits))
    }

    /// Resizes the `cropWidth × cropHeight` region at (`left`, `top`) of
    /// `image` (which must lie inside it) to `width × height`; equivalent to
    /// Pillow's `img.crop(box).resize((width, height), BILINEAR)`.
    static func resize(_ image: Image, left: Int = 0, top: Int = 0,
                       cropWidth: Int? = nil, cropHeight: Int? = nil,
                       width: Int, height: Int) -> Image {
        let cw = cropWidth ?? image.width, ch = cropHeight ?? image.height
        precondition(left >= 0 && top >= 0 && left + cw <= image.width && top + ch <= image.height,
                     "crop outside image")
        precondition(width > 0 && height > 0 && cw > 0 && ch > 0, "empty resize")
        let c = image.channels
        if cw == width && ch == height {
            return crop(image, left: left, top: top, width: cw, height: ch)
        }
        let horizontal = coefficients(inSize: cw, in0: 0, in1: Double(cw), outSize: width)
        var vertical = coefficients(inSize: ch, in0: 0, in1: Double(ch), outSize: height)
        // Rows of the crop that the vertical pass reads.
        let firstRow = vertical.bounds[0]
        let lastRow = vertical.bounds[2 * height - 2] + vertical.bounds[2 * height - 1]

        // Horizontal pass (skipped when the width is unchanged, as in Pillow).
        var temp: Image
        var tempRowOffset: Int
        if cw != width {
            let rows = lastRow - firstRow
            temp = Image(width: width, height: rows, channels: c)
            horizontalPass(src: image, srcLeft: left, srcTop: top + firstRow, rows: rows,
                           coeffs: horizontal, dst: &temp)
            for i in 0..<height { vertical.bounds[2 * i] -= firstRow }
            tempRowOffset = 0
        } else {
            temp = crop(image, left: left, top: top, width: cw, height: ch)
            tempRowOffset = 0
        }
        if ch == height {
            return temp
        }
        var out = Image(width: width, height: height, channels: c)
        verticalPass(src: temp, rowOffset: tempRowOffset, coeffs: vertical, dst: &out)
        return out
    }

    static func crop(_ image: Image, left: Int, top: Int, width: Int, height: Int) -> Image {
        if left == 0 && top == 0 && width == image.width && height == image.height { return image }
        let c = image.channels
        var out = [UInt8](repeating: 0, count: width * height * c)
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height {
                    let s = ((top + y) * image.width + left) * c
                    let d = y * width * c
                    for i in 0..<(width * c) { dst[d + i] = src[s + i] }
                }
            }
        }
        return Image(width: width, height: height, channels: c, pixels: out)
    }

    // The passes use wrapping Int32 arithmetic like Pillow (INT32): with
    // non-negative bilinear weights summing to 2^22 the sums stay below 2^31.

    private static func horizontalPass(src: Image, srcLeft: Int, srcTop: Int, rows: Int,
                                       coeffs: Coefficients, dst: inout Image) {
        let c = src.channels, outW = dst.width, k = coeffs.kernelSize
        let half = Int32(1 << (precisionBits - 1))
        let srcStride = src.width * c
        src.pixels.withUnsafeBufferPointer { s in
            dst.pixels.withUnsafeMutableBufferPointer { d in
                coeffs.weights.withUnsafeBufferPointer { wts in
                    coeffs.bounds.withUnsafeBufferPointer { b in
                        for y in 0..<rows {
                            let rowBase = (srcTop + y) * srcStride + srcLeft * c
                            let outBase = y * outW * c
                            for xx in 0..<outW {
                                let xmin = b[2 * xx], n = b[2 * xx + 1]
                                let w = xx * k
                                if c == 3 {
                                    var a0 = half, a1 = half, a2 = half
                                    var p = rowBase + xmin * 3
                                    for x in 0..<n {
                                        let wt = wts[w + x]
                                        a0 = a0 &+ Int32(s[p]) &* wt
                                        a1 = a1 &+ Int32(s[p + 1]) &* wt
                                        a2 = a2 &+ Int32(s[p + 2]) &* wt
                                        p += 3
                                    }
                                    let o = outBase + xx * 3
                                    d[o] = clip8(a0)
                                    d[o + 1] = clip8(a1)
                                    d[o + 2] = clip8(a2)
                                } else {
                                    for ch in 0..<c {
                                        var acc = half
                                        var p = rowBase + xmin * c + ch
                                        for x in 0..<n {
                                            acc = acc &+ Int32(s[p]) &* wts[w + x]
                                            p += c
                                        }
                                        d[outBase + xx * c + ch] = clip8(acc)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private static func verticalPass(src: Image, rowOffset: Int, coeffs: Coefficients, dst: inout Image) {
        let c = src.channels, outH = dst.height, k = coeffs.kernelSize
        let rowLen = src.width * c
        let half = Int32(1 << (precisionBits - 1))
        src.pixels.withUnsafeBufferPointer { s in
            dst.pixels.withUnsafeMutableBufferPointer { d in
                coeffs.weights.withUnsafeBufferPointer { wts in
                    var acc = [Int32](repeating: 0, count: rowLen)
                    acc.withUnsafeMutableBufferPointer { a in
                        for yy in 0..<outH {
                            let ymin = coeffs.bounds[2 * yy] + rowOffset, n = coeffs.bounds[2 * yy + 1]
                            for i in 0..<rowLen { a[i] = half }
                            for y in 0..<n {
                                let wt = wts[yy * k + y]
                                let row = s.baseAddress! + (ymin + y) * rowLen
                                for i in 0..<rowLen { a[i] = a[i] &+ Int32(row[i]) &* wt }
                            }
                            let outBase = yy * rowLen
                            for i in 0..<rowLen { d[outBase + i] = clip8(a[i]) }
                        }
                    }
                }
            }
        }
    }
}
