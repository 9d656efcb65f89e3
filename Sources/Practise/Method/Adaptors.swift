import Engine
import NN

/// A convolution with optional identity-initialised 1×1 adaptors around it:
/// `post(conv(pre(x)))`. Children: `conv` (the wrapped, frozen conv), `pre`, `post`.
public final class AdaptedConv: Module, @unchecked Sendable {
    public override var isStatelessInInference: Bool { true }
    /// The wrapped conv and the adaptors, registered as the children `conv`, `pre`, `post`.
    public let conv: Conv2d, pre: Conv2d?, post: Conv2d?

    public init(_ conv: Conv2d, pre: Bool, post: Bool) {
        self.conv = conv
        self.pre = pre ? AdaptedConv.identityAdaptor(conv.inChannels) : nil
        self.post = post ? AdaptedConv.identityAdaptor(conv.outChannels) : nil
        super.init()
        register("conv", conv)
        if let p = self.pre { register("pre", p) }
        if let p = self.post { register("post", p) }
    }

    /// A C→C 1×1 conv without bias whose weight is the identity matrix.
    static func identityAdaptor(_ channels: Int) -> Conv2d {
        var g = SeededGenerator(seed: 0)
        let a = Conv2d(channels, channels, kernelSize: 1, generator: &g)
        let w = Tensor(zeros: [channels, channels, 1, 1])
        for c in 0..<channels { w.pointer[c * channels + c] = 1 }
        a.weight.value = w
        return a
    }

    public override func forward(_ x: Tensor) -> Tensor {
        var h = x
        if let pre { h = pre(h) }
        h = conv(h)
        if let post { h = post(h) }
        return h
    }

    /// One plain conv computing exactly the same function:
    /// after-adaptor `A`: `W' = A·W`, `b' = A·b`; pre-adaptor `P`: `W'[o,i] = Σ_k W[o,k]·P[k,i]`.
    /// Both need an ungrouped conv, as every conv the reference adapts is (zero padding is
    /// preserved since `P·0 = 0`).
    public func absorbed() -> Conv2d {
        let c = conv
        precondition(c.groups == 1, "adaptors can only be absorbed into an ungrouped conv")
        var g = SeededGenerator(seed: 0)
        let out = Conv2d(c.inChannels, c.outChannels, kernelSize: c.kernelSize, stride: c.stride, padding: c.padding,
                         bias: c.bias != nil, generator: &g)
        var w = c.weight.value.copy()
        var b = c.bias?.value.copy()
        let o = c.outChannels, taps = c.kernelSize * c.kernelSize
        if let pre {
            let i = c.inChannels
            let p = pre.weight.value
            let nw = Tensor(zeros: w.shape)
            for oo in 0..<o { for ii in 0..<i { for t in 0..<taps {
                var acc: Float = 0
                for k in 0..<i { acc += w.pointer[(oo * i + k) * taps + t] * p.pointer[k * i + ii] }
                nw.pointer[(oo * i + ii) * taps + t] = acc
            } } }
            w = nw
        }
        if let post {
            let a = post.weight.value
            let per = w.count / o
            let nw = Tensor(zeros: w.shape)
            Gemm.single(m: o, n: per, k: o, a: a.pointer, lda: o, b: w.pointer, ldb: per, c: nw.pointer, ldc: per)
            w = nw
            if let bb = b {
                let nb = Tensor(zeros: [o])
                for r in 0..<o { for k in 0..<o { nb.pointer[r] += a.pointer[r * o + k] * bb.pointer[k] } }
                b = nb
            }
        }
        out.weight.value = w
        if let b { out.bias!.value = b }
        return out
    }
}

/// Where the reference puts adaptors when one block is dropped, and how to apply them.
///
/// For a dropped block at index `b` of stage `s`:
/// - after-adaptors on the exit convs (last conv, and `downsample.0` when present) of blocks
///   `0..<b` of stage `s`;
/// - pre-adaptors on the entry convs (`conv1`, and `downsample.0` when present; MobileNetV2's
///   first conv) of blocks `b+1…` of stage `s` and of the first block of stage `s+1`.
public struct AdaptorPlacement: Sendable, Equatable {
    public var dropped: String
    /// Full paths of convs that get an after-adaptor / a pre-adaptor.
    public var afterConvs: [String], preConvs: [String]
    /// Index (among all blocks) of the first block whose computation changes: a forward pass
    /// may start there from the teacher's activations.
    public var firstChangedBlock: Int

    public init(dropping candidate: BlockCandidate, in model: ClassifierModel) {
        let stages = model.stages
        let stage = stages[candidate.stage]
        func block(_ p: String) -> ResidualBlock { model.module(at: p) as! ResidualBlock }
        dropped = candidate.path
        afterConvs = stage[..<candidate.indexInStage].flatMap { p in block(p).exitConvPaths.map { "\(p).\($0)" } }
        var pre = stage[(candidate.indexInStage + 1)...].flatMap { p in block(p).entryConvPaths.map { "\(p).\($0)" } }
        if candidate.stage + 1 < stages.count, let next = stages[candidate.stage + 1].first {
            pre += block(next).entryConvPaths.map { "\(next).\($0)" }
        }
        preConvs = pre
        firstChangedBlock = candidate.blockIndex - candidate.indexInStage
    }
}

/// A dropped block plus its adaptors, applied to and removed from a shared network in place.
///
/// The wrapped convs are the network's own (frozen) modules; only the adaptor weights train.
public final class AdaptedStudent {
    public let placement: AdaptorPlacement
    public let wrappers: [(path: String, module: AdaptedConv)]
    private var originals: [(path: String, module: Module)] = []

    public init(placement: AdaptorPlacement, model: ClassifierModel) {
        self.placement = placement
        let paths = Set(placement.afterConvs).union(placement.preConvs)
        wrappers = paths.sorted().map { p in
            let conv = model.module(at: p) as! Conv2d
            return (p, AdaptedConv(conv, pre: placement.preConvs.contains(p), post: placement.afterConvs.contains(p)))
        }
    }

    /// The adaptor weights, the only trainable parameters.
    public var adaptorParameters: [Parameter] {
        wrappers.flatMap { w in [w.module.pre, w.module.post].compactMap { $0?.weight } }
    }

    /// Drops the block and inserts the adaptors into `model`.
    public func apply(to model: ClassifierModel) {
        precondition(originals.isEmpty, "adaptors already applied")
        originals.append((placement.dropped, model.module(at: placement.dropped)!))
        model.replace(at: placement.dropped, with: Identity())
        for (p, w) in wrappers {
            originals.append((p, model.module(at: p)!))
            model.replace(at: p, with: w)
        }
    }

    /// Restores the teacher's modules.
    public func remove(from model: ClassifierModel) {
        for (p, m) in originals.reversed() { model.replace(at: p, with: m) }
        originals = []
    }
}
