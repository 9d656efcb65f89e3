import Foundation

/// 2-D convolution (cross-correlation, as PyTorch's `F.conv2d`).
///
/// - Parameters:
///   - x: `[N, C, H, W]`
///   - weight: `[O, C/groups, kH, kW]`
///   - bias: `[O]` or nil
///   - pack: `weight` packed beforehand for inference; ignored unless it still holds `weight`.
/// - Returns: `[N, O, OH, OW]` with `OH = (H + 2·padding − kH)/stride + 1`.
///
/// Depthwise convolutions (`groups == C == O`) use a direct kernel; stride-1 3×3 convs with
/// enough channels use Winograd F(2×2, 3×3) (``ConvAlgorithms``); other stride-1 convs whose
/// output is as wide as the input use the direct kernels on AVX-512 and AVX2 (``ConvPlan/usesDirectKernel``,
/// also for their 3×3 weight gradients); every other case multiplies the weight matrix by the
/// images' column matrix with the GEMM kernels (unfolded, or the input itself for 1×1 stride-1
/// convs), small images batched side by side so the GEMMs stay wide.
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil,
                   stride: Int = 1, padding: Int = 0, groups: Int = 1, pack: ConvWeightPack? = nil) -> Tensor {
    let plan = ConvPlan(x: x.shape, weight: weight.shape, bias: bias?.shape, stride: stride, padding: padding, groups: groups)
    let out = Tensor(uninitialized: plan.outputShape)
    if plan.usesDepthwiseKernel {
        depthwiseForward(x.pointer, weight.pointer, out.pointer, plan)
    } else {
        gemmForward(plan, x.pointer, weight.pointer, out.pointer, pack: pack.flatMap { $0.isValid(for: weight) ? $0 : nil })
    }
    if let bias { addChannelBias(out, bias) }
    var inputs = [x, weight]
    if let bias { inputs.append(bias) }
    return Autograd.record(out, inputs: inputs) { gy, needs in
        var dx: Tensor? = nil, dw: Tensor? = nil, db: Tensor? = nil
        if plan.isDepthwise {
            if needs[0] { dx = Tensor(zeros: x.shape) }
            if needs[1] { dw = Tensor(zeros: weight.shape) }
            depthwiseBackward(x.pointer, weight.pointer, gy.pointer, dx?.pointer, dw?.pointer, plan)
        } else if needs[0], let dgrad = plan.inputGradientPlan, plan.geometry.kernelH > 1 {
            // The input gradient of a stride-1 conv is itself a conv: gy convolved with the
            // flipped, transposed weight. Run as a forward pass (Winograd where it qualifies),
            // it writes dx directly, with a product as wide as the forward's, instead of a
            // product over only O channels into a column matrix that col2im then folds back.
            // The weight gradient is separate (direct kernel or column-matrix pass).
            dx = Tensor(uninitialized: x.shape)
            let flipped = flippedTransposedKernel(weight)
            withExtendedLifetime(flipped) { gemmForward(dgrad, gy.pointer, flipped.pointer, dx!.pointer, pack: nil) }
            if needs[1] { dw = plan.weightGradient(x.pointer, weight.pointer, gy.pointer) }
        } else if !needs[0] {
            if needs[1] { dw = plan.weightGradient(x.pointer, weight.pointer, gy.pointer) }
        } else {
            // ConvPlan.backward overwrites both.
            if needs[0] { dx = Tensor(uninitialized: x.shape) }
            if needs[1] { dw = Tensor(uninitialized: weight.shape) }
            plan.backward(x.pointer, weight.pointer, gy.pointer, dx?.pointer, dw?.pointer)
        }
        if needs.count > 2 && needs[2] { db = channelSums(gy) }
        return [dx, dw, db]
    }
}

/// The forward product of a non-depthwise conv `plan`: Winograd where it qualifies, else the
/// direct kernel where it applies, else the column-matrix product; with the weight's inference
/// `pack` (already checked valid) if any, and `epilogue` applied to every output (as the
/// column-matrix product stores its tiles, as Winograd's output transform and the direct conv
/// write each block).
func gemmForward(_ plan: ConvPlan, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                 _ y: UnsafeMutablePointer<Float>, pack: ConvWeightPack?, epilogue: ConvEpilogue? = nil) {
    if let wino = WinogradPlan(plan) {
        let weights = pack?.winograd ?? WinogradWeights(w, outChannels: plan.outChannels, inChannels: plan.inChannels)
        wino.forward(x, weights, y, epilogue: epilogue)
    } else if plan.usesDirectKernel {
        let weights = pack?.direct.flatMap { $0.groups == plan.groups ? $0 : nil }
            ?? DirectConvWeights(w, groups: plan.groups, groupOut: plan.groupOut, columnRows: plan.geometry.columnRows)
        plan.directForward(x, weights, y, epilogue: epilogue)
    } else {
        let prepacked = pack.flatMap { $0.matrices.count == plan.groups ? $0.matrices : nil }
        plan.forward(x, w, y, prepacked: prepacked, epilogue: epilogue)
    }
}

/// Adds `bias[c]` to every element of channel `c` of `out` `[N, C, …]`.
func addChannelBias(_ out: Tensor, _ bias: Tensor) {
    let n = out.shape[0], c = out.shape[1], plane = out.count / max(n * c, 1)
    let o = out.pointer, b = bias.pointer
    Parallel.forEach(n * c, minChunk: 64) { nc in
        let v = b[nc % c]
        let p = o + nc * plane
        for i in 0..<plane { p[i] += v }
    }
}

/// Per-channel sums of `t` `[N, C, …]` → `[C]`.
func channelSums(_ t: Tensor) -> Tensor {
    let n = t.shape[0], c = t.shape[1], plane = t.count / max(n * c, 1)
    let out = Tensor(zeros: [c])
    for b in 0..<n {
        for ch in 0..<c {
            out.pointer[ch] += Float(Vector.sum(t.pointer + (b * c + ch) * plane, count: plane))
        }
    }
    return out
}

/// `w` `[O, C, kH, kW]` → `[C, O, kH, kW]` with each kernel rotated by 180°: the weight of the
/// convolution that maps an output gradient to the input gradient (stride 1, groups 1).
func flippedTransposedKernel(_ w: Tensor) -> Tensor {
    let o = w.shape[0], c = w.shape[1], taps = w.shape[2] * w.shape[3]
    let out = Tensor(uninitialized: [c, o, w.shape[2], w.shape[3]])
    let src = w.pointer, dst = out.pointer
    for oi in 0..<o {
        for ci in 0..<c {
            let s = src + (oi * c + ci) * taps, d = dst + (ci * o + oi) * taps
            for t in 0..<taps { d[taps - 1 - t] = s[t] }
        }
    }
    return out
}
