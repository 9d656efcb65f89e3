import CKernels
import Foundation

/// 2-D batch normalisation over `[N, C, H, W]`, as `F.batch_norm`.
///
/// Training mode normalises with the batch statistics (biased variance) and updates the running
/// statistics in place: `running = (1 − momentum)·running + momentum·batch`, with the unbiased
/// variance (`var · M/(M−1)`, `M = N·H·W`). Eval mode uses the running statistics.
///
/// - Parameters:
///   - weight, bias: `[C]` affine parameters (γ, β).
///   - runningMean, runningVar: `[C]` buffers, updated in training mode.
///   - activation: a ReLU or ReLU6 applied to the output in the same pass (`relu(batchNorm2d(…))`
///     with one tensor fewer written and read, forward and backward).
public func batchNorm2d(_ x: Tensor, weight: Tensor, bias: Tensor, runningMean: Tensor, runningVar: Tensor,
                        training: Bool, momentum: Float = 0.1, eps: Float = 1e-5,
                        activation: BatchNormActivation = .none) -> Tensor {
    checkShape(x.rank == 4 || x.rank == 2, "batchNorm2d: input must be [N, C, H, W], got \(x.shape)")
    let n = x.shape[0], c = x.shape[1], plane = x.count / max(n * c, 1)
    for (name, t) in [("weight", weight), ("bias", bias), ("running_mean", runningMean), ("running_var", runningVar)] {
        checkShape(t.shape == [c], "batchNorm2d: \(name) \(t.shape) does not match \(c) channels of input \(x.shape)")
    }
    let m = n * plane
    let mean = Tensor(uninitialized: [c]), invStd = Tensor(uninitialized: [c])
    let xp = x.pointer
    if training {
        checkShape(m > 1, "batchNorm2d: training needs more than one value per channel, input is \(x.shape)")
        Parallel.forEach(c) { ch in
            var s: Double = 0, ss: Double = 0
            for b in 0..<n { s += Double(pk_sum(xp + (b * c + ch) * plane, plane)) }
            let mu = s / Double(m)
            for b in 0..<n { ss += Double(pk_sum_sq_dev(xp + (b * c + ch) * plane, plane, Float(mu))) }
            let variance = ss / Double(m)
            mean.pointer[ch] = Float(mu)
            invStd.pointer[ch] = Float(1 / (variance + Double(eps)).squareRoot())
            let rm = runningMean.pointer, rv = runningVar.pointer
            rm[ch] = (1 - momentum) * rm[ch] + momentum * Float(mu)
            rv[ch] = (1 - momentum) * rv[ch] + momentum * Float(variance * Double(m) / Double(m - 1))
        }
    } else {
        for ch in 0..<c {
            mean.pointer[ch] = runningMean.pointer[ch]
            invStd.pointer[ch] = 1 / (runningVar.pointer[ch] + eps).squareRoot()
        }
    }
    let out = Tensor(uninitialized: x.shape)
    let w = weight.pointer, bb = bias.pointer, yp = out.pointer
    Parallel.forEach(n * c, minChunk: 16) { nc in
        let ch = nc % c
        let scale = w[ch] * invStd.pointer[ch]
        let shift = bb[ch] - mean.pointer[ch] * scale
        if let upper = activation.upperBound {
            pk_scale_shift_clamp(xp + nc * plane, plane, scale, shift, upper, yp + nc * plane)
        } else {
            pk_scale_shift(xp + nc * plane, plane, scale, shift, yp + nc * plane)
        }
    }
    return Autograd.record(out, inputs: [x, weight, bias]) { gy, needs in
        batchNormBackward(x: x, gy: gy, weight: weight, mean: mean, invStd: invStd, training: training,
                          activationOut: activation.upperBound != nil ? out : nil,
                          upper: activation.upperBound ?? .infinity, needs: needs)
    }
}

/// An activation fused into ``batchNorm2d``.
public enum BatchNormActivation: Sendable {
    case none, relu, relu6

    /// The clamp's upper bound (infinite for ReLU), nil without an activation.
    var upperBound: Float? {
        switch self {
        case .none: nil
        case .relu: .infinity
        case .relu6: 6
        }
    }

    /// The clamp as bounds: `[0, upper]` with an activation, `[-∞, ∞]` without.
    var clamp: (lower: Float, upper: Float) { (upperBound == nil ? -.infinity : 0, upperBound ?? .infinity) }
}

/// Gradients of ``batchNorm2d`` for input, γ and β; `activationOut` is the output of a fused
/// ReLU or ReLU6, whose mask (`0 < y < upper`) the incoming gradient passes through first.
private func batchNormBackward(x: Tensor, gy: Tensor, weight: Tensor, mean: Tensor, invStd: Tensor,
                               training: Bool, activationOut: Tensor?, upper: Float, needs: [Bool]) -> [Tensor?] {
    let n = x.shape[0], c = x.shape[1], plane = x.count / max(n * c, 1)
    let m = Float(n * plane)
    let sumDy = Tensor(zeros: [c]), sumDyXhat = Tensor(zeros: [c])
    let xp = x.pointer, gp = gy.pointer
    let mask: UnsafePointer<Float>? = activationOut.map { UnsafePointer($0.pointer) }
    Parallel.forEach(c) { ch in
        let mu = mean.pointer[ch], inv = invStd.pointer[ch]
        var s: Double = 0, sx: Double = 0
        for b in 0..<n {
            let off = (b * c + ch) * plane
            var a: Float = 0, ax: Float = 0
            pk_sum_and_dot_dev(gp + off, xp + off, mask.map { $0 + off }, plane, mu, upper, &a, &ax)
            s += Double(a); sx += Double(ax)
        }
        sumDy.pointer[ch] = Float(s)
        sumDyXhat.pointer[ch] = Float(sx) * inv
    }
    var dx: Tensor? = nil
    if needs[0] {
        let out = Tensor(uninitialized: x.shape)
        let dp = out.pointer, w = weight.pointer
        Parallel.forEach(n * c, minChunk: 16) { nc in
            let ch = nc % c
            let inv = invStd.pointer[ch], mu = mean.pointer[ch]
            let scale = w[ch] * inv
            let off = nc * plane
            if training {
                let a = sumDy.pointer[ch] / m, b = sumDyXhat.pointer[ch] / m
                pk_bn_input_grad(gp + off, xp + off, mask.map { $0 + off }, plane, mu, inv, scale, a, b, upper, dp + off)
            } else if let mask {
                pk_bn_input_grad(gp + off, xp + off, mask + off, plane, mu, inv, scale, 0, 0, upper, dp + off)
            } else {
                pk_scale_shift(gp + off, plane, scale, 0, dp + off)
            }
        }
        dx = out
    }
    return [dx, needs[1] ? sumDyXhat : nil, needs[2] ? sumDy : nil]
}
