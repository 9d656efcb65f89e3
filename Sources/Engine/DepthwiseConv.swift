import CKernels

/// Direct kernels for depthwise convolution (`groups == C == O`, weight `[C, 1, kH, kW]`).
///
/// Each (image, channel) plane is independent, so planes are split across threads. The forward
/// pass is CKernels' `pk_depthwise_forward_plane`; the backward loops run over an output row with
/// the in-bounds column range computed once per kernel tap.

/// Per-channel map applied to a depthwise conv's outputs as they are written:
/// `min(max(v·scale[c] + shift[c], lower), upper)` (a folded eval-mode batch norm and its activation).
struct ChannelAffine {
    let scale: UnsafePointer<Float>, shift: UnsafePointer<Float>
    let lower: Float, upper: Float
}

/// `y` = depthwise conv of `x` (`plan.usesDepthwiseKernel`), with `affine` applied to each output if given.
func depthwiseForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ plan: ConvPlan,
                      affine: ChannelAffine? = nil) {
    let g = plan.geometry
    let c = plan.inChannels, taps = g.kernelH * g.kernelW
    var shape = g.kernelShape
    let inPlane = g.height * g.width, outPlane = g.outHeight * g.outWidth
    precondition(taps <= 49, "depthwise conv: kernel \(g.kernelH)×\(g.kernelW) larger than 7×7")
    let scratchSize = pk_depthwise_scratch_size(&shape)
    Parallel.chunks(plan.batch * c, minChunk: 4) { planes in
        var s = shape
        // The bordered scratch, where the level needs one: zeroed once for all this chunk's planes.
        let scratch: UnsafeMutablePointer<Float>? = scratchSize > 0 ? .allocate(capacity: scratchSize) : nil
        scratch?.initialize(repeating: 0, count: scratchSize)
        defer { scratch?.deallocate() }
        for nc in planes {
            if let affine {
                var a = pk_plane_affine(scale: affine.scale[nc % c], shift: affine.shift[nc % c],
                                        lower: affine.lower, upper: affine.upper)
                pk_depthwise_forward_plane_affine(x + nc * inPlane, w + (nc % c) * taps, &s, &a, y + nc * outPlane, scratch)
            } else {
                pk_depthwise_forward_plane(x + nc * inPlane, w + (nc % c) * taps, &s, y + nc * outPlane, scratch)
            }
        }
    }
}

func depthwiseBackward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ gy: UnsafePointer<Float>,
                       _ dx: UnsafeMutablePointer<Float>?, _ dw: UnsafeMutablePointer<Float>?, _ plan: ConvPlan) {
    let g = plan.geometry
    let c = plan.inChannels, oh = g.outHeight, ow = g.outWidth
    let taps = g.kernelH * g.kernelW
    // Weight gradients per plane, reduced over the batch afterwards (no shared writes).
    let perPlane = UnsafeMutablePointer<Float>.allocate(capacity: max(plan.batch * c * taps, 1))
    perPlane.initialize(repeating: 0, count: plan.batch * c * taps)
    defer { perPlane.deallocate() }
    Parallel.forEach(plan.batch * c, minChunk: 4) { nc in
        let src = x + nc * g.height * g.width
        let gdst = gy + nc * oh * ow
        let wk = w + (nc % c) * taps
        let dxp = dx.map { $0 + nc * g.height * g.width }
        let dwp = perPlane + nc * taps
        for i in 0..<g.kernelH {
            for j in 0..<g.kernelW {
                let wv = wk[i * g.kernelW + j]
                let valid = g.validColumns(j)
                let off = j - g.padding
                var acc: Float = 0
                for r in 0..<oh {
                    let iy = r * g.stride - g.padding + i
                    if iy < 0 || iy >= g.height { continue }
                    let s = src + iy * g.width + off
                    let d = gdst + r * ow
                    if g.stride == 1 {
                        for q in valid { acc += d[q] * s[q] }
                        if let dxp { let t = dxp + iy * g.width + off; for q in valid { t[q] += wv * d[q] } }
                    } else {
                        for q in valid { acc += d[q] * s[q * g.stride] }
                        if let dxp { let t = dxp + iy * g.width + off; for q in valid { t[q * g.stride] += wv * d[q] } }
                    }
                }
                dwp[i * g.kernelW + j] = acc
            }
        }
    }
    if let dw {
        for n in 0..<plan.batch { Vector.add(dw, perPlane + n * c * taps, count: c * taps) }
    }
}
