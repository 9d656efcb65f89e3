/// `max(x, 0)` element-wise, any shape.
///
/// The backward pass reads only the output (`y > 0`), so the input is not kept alive for it:
/// a BatchNorm output feeding a ReLU is freed as soon as the ReLU has run.
public func relu(_ x: Tensor) -> Tensor {
    let out = Tensor(uninitialized: x.shape)
    let s = x.pointer, d = out.pointer
    Parallel.chunks(x.count, minChunk: 65536) { r in for i in r { d[i] = Swift.max(s[i], 0) } }
    let shape = x.shape, count = x.count
    return Autograd.record(out, inputs: [x]) { gy, _ in
        let dx = Tensor(uninitialized: shape)
        let g = gy.pointer, y = out.pointer, o = dx.pointer
        // Load unconditionally and select, so the loop vectorises (a conditional load does not).
        Parallel.chunks(count, minChunk: 65536) { r in for i in r { let gi = g[i]; o[i] = y[i] > 0 ? gi : 0 } }
        return [dx]
    }
}

/// `min(max(x, 0), 6)` element-wise, any shape. Like ``relu(_:)``, the backward pass reads only
/// the output (`0 < y < 6` exactly where `0 < x < 6`).
public func relu6(_ x: Tensor) -> Tensor {
    let out = Tensor(uninitialized: x.shape)
    let s = x.pointer, d = out.pointer
    Parallel.chunks(x.count, minChunk: 65536) { r in for i in r { d[i] = Swift.min(Swift.max(s[i], 0), 6) } }
    let shape = x.shape, count = x.count
    return Autograd.record(out, inputs: [x]) { gy, _ in
        let dx = Tensor(uninitialized: shape)
        let g = gy.pointer, o = dx.pointer, y = out.pointer
        Parallel.chunks(count, minChunk: 65536) { r in for i in r { let gi = g[i], yi = y[i]; o[i] = (yi > 0) && (yi < 6) ? gi : 0 } }
        return [dx]
    }
}

/// `relu(a + b)` in one pass (the end of a residual block), for tensors of equal shape. Both
/// inputs get the output's gradient where the output is positive, as the two ops would give.
public func addReLU(_ a: Tensor, _ b: Tensor) -> Tensor {
    checkSameShape(a.shape, b.shape, "addReLU")
    let out = Tensor(uninitialized: a.shape)
    let x = a.pointer, y = b.pointer, d = out.pointer
    Parallel.chunks(a.count, minChunk: 65536) { r in for i in r { d[i] = Swift.max(x[i] + y[i], 0) } }
    let shape = a.shape, count = a.count
    return Autograd.record(out, inputs: [a, b]) { gy, needs in
        let g = Tensor(uninitialized: shape)
        let gp = gy.pointer, yp = out.pointer, o = g.pointer
        Parallel.chunks(count, minChunk: 65536) { r in for i in r { let gi = gp[i]; o[i] = yp[i] > 0 ? gi : 0 } }
        return [needs[0] ? g : nil, needs[1] ? g : nil]
    }
}

/// `a + b` for tensors of equal shape.
public func add(_ a: Tensor, _ b: Tensor) -> Tensor {
    checkSameShape(a.shape, b.shape, "add")
    let out = Tensor(uninitialized: a.shape)
    let x = a.pointer, y = b.pointer, d = out.pointer
    Parallel.chunks(a.count, minChunk: 65536) { r in for i in r { d[i] = x[i] + y[i] } }
    return Autograd.record(out, inputs: [a, b]) { gy, needs in [needs[0] ? gy : nil, needs[1] ? gy : nil] }
}

/// `x · factor` for a constant factor.
public func scaled(_ x: Tensor, by factor: Float) -> Tensor {
    let out = x.copy().detached()
    Vector.scale(out.pointer, factor, count: out.count)
    return Autograd.record(out, inputs: [x]) { gy, _ in
        let dx = gy.copy()
        Vector.scale(dx.pointer, factor, count: dx.count)
        return [dx]
    }
}

/// Same data, new shape (element count preserved).
public func reshape(_ x: Tensor, _ shape: [Int]) -> Tensor {
    checkShape(shape.reduce(1, *) == x.count, "reshape: cannot view \(x.shape) as \(shape)")
    let out = Tensor(shape: shape, storage: x.storage)
    let original = x.shape
    return Autograd.record(out, inputs: [x]) { gy, _ in [Tensor(shape: original, storage: gy.storage)] }
}

/// `[N, …]` → `[N, product of the rest]`.
public func flatten(_ x: Tensor) -> Tensor {
    reshape(x, [x.shape[0], x.count / max(x.shape[0], 1)])
}
