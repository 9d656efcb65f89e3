/// A convolution followed by an eval-mode batch norm, an optional residual add and an optional
/// ReLU/ReLU6 — `activation(batchNorm2d(conv2d(x, …), …, training: false) + residual)` — written
/// once for inference: the batch norm is folded to a scale and shift per output channel (the
/// conv's bias folded into the shift), and the products apply them, the residual and the clamp
/// to each column panel as its sum completes (``ConvEpilogue``); Winograd and the direct conv apply it to
/// each block of outputs right after writing it, depthwise convs without a residual in their
/// kernel (with one, after it). The
/// conv's output is never stored and read back as a tensor of its own, and no second output
/// buffer is allocated.
///
/// - Parameters:
///   - x: `[N, C, H, W]`
///   - weight: `[O, C/groups, kH, kW]`; `bias`: `[O]` or nil; `pack`: as ``conv2d(_:weight:bias:stride:padding:groups:pack:)``'s.
///   - bnWeight, bnBias, runningMean, runningVar: `[O]`
///   - residual: `[N, O, OH, OW]` or nil.
/// - Returns: `[N, O, OH, OW]`, equal to the separate ops up to float rounding (the scale, shift
///   and residual are applied to the sum in one expression instead of to stored tensors).
///
/// While autograd records (outside ``Autograd/noGrad(_:)``) it runs the separate ops, so
/// gradients are always those of the unfused ops.
public func conv2dBatchNorm(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0,
                            groups: Int = 1, pack: ConvWeightPack? = nil,
                            bnWeight: Tensor, bnBias: Tensor, runningMean: Tensor, runningVar: Tensor, eps: Float = 1e-5,
                            activation: BatchNormActivation = .none, residual: Tensor? = nil) -> Tensor {
    guard !Autograd.isRecording else {
        let h = conv2d(x, weight: weight, bias: bias, stride: stride, padding: padding, groups: groups, pack: pack)
        guard let residual else {
            return batchNorm2d(h, weight: bnWeight, bias: bnBias, runningMean: runningMean, runningVar: runningVar,
                               training: false, eps: eps, activation: activation)
        }
        let b = batchNorm2d(h, weight: bnWeight, bias: bnBias, runningMean: runningMean, runningVar: runningVar,
                            training: false, eps: eps)
        switch activation {
        case .none: return add(b, residual)
        case .relu: return addReLU(b, residual)
        case .relu6: return relu6(add(b, residual))
        }
    }
    let plan = ConvPlan(x: x.shape, weight: weight.shape, bias: bias?.shape, stride: stride, padding: padding, groups: groups)
    let o = plan.outChannels
    if let residual {
        checkShape(residual.shape == plan.outputShape, "conv2dBatchNorm: residual \(residual.shape) does not match the conv's output \(plan.outputShape)")
    }
    let (scale, shift) = foldedBatchNorm(channels: o, weight: bnWeight, bias: bnBias, runningMean: runningMean,
                                         runningVar: runningVar, eps: eps, convBias: bias, caller: "conv2dBatchNorm")
    let out = Tensor(uninitialized: plan.outputShape)
    let epilogue = ConvEpilogue(scale: scale.pointer, shift: shift.pointer, residual: residual?.pointer,
                                lower: activation.clamp.lower, upper: activation.clamp.upper)
    // (Nested: a tuple of an optional here leaked the tensors in release builds.)
    withExtendedLifetime(scale) { withExtendedLifetime(shift) { withExtendedLifetime(residual) {
        if plan.usesDepthwiseKernel && residual == nil {
            depthwiseForward(x.pointer, weight.pointer, out.pointer, plan,
                             affine: ChannelAffine(scale: epilogue.scale, shift: epilogue.shift, lower: epilogue.lower, upper: epilogue.upper))
        } else if plan.usesDepthwiseKernel {
            depthwiseForward(x.pointer, weight.pointer, out.pointer, plan)
            epilogue.apply(to: out.pointer, shape: plan.outputShape)
        } else {
            gemmForward(plan, x.pointer, weight.pointer, out.pointer, pack: pack.flatMap { $0.isValid(for: weight) ? $0 : nil },
                        epilogue: epilogue)
        }
    } } }
    return out
}

/// An eval-mode batch norm of `channels` channels folded to `y = x · scale + shift` (the folding
/// batchNorm2d does), with a preceding conv's `convBias` folded into the shift.
func foldedBatchNorm(channels c: Int, weight: Tensor, bias: Tensor, runningMean: Tensor, runningVar: Tensor, eps: Float,
                     convBias: Tensor? = nil, caller: String) -> (scale: Tensor, shift: Tensor) {
    for (name, t) in [("weight", weight), ("bias", bias), ("running_mean", runningMean), ("running_var", runningVar)] {
        checkShape(t.shape == [c], "\(caller): batch norm \(name) \(t.shape) does not match the conv's \(c) output channels")
    }
    let scale = Tensor(uninitialized: [c]), shift = Tensor(uninitialized: [c])
    for ch in 0..<c {
        let invStd = 1 / (runningVar.pointer[ch] + eps).squareRoot()
        scale.pointer[ch] = weight.pointer[ch] * invStd
        shift.pointer[ch] = bias.pointer[ch] - runningMean.pointer[ch] * scale.pointer[ch]
        if let convBias { shift.pointer[ch] += convBias.pointer[ch] * scale.pointer[ch] }
    }
    return (scale, shift)
}
