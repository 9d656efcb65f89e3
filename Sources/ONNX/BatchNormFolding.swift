/// Folds an inference-mode BatchNorm that follows a convolution (or a linear layer) into that
/// layer's weight and bias:
///
///     scale[o]   = gamma[o] / sqrt(runningVar[o] + eps)
///     weight'[o] = weight[o] * scale[o]                      (every element of output channel o)
///     bias'[o]   = (bias[o] - runningMean[o]) * scale[o] + beta[o]     (bias = 0 when absent)
///
/// `convWeight` is row-major with the output channel outermost, e.g. PyTorch's conv layout
/// `[O, I/groups, kH, kW]` or linear layout `[out, in]`; the number of output channels `O` is
/// `gamma.count`. Intermediate arithmetic is done in Double.
public func foldBatchNorm(
    convWeight: [Float],
    convBias: [Float]?,
    gamma: [Float],
    beta: [Float],
    runningMean: [Float],
    runningVar: [Float],
    eps: Float = 1e-5
) -> (weight: [Float], bias: [Float]) {
    let outChannels = gamma.count
    precondition(outChannels > 0, "foldBatchNorm: no channels")
    precondition(beta.count == outChannels && runningMean.count == outChannels && runningVar.count == outChannels,
                 "foldBatchNorm: gamma/beta/runningMean/runningVar must all have \(outChannels) elements")
    precondition(convWeight.count % outChannels == 0,
                 "foldBatchNorm: weight count \(convWeight.count) is not a multiple of \(outChannels) channels")
    if let convBias { precondition(convBias.count == outChannels, "foldBatchNorm: bias must have \(outChannels) elements") }

    let perChannel = convWeight.count / outChannels
    var weight = [Float](repeating: 0, count: convWeight.count)
    var bias = [Float](repeating: 0, count: outChannels)
    for o in 0..<outChannels {
        let scale = Double(gamma[o]) / (Double(runningVar[o]) + Double(eps)).squareRoot()
        let base = o * perChannel
        for k in 0..<perChannel {
            weight[base + k] = Float(Double(convWeight[base + k]) * scale)
        }
        let b = Double(convBias?[o] ?? 0)
        bias[o] = Float((b - Double(runningMean[o])) * scale + Double(beta[o]))
    }
    return (weight, bias)
}
