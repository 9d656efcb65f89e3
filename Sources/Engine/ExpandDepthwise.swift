import CKernels

/// An eval-mode batch norm's parameters, `[C]` each.
public struct EvalBatchNorm {
    public let weight: Tensor, bias: Tensor, runningMean: Tensor, runningVar: Tensor
    public let eps: Float

    public init(weight: Tensor, bias: Tensor, runningMean: Tensor, runningVar: Tensor, eps: Float) {
        self.weight = weight; self.bias = bias; self.runningMean = runningMean; self.runningVar = runningVar; self.eps = eps
    }
}

/// An inverted residual block's expansion and depthwise convs for inference, each with its
/// eval-mode batch norm and activation:
/// `act₂(bn₂(depthwise(act₁(bn₁(conv1×1(x))))))`, computed a group of expanded channels at a
/// time: the 1×1 product of a few rows of the packed weight (with its batch norm and clamp
/// applied as each panel completes) writes a scratch of those channels' planes, and the
/// depthwise kernel reads them from there while they are still in the core's L2 cache. The
/// expanded tensor (MobileNetV2's largest, 96 × 112 × 112 per image) is never written to memory
/// whole and read back; groups of all images run on the engine's threads as they free up.
///
/// - Parameters:
///   - x: `[N, C, H, W]`
///   - expandWeight: `[E, C, 1, 1]`, packed beforehand as `expandPack` (``ConvWeightPack``); `expandBias`: `[E]` or nil.
///   - depthwiseWeight: `[E, 1, kH, kW]`; `depthwiseBias`: `[E]` or nil.
/// - Returns: `[N, E, OH, OW]`, the separate ops' result bit for bit (each product row and
///   each plane is computed as the unfused kernels compute it); nil when the fused form does
///   not apply (autograd recording, a conv other than a stride-1 unpadded 1×1 followed by a
///   depthwise conv of at most 7×7, a missing or stale pack), and the caller runs the two convs itself.
public func expandDepthwiseBatchNorm(_ x: Tensor,
                                     expandWeight: Tensor, expandBias: Tensor?, expandPack: ConvWeightPack?,
                                     expandNorm: EvalBatchNorm, expandActivation: BatchNormActivation,
                                     depthwiseWeight: Tensor, depthwiseBias: Tensor?, stride: Int, padding: Int,
                                     depthwiseNorm: EvalBatchNorm, depthwiseActivation: BatchNormActivation) -> Tensor? {
    let ew = expandWeight.shape, dw = depthwiseWeight.shape
    guard !Autograd.isRecording, x.rank == 4, ew.count == 4, ew[2] == 1, ew[3] == 1, ew[1] == x.shape[1],
          dw.count == 4, dw[0] == ew[0], dw[1] == 1,
          let pack = expandPack, pack.isValid(for: expandWeight), pack.matrices.count == 1 else { return nil }
    let matrix = pack.matrices[0]
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let e = ew[0], plane = h * w
    let depthwisePlan = ConvPlan(x: [n, e, h, w], weight: dw, bias: nil, stride: stride, padding: padding, groups: e)
    guard depthwisePlan.usesDepthwiseKernel else { return nil }
    let (expandScale, expandShift) = foldedBatchNorm(channels: e, weight: expandNorm.weight, bias: expandNorm.bias,
                                                     runningMean: expandNorm.runningMean, runningVar: expandNorm.runningVar,
                                                     eps: expandNorm.eps, convBias: expandBias, caller: "expandDepthwiseBatchNorm")
    let (depthScale, depthShift) = foldedBatchNorm(channels: e, weight: depthwiseNorm.weight, bias: depthwiseNorm.bias,
                                                   runningMean: depthwiseNorm.runningMean, runningVar: depthwiseNorm.runningVar,
                                                   eps: depthwiseNorm.eps, convBias: depthwiseBias, caller: "expandDepthwiseBatchNorm")
    let out = Tensor(uninitialized: depthwisePlan.outputShape)
    let groupRows = expandGroupRows(channels: e, plane: plane, rowUnit: Int(pk_sgemm_packed_row_unit(matrix.level)))
    let groups = (e + groupRows - 1) / groupRows
    var shape = depthwisePlan.geometry.kernelShape
    let taps = dw[2] * dw[3], outPlane = depthwisePlan.geometry.outHeight * depthwisePlan.geometry.outWidth
    let depthwiseScratch = Int(pk_depthwise_scratch_size(&shape))
    let (lower1, upper1) = expandActivation.clamp, (lower2, upper2) = depthwiseActivation.clamp
    withExtendedLifetime((x, pack, depthwiseWeight, expandScale, expandShift, depthScale, depthShift)) {
        Parallel.tasks(n * groups) { task in
            let image = task / groups, first = task % groups * groupRows
            let rows = min(groupRows, e - first)
            // The group's expanded planes, then the depthwise kernel's bordered scratch where
            // the level needs one (zeroed once: each plane writes only its interior).
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: rows * plane + depthwiseScratch)
            defer { scratch.deallocate() }
            let bordered: UnsafeMutablePointer<Float>? = depthwiseScratch > 0 ? scratch + rows * plane : nil
            bordered?.initialize(repeating: 0, count: depthwiseScratch)
            var epilogue = pk_epilogue(scale: expandScale.pointer + first, shift: expandShift.pointer + first, residual: nil, ldr: 0,
                                       lower: lower1, upper: upper1)
            pk_sgemm_packed_rows_epilogue(matrix.level, matrix.transposed ? 1 : 0, 0, matrix.m, first, rows, plane, matrix.k,
                                          matrix.buffer, x.pointer + image * c * plane, plane, scratch, plane, &epilogue)
            var s = shape
            for j in 0..<rows {
                let ch = first + j
                var affine = pk_plane_affine(scale: depthScale.pointer[ch], shift: depthShift.pointer[ch], lower: lower2, upper: upper2)
                pk_depthwise_forward_plane_affine(scratch + j * plane, depthwiseWeight.pointer + ch * taps, &s, &affine,
                                                  out.pointer + (image * e + ch) * outPlane, bordered)
            }
        }
    }
    return out
}

/// Expanded channels per group: a multiple of the packed weight's row panel (`rowUnit`) whose
/// planes hold about 256 KiB (a quarter of a 1 MiB L2, one row panel at the least), and at most
/// a quarter of the channels (rounded up to the unit), so one image's groups still spread over
/// a few threads.
func expandGroupRows(channels e: Int, plane: Int, rowUnit unit: Int) -> Int {
    let fitting = max(unit, (256 << 10) / (plane * MemoryLayout<Float>.stride) / unit * unit)
    let quarter = max(unit, ((e + 3) / 4 + unit - 1) / unit * unit)
    return min(fitting, quarter)
}
