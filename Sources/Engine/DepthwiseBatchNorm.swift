/// A depthwise convolution followed by an eval-mode batch norm and its activation,
/// `batchNorm2d(conv2d(x, weight: weight, stride:, padding:, groups: C), …, training: false, activation:)`,
/// in one pass for inference: the batch norm is folded into a per-channel scale and shift that
/// the depthwise kernel applies, with the ReLU/ReLU6 clamp, as it writes its outputs, so the
/// conv's output is never written and read back as a tensor of its own.
///
/// - Parameters:
///   - x: `[N, C, H, W]`
///   - weight: `[C, 1, kH, kW]`
///   - bnWeight, bnBias, runningMean, runningVar: `[C]`
/// - Returns: `[N, C, OH, OW]`, equal to the two ops up to float rounding (≤ 1e-6 relative: the
///   scale and shift are applied to the sum in one expression instead of to a stored tensor).
///
/// While autograd records (outside ``Autograd/noGrad(_:)``) it runs the two ops themselves, so
/// gradients are always those of the unfused ops.
public func depthwiseConv2dBatchNorm(_ x: Tensor, weight: Tensor, stride: Int = 1, padding: Int = 0,
                                     bnWeight: Tensor, bnBias: Tensor, runningMean: Tensor, runningVar: Tensor,
                                     eps: Float = 1e-5, activation: BatchNormActivation = .none) -> Tensor {
    let c = x.rank == 4 ? x.shape[1] : 0
    if !Autograd.isRecording {
        let plan = ConvPlan(x: x.shape, weight: weight.shape, bias: nil, stride: stride, padding: padding, groups: max(c, 1))
        checkShape(plan.isDepthwise, "depthwiseConv2dBatchNorm: weight \(weight.shape) is not depthwise ([C, 1, kH, kW]) for input \(x.shape)")
    }
    return conv2dBatchNorm(x, weight: weight, stride: stride, padding: padding, groups: max(c, 1), bnWeight: bnWeight, bnBias: bnBias,
                           runningMean: runningMean, runningVar: runningVar, eps: eps, activation: activation)
}
