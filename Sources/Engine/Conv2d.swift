import Foundation

/// 2-D convolution (cross-correlation, as PyTorch's `F.conv2d`).
///
/// - Parameters:
///   - x: `[N, C, H, W]`
///   - weight: `[O, C/groups, kH, kW]`
///   - bias: `[O]` or nil
/// - Returns: `[N, O, OH, OW]` with `OH = (H + 2·padding − kH)/stride + 1`.
///
/// Depthwise convolutions (`groups == C == O`) use a direct kernel; every other case unfolds
/// images into a column matrix (skipped for 1×1 stride-1 convs) and multiplies by the weight
/// matrix with the GEMM kernels. Small images are batched side by side so the GEMMs stay wide.
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil,
                   stride: Int = 1, padding: Int = 0, groups: Int = 1) -> Tensor {
    let plan = ConvPlan(x: x.shape, weight: weight.shape, bias: bias?.shape, stride: stride, padding: padding, groups: groups)
    let out = Tensor(uninitialized: plan.outputShape)
    if plan.isDepthwise {
        depthwiseForward(x.pointer, weight.pointer, out.pointer, plan)
    } else {
        plan.forward(x.pointer, weight.pointer, out.pointer)
    }
    if let bias { addChannelBias(out, bias) }
    var inputs = [x, weight]
    if let bias { inputs.append(bias) }
    return Autograd.record(out, inputs: inputs) { gy, needs in
        var dx: Tensor? = nil, dw: Tensor? = nil, db: Tensor? = nil
        if needs[0] { dx = Tensor(zeros: x.shape) }
        if needs[1] { dw = Tensor(zeros: weight.shape) }
        if plan.isDepthwise {
            depthwiseBackward(x.pointer, weight.pointer, gy.pointer, dx?.pointer, dw?.pointer, plan)
        } else {
            plan.backward(x.pointer, weight.pointer, gy.pointer, dx?.pointer, dw?.pointer)
        }
        if needs.count > 2 && needs[2] { db = channelSums(gy) }
        return [dx, dw, db]
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

/// Shapes and work split of one convolution call.
struct ConvPlan: Sendable {
    let batch: Int, inChannels: Int, outChannels: Int, groups: Int
    let geometry: ConvGeometry          // per group: channels = C/groups
    let imagesPerChunk: Int

    init(x: [Int], weight: [Int], bias: [Int]?, stride: Int, padding: Int, groups: Int) {
        checkShape(x.count == 4, "conv2d: input must be [N, C, H, W], got \(x)")
        checkShape(weight.count == 4, "conv2d: weight must be [O, C/groups, kH, kW], got \(weight)")
        checkShape(groups >= 1 && x[1] % groups == 0 && weight[0] % groups == 0,
                   "conv2d: groups \(groups) must divide input channels \(x[1]) and output channels \(weight[0])")
        checkShape(weight[1] == x[1] / groups,
                   "conv2d: weight \(weight) expects \(weight[1] * groups) input channels, input is \(x)")
        if let bias { checkShape(bias == [weight[0]], "conv2d: bias \(bias) does not match \(weight[0]) output channels") }
        checkShape(stride >= 1 && padding >= 0, "conv2d: stride \(stride) / padding \(padding) invalid")
        batch = x[0]; inChannels = x[1]; outChannels = weight[0]; self.groups = groups
        geometry = ConvGeometry(channels: x[1] / groups, height: x[2], width: x[3],
                                kernelH: weight[2], kernelW: weight[3], stride: stride, padding: padding)
        checkShape(geometry.outHeight > 0 && geometry.outWidth > 0,
                   "conv2d: kernel \(weight[2])×\(weight[3]) larger than padded input \(x)")
        // Batch small images side by side so each GEMM is wide enough (≥ 256 columns) while
        // its column matrix stays about L2-sized (≤ 96 Ki floats), in a number of chunks that
        // divides evenly among the threads.
        let perChunkColumns = max(256, min(1024, 98_304 / max(geometry.columnRows, 1)))
        let columns = batch * geometry.columnCount
        let threads = Threads.count
        let chunksWanted = max(1, threads * ((columns + perChunkColumns * threads - 1) / (perChunkColumns * threads)))
        imagesPerChunk = max(1, (batch + chunksWanted - 1) / chunksWanted)
    }

    var outputShape: [Int] { [batch, outChannels, geometry.outHeight, geometry.outWidth] }
    var isDepthwise: Bool { groups == inChannels && groups == outChannels }
    var groupOut: Int { outChannels / groups }
    var inPlane: Int { geometry.height * geometry.width }
    var outPlane: Int { geometry.columnCount }
    var chunkCount: Int { (batch + imagesPerChunk - 1) / imagesPerChunk }
    /// Whether to split chunks across threads (else each GEMM is split).
    var parallelOverChunks: Bool { chunkCount >= Threads.count && Threads.count > 1 }

    /// Images `[first, first+count)` of chunk `index`.
    func chunk(_ index: Int) -> (first: Int, count: Int) {
        let first = index * imagesPerChunk
        return (first, min(imagesPerChunk, batch - first))
    }

    /// Fills `col` `[K, count·OH·OW]` for group `g` of images in the chunk.
    func unfold(_ x: UnsafePointer<Float>, group g: Int, first: Int, count: Int, into col: UnsafeMutablePointer<Float>) {
        let cols = count * outPlane
        for t in 0..<count {
            let img = x + ((first + t) * inChannels + g * geometry.channels) * inPlane
            im2col(img, geometry, col + t * outPlane, ldc: cols)
        }
    }

    /// The column matrix `[K, count·OH·OW]` of group `g` of the chunk's images: the input itself
    /// for a 1×1 stride-1 conv of one image, else unfolded into `scratch`.
    func columnMatrix(_ x: UnsafePointer<Float>, group g: Int, first: Int, count: Int,
                      scratch: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        if geometry.isPointwise && count == 1 { return x + (first * inChannels + g * geometry.channels) * inPlane }
        unfold(x, group: g, first: first, count: count, into: scratch)
        return UnsafePointer(scratch)
    }

    func forward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        let k = geometry.columnRows, og = groupOut
        let perChunk = parallelOverChunks
        let colSize = k * imagesPerChunk * outPlane
        let tmpSize = imagesPerChunk > 1 ? og * imagesPerChunk * outPlane : 0
        let work = { (chunks: Range<Int>) in
            let col = UnsafeMutablePointer<Float>.allocate(capacity: max(colSize, 1))
            let tmp = UnsafeMutablePointer<Float>.allocate(capacity: max(tmpSize, 1))
            defer { col.deallocate(); tmp.deallocate() }
            for ci in chunks {
                let (first, count) = chunk(ci)
                let cols = count * outPlane
                for g in 0..<groups {
                    let wg = w + g * og * k
                    let b = columnMatrix(x, group: g, first: first, count: count, scratch: col)
                    if count == 1 {
                        let dst = y + (first * outChannels + g * og) * outPlane
                        gemm(perChunk, m: og, n: cols, k: k, a: wg, lda: k, b: b, ldb: cols, c: dst, ldc: cols)
                    } else {
                        gemm(perChunk, m: og, n: cols, k: k, a: wg, lda: k, b: b, ldb: cols, c: tmp, ldc: cols)
                        for t in 0..<count {
                            for o in 0..<og {
                                Vector.copy(y + ((first + t) * outChannels + g * og + o) * outPlane,
                                            tmp + o * cols + t * outPlane, count: outPlane)
                            }
                        }
                    }
                }
            }
        }
        if perChunk { Parallel.chunks(chunkCount, work) } else { work(0..<chunkCount) }
    }

    func backward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ gy: UnsafePointer<Float>,
                  _ dx: UnsafeMutablePointer<Float>?, _ dw: UnsafeMutablePointer<Float>?) {
        let k = geometry.columnRows, og = groupOut
        let perChunk = parallelOverChunks
        let pieces = perChunk ? Parallel.pieceCount(chunkCount) : 1
        let wSize = outChannels * k
        // Private weight-gradient accumulators per thread, summed at the end.
        let dwParts = UnsafeMutablePointer<Float>.allocate(capacity: max(pieces * wSize, 1))
        dwParts.initialize(repeating: 0, count: pieces * wSize)
        defer { dwParts.deallocate() }
        let colSize = k * imagesPerChunk * outPlane
        let gySize = imagesPerChunk > 1 ? og * imagesPerChunk * outPlane : 0
        let work = { (chunks: Range<Int>, piece: Int) in
            let myDW = dwParts + piece * wSize
            let col = UnsafeMutablePointer<Float>.allocate(capacity: max(colSize, 1))
            let dcol = UnsafeMutablePointer<Float>.allocate(capacity: max(colSize, 1))
            let gyc = UnsafeMutablePointer<Float>.allocate(capacity: max(gySize, 1))
            defer { col.deallocate(); dcol.deallocate(); gyc.deallocate() }
            for ci in chunks {
                let (first, count) = chunk(ci)
                let cols = count * outPlane
                for g in 0..<groups {
                    // Gradient of this group's outputs as [og, cols].
                    let gyg: UnsafePointer<Float>
                    if count == 1 {
                        gyg = gy + (first * outChannels + g * og) * outPlane
                    } else {
                        for t in 0..<count {
                            for o in 0..<og {
                                Vector.copy(gyc + o * cols + t * outPlane,
                                            gy + ((first + t) * outChannels + g * og + o) * outPlane, count: outPlane)
                            }
                        }
                        gyg = UnsafePointer(gyc)
                    }
                    let direct = geometry.isPointwise && count == 1
                    if dw != nil {
                        let b = columnMatrix(x, group: g, first: first, count: count, scratch: col)
                        // dW_g[og, K] += gy_g[og, cols] · col[K, cols]ᵀ
                        gemm(perChunk, transB: true, m: og, n: k, k: cols, a: gyg, lda: cols, b: b, ldb: cols,
                             beta: 1, c: myDW + g * og * k, ldc: k)
                    }
                    if let dx {
                        let wg = w + g * og * k
                        if direct {
                            let dst = dx + (first * inChannels + g * geometry.channels) * inPlane
                            gemm(perChunk, transA: true, m: k, n: cols, k: og, a: wg, lda: k, b: gyg, ldb: cols,
                                 beta: 1, c: dst, ldc: cols)
                        } else {
                            // dcol[K, cols] = W_gᵀ · gy_g, then fold back into dx.
                            gemm(perChunk, transA: true, m: k, n: cols, k: og, a: wg, lda: k, b: gyg, ldb: cols,
                                 c: dcol, ldc: cols)
                            for t in 0..<count {
                                let img = dx + ((first + t) * inChannels + g * geometry.channels) * inPlane
                                col2im(dcol + t * outPlane, ldc: cols, geometry, img)
                            }
                        }
                    }
                }
            }
        }
        if perChunk { Parallel.indexedChunks(chunkCount, work) } else { work(0..<chunkCount, 0) }
        if let dw {
            for p in 0..<pieces { Vector.add(dw, dwParts + p * wSize, count: wSize) }
        }
    }

    @inline(__always)
    private func gemm(_ single: Bool, transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                      a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                      beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if single {
            Gemm.single(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        } else {
            Gemm.parallel(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
    }
}
