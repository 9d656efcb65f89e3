import Engine

/// One group of inner channels of a residual block that filter pruning may thin: the output
/// channels of `conv`, which also index the BatchNorm (and, in MobileNetV2, the depthwise conv and
/// its BatchNorm) in `outputFollowers`, and the input channels of `consumer`. The residual
/// stream (block input and output width) is never touched. Sites are read off each block's
/// steps (``BlockStructure``); for the zoo they are:
///
/// - BasicBlock: `conv1` → `bn1` → `conv2` (one site).
/// - Bottleneck: `conv1` → `bn1` → `conv2`, and `conv2` → `bn2` → `conv3` (two sites).
/// - InvertedResidual with expansion: `conv.0.0` → `conv.0.1`, `conv.1.0` (depthwise), `conv.1.1`
///   → `conv.2` (the expansion channels; a block without expansion has no site).
public struct InnerChannelSite: Sendable, Equatable {
    /// Full path of the conv whose output channels are pruned (the site's name), e.g. `layer1.0.conv1`.
    public var conv: String
    /// Full paths of the modules whose dimension 0 follows the pruned channels (BatchNorms, depthwise convs).
    public var outputFollowers: [String]
    /// Full path of the conv whose input channels follow.
    public var consumer: String
    /// Width of the unpruned network.
    public var channels: Int

    public init(conv: String, outputFollowers: [String], consumer: String, channels: Int) {
        self.conv = conv; self.outputFollowers = outputFollowers; self.consumer = consumer; self.channels = channels
    }
}

/// The last conv and BatchNorm of a residual block's branch (where FSKD's 1×1 conv is merged).
public struct BranchExit: Sendable, Equatable {
    public var conv: String
    public var batchNorm: String

    public init(conv: String, batchNorm: String) { self.conv = conv; self.batchNorm = batchNorm }
}

extension ClassifierModel {
    /// Every inner-channel site of every block, in forward order, with the current module widths
    /// as `channels`.
    public var innerChannelSites: [InnerChannelSite] {
        blockPaths.flatMap { block -> [InnerChannelSite] in
            guard let b = module(at: block) as? GraphBlock else { return [] }
            return b.structure.innerSites.compactMap { s in
                guard let c = module(at: "\(block).\(s.conv)") as? Conv2d else { return nil }
                return InnerChannelSite(conv: "\(block).\(s.conv)", outputFollowers: s.outputFollowers.map { "\(block).\($0)" },
                                        consumer: "\(block).\(s.consumer)", channels: c.outChannels)
            }
        }
    }

    /// The branch's last conv + BatchNorm of the block at `path`, or nil for other modules.
    public func branchExit(ofBlock path: String) -> BranchExit? {
        guard let e = (module(at: path) as? GraphBlock)?.structure.branchExit else { return nil }
        return BranchExit(conv: "\(path).\(e.conv)", batchNorm: "\(path).\(e.batchNorm)")
    }

    /// Replaces the modules of each site named in `widths` (site conv path → kept channels) by
    /// freshly initialised ones of that width. Weights are then loaded or copied in.
    /// Throws on an unknown site or a width outside `1...channels`.
    public func resizeInnerChannels(_ widths: [String: Int], seed: UInt64 = 0) throws {
        let sites = Dictionary(uniqueKeysWithValues: innerChannelSites.map { ($0.conv, $0) })
        var g = SeededGenerator(seed: seed)
        for name in widths.keys.sorted() {
            let w = widths[name]!
            guard let site = sites[name] else {
                throw ModelSpecError("'\(name)' is not an inner-channel site of this network; sites: \(innerChannelSites.map(\.conv).joined(separator: ", "))")
            }
            guard (1...site.channels).contains(w) else {
                throw ModelSpecError("width \(w) for '\(name)' must be in 1...\(site.channels)")
            }
            for path in [site.conv] + site.outputFollowers {
                switch module(at: path) {
                case let c as Conv2d: replace(at: path, with: c.resized(inChannels: c.groups == 1 ? c.inChannels : w, outChannels: w, generator: &g))
                case let bn as BatchNorm2d: replace(at: path, with: BatchNorm2d(w, momentum: bn.momentum, eps: bn.eps))
                default: throw ModelSpecError("'\(path)' is neither a conv nor a batch norm")
                }
            }
            let c = module(at: site.consumer) as! Conv2d
            replace(at: site.consumer, with: c.resized(inChannels: w, outChannels: c.outChannels, generator: &g))
        }
    }

    /// Current width of every site that is narrower than `full` (site conv path → channels).
    public func innerWidths(comparedWith full: ClassifierModel) -> [String: Int] {
        let fullWidths = Dictionary(uniqueKeysWithValues: full.innerChannelSites.map { ($0.conv, $0.channels) })
        var out: [String: Int] = [:]
        for s in innerChannelSites where fullWidths[s.conv].map({ $0 != s.channels }) ?? false { out[s.conv] = s.channels }
        return out
    }
}

extension Conv2d {
    /// A freshly initialised conv with the same kernel, stride, padding and bias but other
    /// widths; a depthwise conv (groups = channels) stays depthwise.
    public func resized(inChannels i: Int, outChannels o: Int, generator: inout SeededGenerator) -> Conv2d {
        let depthwise = groups > 1 && groups == inChannels && groups == outChannels
        precondition(groups == 1 || depthwise, "Conv2d.resized: grouped convs other than depthwise are not resized")
        return Conv2d(i, o, kernelSize: kernelSize, stride: stride, padding: padding, groups: depthwise ? o : 1,
                      bias: bias != nil, generator: &generator)
    }
}

/// A model description that cannot be built (bad inner widths).
public struct ModelSpecError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ d: String) { description = d }
}
