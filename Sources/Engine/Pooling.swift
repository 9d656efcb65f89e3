import CKernels

/// Max pooling over `[N, C, H, W]` (implicit −∞ padding, as `F.max_pool2d`). → `[N, C, OH, OW]`.
public func maxPool2d(_ x: Tensor, kernel: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
    checkShape(x.rank == 4, "maxPool2d: input must be [N, C, H, W], got \(x.shape)")
    let s = stride ?? kernel
    let g = ConvGeometry(channels: 1, height: x.shape[2], width: x.shape[3], kernelH: kernel, kernelW: kernel, stride: s, padding: padding)
    checkShape(padding * 2 <= kernel, "maxPool2d: padding \(padding) must be at most half the kernel \(kernel)")
    let planes = x.shape[0] * x.shape[1], oh = g.outHeight, ow = g.outWidth
    let out = Tensor(uninitialized: [x.shape[0], x.shape[1], oh, ow])
    // Flat index (within the input plane) of each output's maximum, kept only for a backward pass.
    let needsArgmax = Autograd.isRecording && x.node != nil
    let argmax = UnsafeMutablePointer<Int32>.allocate(capacity: needsArgmax ? max(out.count, 1) : 1)
    let owner = ArgmaxBuffer(argmax)
    let xp = x.pointer, yp = out.pointer, inPlane = g.height * g.width, outPlane = oh * ow
    let shape = g.kernelShape
    Parallel.chunks(planes, minChunk: 8) { range in
        var sh = shape
        let status = pk_max_pool2d(xp + range.lowerBound * inPlane, range.count, &sh, yp + range.lowerBound * outPlane,
                                   needsArgmax ? argmax + range.lowerBound * outPlane : nil)
        precondition(status == 0, "maxPool2d: out of memory for scratch rows")
    }
    guard needsArgmax else { return out }
    let inputShape = x.shape  // the backward pass needs the shape only, not the input
    return Autograd.record(out, inputs: [x]) { gy, _ in
        let dx = Tensor(zeros: inputShape)
        let gp = gy.pointer, dp = dx.pointer, idx = owner.pointer
        Parallel.forEach(planes, minChunk: 8) { p in
            let base = p * g.height * g.width
            for o in 0..<(oh * ow) { dp[base + Int(idx[p * oh * ow + o])] += gp[p * oh * ow + o] }
        }
        return [dx]
    }
}

/// Owns the argmax indices captured by a max-pool backward closure.
private final class ArgmaxBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Int32>
    init(_ p: UnsafeMutablePointer<Int32>) { pointer = p }
    deinit { pointer.deallocate() }
}

/// Average pooling over `[N, C, H, W]` counting padded zeros (PyTorch's default `count_include_pad=True`).
public func avgPool2d(_ x: Tensor, kernel: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
    checkShape(x.rank == 4, "avgPool2d: input must be [N, C, H, W], got \(x.shape)")
    let s = stride ?? kernel
    let g = ConvGeometry(channels: 1, height: x.shape[2], width: x.shape[3], kernelH: kernel, kernelW: kernel, stride: s, padding: padding)
    let rows = (0..<g.outHeight).map { r in (r * s - padding, r * s - padding + kernel) }
    let cols = (0..<g.outWidth).map { q in (q * s - padding, q * s - padding + kernel) }
    return windowAverage(x, rows: rows, cols: cols, divisor: { _, _ in Float(kernel * kernel) })
}

/// Adaptive average pooling to `[N, C, outH, outW]` with PyTorch's window rule
/// (`start = ⌊i·H/outH⌋`, `end = ⌈(i+1)·H/outH⌉`).
public func adaptiveAvgPool2d(_ x: Tensor, outputSize: (Int, Int) = (1, 1)) -> Tensor {
    checkShape(x.rank == 4, "adaptiveAvgPool2d: input must be [N, C, H, W], got \(x.shape)")
    let h = x.shape[2], w = x.shape[3]
    let rows = (0..<outputSize.0).map { i in (i * h / outputSize.0, ((i + 1) * h + outputSize.0 - 1) / outputSize.0) }
    let cols = (0..<outputSize.1).map { j in (j * w / outputSize.1, ((j + 1) * w + outputSize.1 - 1) / outputSize.1) }
    return windowAverage(x, rows: rows, cols: cols) { r, c in Float((r.1 - r.0) * (c.1 - c.0)) }
}

/// `[N, C, H, W]` → `[N, C]`: the mean of each plane.
public func globalAvgPool(_ x: Tensor) -> Tensor {
    flatten(adaptiveAvgPool2d(x, outputSize: (1, 1)))
}

/// Averages rectangular windows `[rows[r].0, rows[r].1) × [cols[c].0, cols[c].1)` (clipped to the
/// image; out-of-image cells count as zeros) divided by `divisor(row, col)`.
private func windowAverage(_ x: Tensor, rows: [(Int, Int)], cols: [(Int, Int)],
                           divisor: @escaping @Sendable ((Int, Int), (Int, Int)) -> Float) -> Tensor {
    let n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3]
    let oh = rows.count, ow = cols.count
    let out = Tensor(uninitialized: [n, c, oh, ow])
    let xp = x.pointer, yp = out.pointer
    Parallel.forEach(n * c, minChunk: 8) { p in
        let src = xp + p * h * w
        for (r, rw) in rows.enumerated() {
            for (q, cw) in cols.enumerated() {
                var acc: Float = 0
                for iy in max(rw.0, 0)..<min(rw.1, h) {
                    for ix in max(cw.0, 0)..<min(cw.1, w) { acc += src[iy * w + ix] }
                }
                yp[p * oh * ow + r * ow + q] = acc / divisor(rw, cw)
            }
        }
    }
    let inputShape = x.shape  // the backward pass needs the shape only, not the input
    return Autograd.record(out, inputs: [x]) { gy, _ in
        let dx = Tensor(zeros: inputShape)
        let gp = gy.pointer, dp = dx.pointer
        Parallel.forEach(n * c, minChunk: 8) { p in
            let dst = dp + p * h * w
            for (r, rw) in rows.enumerated() {
                for (q, cw) in cols.enumerated() {
                    let v = gp[p * oh * ow + r * ow + q] / divisor(rw, cw)
                    for iy in max(rw.0, 0)..<min(rw.1, h) {
                        for ix in max(cw.0, 0)..<min(cw.1, w) { dst[iy * w + ix] += v }
                    }
                }
            }
        }
        return [dx]
    }
}
