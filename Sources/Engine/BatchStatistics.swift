import CKernels
import Foundation

/// Per-channel batch statistics of `x` `[N, C, H, W]`: the mean and the biased variance over
/// (N, H, W), as a batch-norm layer in training mode computes them. → two `[C]` tensors.
public func channelStatistics(_ x: Tensor) -> (mean: Tensor, variance: Tensor) {
    checkShape(x.rank == 4, "channelStatistics: input must be [N, C, H, W], got \(x.shape)")
    let n = x.shape[0], c = x.shape[1], plane = x.shape[2] * x.shape[3]
    let m = Double(n * plane)
    let mean = Tensor(uninitialized: [c]), variance = Tensor(uninitialized: [c])
    let xp = x.pointer
    Parallel.forEach(c) { ch in
        var s: Double = 0, ss: Double = 0
        for b in 0..<n { s += Double(pk_sum(xp + (b * c + ch) * plane, plane)) }
        let mu = s / m
        for b in 0..<n { ss += Double(pk_sum_sq_dev(xp + (b * c + ch) * plane, plane, Float(mu))) }
        mean.pointer[ch] = Float(mu)
        variance.pointer[ch] = Float(ss / m)
    }
    return (mean, variance)
}

/// DeepInversion's batch-norm statistics loss for one layer:
/// `‖μ − μ*‖₂ + ‖σ² − σ*²‖₂`, where μ and σ² are the per-channel mean and biased variance of
/// `x` over (N, H, W) (``channelStatistics``) and μ*, σ*² the layer's running statistics.
///
/// - Parameters:
///   - x: `[N, C, H, W]`, the input of a batch-norm layer
///   - targetMean, targetVariance: `[C]` (constants: no gradient flows to them)
/// - Returns: scalar `[]`. Gradient: `∂/∂x[n,c,h,w] = (u_c + 2 v_c (x − μ_c)) / M` with
///   `u = (μ − μ*)/‖μ − μ*‖`, `v = (σ² − σ*²)/‖σ² − σ*²‖` (zero where a norm is zero), `M = N·H·W`.
public func batchStatisticsLoss(_ x: Tensor, targetMean: Tensor, targetVariance: Tensor) -> Tensor {
    let c = x.rank == 4 ? x.shape[1] : -1
    checkShape(targetMean.shape == [c] && targetVariance.shape == [c],
               "batchStatisticsLoss: targets \(targetMean.shape), \(targetVariance.shape) do not match input \(x.shape)")
    let (mean, variance) = channelStatistics(x)
    var dm = [Float](repeating: 0, count: c), dv = [Float](repeating: 0, count: c)
    var nm: Double = 0, nv: Double = 0
    for ch in 0..<c {
        dm[ch] = mean.pointer[ch] - targetMean.pointer[ch]
        dv[ch] = variance.pointer[ch] - targetVariance.pointer[ch]
        nm += Double(dm[ch]) * Double(dm[ch])
        nv += Double(dv[ch]) * Double(dv[ch])
    }
    nm = nm.squareRoot(); nv = nv.squareRoot()
    let out = Tensor(scalar: Float(nm + nv))
    return Autograd.record(out, inputs: [x]) { [dm, dv] gy, _ in
        let n = x.shape[0], plane = x.shape[2] * x.shape[3]
        let m = Float(n * plane), g = gy.item
        let u = dm.map { nm > 0 ? g * $0 / Float(nm) / m : 0 }
        let v = dv.map { nv > 0 ? 2 * g * $0 / Float(nv) / m : 0 }
        let dx = Tensor(uninitialized: x.shape)
        let xp = x.pointer, dp = dx.pointer, mp = mean.pointer
        Parallel.forEach(n * c, minChunk: 16) { nc in
            let ch = nc % c
            let a = u[ch] - v[ch] * mp[ch], b = v[ch]
            let src = xp + nc * plane, dst = dp + nc * plane
            for i in 0..<plane { dst[i] = a + b * src[i] }
        }
        return [dx]
    }
}
