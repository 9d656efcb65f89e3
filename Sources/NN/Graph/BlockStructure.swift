/// What the PRACTISE method needs to know about a block, read off its steps — for the zoo's
/// blocks and imported ones alike, so no architecture spells it out by hand. Paths are relative
/// to the block.
///
/// - **Residual**: the block has an Add of two computed values; **identity skip**: one Add
///   operand is the block's own input (the block may be dropped).
/// - **Entry convs** read the block input (where the reference puts pre-adaptors).
/// - **Exit convs** reach the block's output, or the operands of its last Add, through steps
///   without weights other than BatchNorm (where after-adaptors go).
/// - **Inner-channel sites** (filter pruning): an ungrouped conv whose output reaches exactly
///   one ungrouped conv, each value on the way read once, through BatchNorms, depthwise convs
///   and channel-wise activations only — so its output channels can be thinned without touching
///   the residual stream.
/// - **Branch exit** (FSKD): the BatchNorm ending the branch — the last Add's operand that is not
///   the skip (the block input, or the operand reached through fewer convs), or the block output
///   of a block without an Add — and the ungrouped conv before it.
public struct BlockStructure: Sendable, Equatable {
    public var isResidual: Bool
    public var hasIdentitySkip: Bool
    public var entryConvs: [String]
    public var exitConvs: [String]
    public var innerSites: [InnerChannelSite]
    public var branchExit: BranchExit?
    /// The values holding the branch output and the skip (nil: no skip) before the last Add.
    public var branchValue: String?, skipValue: String?

    /// Reads the structure of `program`, whose layers `layer(path)` returns.
    public init(program p: StepProgram, layer: (String) -> Module?) {
        let steps = p.steps
        func conv(_ i: Int) -> Conv2d? { steps[i].op.layerPath.flatMap(layer) as? Conv2d }
        func isConvStep(_ i: Int) -> Bool { if case .conv = steps[i].op { return true } else { return false } }
        func isPlainConv(_ i: Int) -> Bool { isConvStep(i) && conv(i) != nil }
        func isUngrouped(_ i: Int) -> Bool { conv(i).map { $0.groups == 1 } ?? false }
        func isDepthwise(_ i: Int) -> Bool { conv(i).map { $0.groups > 1 && $0.groups == $0.inChannels && $0.groups == $0.outChannels } ?? false }
        let producer = Dictionary(steps.indices.map { (steps[$0].output, $0) }, uniquingKeysWith: { a, _ in a })
        var readers: [String: [Int]] = [:]
        for (i, s) in steps.enumerated() { for v in s.inputs { readers[v, default: []].append(i) } }

        let adds = steps.indices.filter { steps[$0].op == .add }
        isResidual = !adds.isEmpty
        hasIdentitySkip = adds.count == 1 && steps[adds[0]].inputs.contains(p.input)
        entryConvs = steps.indices.filter { isPlainConv($0) && steps[$0].inputs[0] == p.input }.map { steps[$0].op.layerPath! }

        var exits: [String] = []
        var targets = adds.last.map { steps[$0].inputs } ?? [p.output]
        var seen = Set<String>()
        while let v = targets.popLast() {
            guard seen.insert(v).inserted, let i = producer[v] else { continue }
            if isPlainConv(i) { exits.append(steps[i].op.layerPath!); continue }
            switch steps[i].op {
            case .batchNorm: targets.append(steps[i].inputs[0])
            case let op where op.isChannelwiseUnary: targets.append(steps[i].inputs[0])
            default: break
            }
        }
        exitConvs = exits.sorted()

        var sites: [InnerChannelSite] = []
        for i in steps.indices where isUngrouped(i) {
            var v = steps[i].output
            var followers: [String] = []
            var consumer: String?
            walk: while v != p.output, let r = readers[v], r.count == 1 {
                let j = r[0]
                switch steps[j].op {
                case .batchNorm(let path): followers.append(path)
                case .conv(let path, _) where isDepthwise(j): followers.append(path)
                case .conv(let path, _) where isUngrouped(j): consumer = path; break walk
                case let op where op.isChannelwiseUnary: break
                default: break walk
                }
                v = steps[j].output
            }
            if let consumer, let c = conv(i) {
                sites.append(InnerChannelSite(conv: steps[i].op.layerPath!, outputFollowers: followers, consumer: consumer, channels: c.outChannels))
            }
        }
        innerSites = sites

        // Branch and skip: the last Add's operands, or the output alone.
        func convDepth(_ v: String) -> Int {
            var memo: [String: Int] = [:]
            func depth(_ v: String) -> Int {
                if let d = memo[v] { return d }
                guard let i = producer[v] else { return 0 }
                let d = steps[i].inputs.map(depth).max() ?? 0
                memo[v] = d + (isConvStep(i) ? 1 : 0)
                return memo[v]!
            }
            return depth(v)
        }
        if let last = adds.last {
            let (a, b) = (steps[last].inputs[0], steps[last].inputs[1])
            if a == p.input { (branchValue, skipValue) = (b, a) }
            else if b == p.input { (branchValue, skipValue) = (a, b) }
            else {
                let (da, db) = (convDepth(a), convDepth(b))
                if da != db { (branchValue, skipValue) = da > db ? (a, b) : (b, a) }
            }
        } else {
            branchValue = p.output
        }
        if let v = branchValue, let bnStep = producer[v], case .batchNorm(let bnPath) = steps[bnStep].op,
           let convStep = producer[steps[bnStep].inputs[0]], isUngrouped(convStep), readers[steps[convStep].output]?.count == 1 {
            branchExit = BranchExit(conv: steps[convStep].op.layerPath!, batchNorm: bnPath)
        } else {
            branchExit = nil
        }
    }
}
