import Engine

/// A convolutional classifier laid out as stem → stages of blocks → tail → head, so the PRACTISE
/// method can mimic the features taken before global average pooling, start a forward pass at
/// any block, and find droppable blocks from the structure itself. ``GraphNetwork`` is the one
/// implementation, for the zoo and for imported networks.
open class ClassifierModel: Module, @unchecked Sendable {
    /// How inference runs a large batch (see ``InferenceChunking``): in chunks of images by default.
    public var inferenceChunking = InferenceChunking.default

    /// Block paths grouped by stage (runs of blocks with the same output shape), in order:
    /// `[["layer1.0", "layer1.1"], ["layer2.0", …]]`.
    open var stages: [[String]] { fatalError("\(type(of: self)) does not describe its stages") }

    /// `[N, C, H, W]` images → input of the first block.
    open func stem(_ x: Tensor) -> Tensor { fatalError("\(type(of: self)) does not implement stem") }

    /// Output of the last block → features before global pooling. Identity by default.
    open func tail(_ x: Tensor) -> Tensor { x }

    /// `[N, C', h, w]` features → `[N, classes]` logits.
    open func classify(_ features: Tensor) -> Tensor { fatalError("\(type(of: self)) does not implement classify") }

    /// Key prefix of the classifier head's parameters (frozen during MiR finetuning).
    open var headPrefix: String { "fc" }

    /// Every block path in forward order.
    public var blockPaths: [String] { stages.flatMap { $0 } }

    /// The blocks that may be dropped, in forward order: every residual block with an identity
    /// skip except the first of its stage (whose input shape differs from the stage's).
    public var droppableBlockPaths: [String] {
        stages.flatMap { stage in
            stage.dropFirst().filter { (module(at: $0) as? ResidualBlock)?.hasIdentitySkip ?? false }
        }
    }

    /// `[N, C, H, W]` images → `[N, C', h, w]` features before global pooling.
    public func features(_ x: Tensor) -> Tensor { runningInChunks(x) { features(fromBlock: 0, input: stem($0)) } }

    /// Runs blocks `index…` (looked up by path, so replaced blocks take effect) and the tail.
    public func features(fromBlock index: Int, input: Tensor) -> Tensor {
        var h = input
        for path in blockPaths[index...] { h = module(at: path)!(h) }
        return tail(h)
    }

    /// Elements of the largest value a forward pass computes for one image `[C, H, W]` (what
    /// ``inferenceChunking`` sizes chunks by); nil when the model cannot tell, which runs whole
    /// batches.
    open func largestActivationElements(imageShape: [Int]) -> Int? { nil }

    public override func forward(_ x: Tensor) -> Tensor { classify(features(x)) }
}

/// A block that may be dropped whole when its skip connection is the identity.
public protocol ResidualBlock: Module {
    /// True when input and output shapes match and the skip is the identity, so removing the
    /// block leaves a network that still computes.
    var hasIdentitySkip: Bool { get }
    /// Relative paths of the convs that read the block's input (where pre-adaptors go).
    var entryConvPaths: [String] { get }
    /// Relative paths of the convs whose outputs form the block's output (where after-adaptors go).
    var exitConvPaths: [String] { get }
}
