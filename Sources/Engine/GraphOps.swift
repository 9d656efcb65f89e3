import Engine
import Foundation

// Element-wise and layout ops that imported ONNX graphs need beyond the zoo's, each with its
// backward pass recorded on the tape (checked against finite differences in GraphOpsTests).

/// Applies `f` element-wise (any shape); the backward pass multiplies by `df(x, y)`.
private func unary(_ x: Tensor, _ f: @escaping (Float) -> Float, _ df: @escaping (Float, Float) -> Float) -> Tensor {
    let out = Tensor(uninitialized: x.shape)
    let s = x.pointer, d = out.pointer
    Parallel.chunks(x.count, minChunk: 65536) { r in for i in r { d[i] = f(s[i]) } }
    return Autograd.record(out, inputs: [x]) { gy, _ in
        let dx = Tensor(uninitialized: x.shape)
        let g = gy.pointer, xp = x.pointer, y = out.pointer, o = dx.pointer
        Parallel.chunks(x.count, minChunk: 65536) { r in for i in r { o[i] = g[i] * df(xp[i], y[i]) } }
        return [dx]
    }
}

/// `1 / (1 + e^−x)`.
public func sigmoid(_ x: Tensor) -> Tensor {
    unary(x, { v in 1 / (1 + Foundation.exp(-v)) }, { _, y in y * (1 - y) })
}

/// `max(0, min(1, αx + β))` (ONNX HardSigmoid; PyTorch's hardsigmoid is α = 1/6, β = 0.5).
public func hardSigmoid(_ x: Tensor, alpha: Float, beta: Float) -> Tensor {
    unary(x, { v in Swift.min(Swift.max(alpha * v + beta, 0), 1) }, { v, _ in
        let t = alpha * v + beta
        return t > 0 && t < 1 ? alpha : 0
    })
}

/// `x · hardSigmoid(x, 1/6, 1/2)` (ONNX HardSwish, PyTorch's hardswish).
public func hardSwish(_ x: Tensor) -> Tensor {
    unary(x, { v in v * Swift.min(Swift.max(v / 6 + 0.5, 0), 1) }, { v, _ in
        v <= -3 ? 0 : (v >= 3 ? 1 : v / 3 + 0.5)
    })
}

/// `min(max(x, lo), hi)`; the gradient passes where `lo < x < hi`.
public func clip(_ x: Tensor, min lo: Float, max hi: Float) -> Tensor {
    unary(x, { v in Swift.min(Swift.max(v, lo), hi) }, { v, _ in v > lo && v < hi ? 1 : 0 })
}

/// `a · b` for equal shapes, or `[N, C, H, W] · [N, C, 1, 1]` (either order: squeeze-excitation
/// gates), broadcasting the second over H, W.
public func multiply(_ a: Tensor, _ b: Tensor) -> Tensor {
    if a.shape == b.shape {
        let out = Tensor(uninitialized: a.shape)
        let x = a.pointer, y = b.pointer, d = out.pointer
        Parallel.chunks(a.count, minChunk: 65536) { r in for i in r { d[i] = x[i] * y[i] } }
        return Autograd.record(out, inputs: [a, b]) { gy, needs in
            let g = gy.pointer
            var da: Tensor?, db: Tensor?
            if needs[0] { let t = Tensor(uninitialized: a.shape); let o = t.pointer; for i in 0..<a.count { o[i] = g[i] * y[i] }; da = t }
            if needs[1] { let t = Tensor(uninitialized: b.shape); let o = t.pointer; for i in 0..<b.count { o[i] = g[i] * x[i] }; db = t }
            return [da, db]
        }
    }
    if b.count > a.count { return multiply(b, a) }
    checkShape(a.rank == 4 && b.shape == [a.shape[0], a.shape[1], 1, 1],
               "multiply: shapes \(a.shape) and \(b.shape) are neither equal nor [N, C, H, W] · [N, C, 1, 1]")
    let planes = a.shape[0] * a.shape[1], plane = a.shape[2] * a.shape[3]
    let out = Tensor(uninitialized: a.shape)
    let x = a.pointer, s = b.pointer, d = out.pointer
    Parallel.forEach(planes, minChunk: 16) { p in for i in 0..<plane { d[p * plane + i] = x[p * plane + i] * s[p] } }
    return Autograd.record(out, inputs: [a, b]) { gy, needs in
        let g = gy.pointer
        var da: Tensor?, db: Tensor?
        if needs[0] {
            let t = Tensor(uninitialized: a.shape); let o = t.pointer
            Parallel.forEach(planes, minChunk: 16) { p in for i in 0..<plane { o[p * plane + i] = g[p * plane + i] * s[p] } }
            da = t
        }
        if needs[1] {
            let t = Tensor(uninitialized: b.shape); let o = t.pointer
            Parallel.forEach(planes, minChunk: 16) { p in
                var acc: Float = 0
                for i in 0..<plane { acc += g[p * plane + i] * x[p * plane + i] }
                o[p] = acc
            }
            db = t
        }
        return [da, db]
    }
}

/// Zero padding of `[N, C, H, W]` by `top, left, bottom, right` → `[N, C, H+top+bottom, W+left+right]`.
public func pad2d(_ x: Tensor, top: Int, left: Int, bottom: Int, right: Int) -> Tensor {
    checkShape(x.rank == 4, "pad2d: input must be [N, C, H, W], got \(x.shape)")
    let (h, w) = (x.shape[2], x.shape[3])
    let oh = h + top + bottom, ow = w + left + right
    let planes = x.shape[0] * x.shape[1]
    let out = Tensor(zeros: [x.shape[0], x.shape[1], oh, ow])
    let s = x.pointer, d = out.pointer
    Parallel.forEach(planes, minChunk: 16) { p in
        for r in 0..<h { for c in 0..<w { d[(p * oh + r + top) * ow + c + left] = s[(p * h + r) * w + c] } }
    }
    return Autograd.record(out, inputs: [x]) { gy, _ in
        let dx = Tensor(uninitialized: x.shape)
        let g = gy.pointer, o = dx.pointer
        Parallel.forEach(planes, minChunk: 16) { p in
            for r in 0..<h { for c in 0..<w { o[(p * h + r) * w + c] = g[(p * oh + r + top) * ow + c + left] } }
        }
        return [dx]
    }
}

/// A conv weight `[O, I, k, k]` spread to dilation `d`: `[O, I, (k−1)d+1, (k−1)d+1]` with zeros
/// between the taps, so a plain conv with it is the dilated conv.
public func dilateKernel(_ w: Tensor, dilation d: Int) -> Tensor {
    checkShape(w.rank == 4 && d >= 1, "dilateKernel: weight must be [O, I, kH, kW], got \(w.shape)")
    if d == 1 { return w }
    let (kh, kw) = (w.shape[2], w.shape[3])
    let dh = (kh - 1) * d + 1, dw = (kw - 1) * d + 1
    let planes = w.shape[0] * w.shape[1]
    let out = Tensor(zeros: [w.shape[0], w.shape[1], dh, dw])
    let s = w.pointer, o = out.pointer
    for p in 0..<planes { for r in 0..<kh { for c in 0..<kw { o[(p * dh + r * d) * dw + c * d] = s[(p * kh + r) * kw + c] } } }
    return Autograd.record(out, inputs: [w]) { gy, _ in
        let dx = Tensor(uninitialized: w.shape)
        let g = gy.pointer, q = dx.pointer
        for p in 0..<planes { for r in 0..<kh { for c in 0..<kw { q[(p * kh + r) * kw + c] = g[(p * dh + r * d) * dw + c * d] } } }
        return [dx]
    }
}
