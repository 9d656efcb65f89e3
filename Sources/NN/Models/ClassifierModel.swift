import Engine

/// A convolutional classifier split into a feature extractor and a head, so the PRACTISE method
/// can mimic the features taken before global average pooling.
open class ClassifierModel: Module, @unchecked Sendable {
    /// `[N, C, H, W]` images → `[N, C', h, w]` features before global pooling.
    open func features(_ x: Tensor) -> Tensor { fatalError("\(type(of: self)) does not implement features") }

    /// `[N, C', h, w]` features → `[N, classes]` logits.
    open func classify(_ features: Tensor) -> Tensor { fatalError("\(type(of: self)) does not implement classify") }

    /// Paths of the parameters of the classifier head (frozen during MiR finetuning).
    open var headParameterPrefix: String { "fc" }

    public override func forward(_ x: Tensor) -> Tensor { classify(features(x)) }
}

/// A block that may be dropped whole: a residual block with an identity skip connection.
public protocol ResidualBlock: Module {
    /// True when the block's input and output shapes match and the skip is the identity,
    /// so removing the block leaves a network that still computes.
    var hasIdentitySkip: Bool { get }
}
