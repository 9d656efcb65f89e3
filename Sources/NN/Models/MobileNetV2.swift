import Engine

/// torchvision's MobileNetV2 (width 1.0): `features.0` conv-BN-ReLU6 stem, `features.1…17`
/// inverted residuals, `features.18` 1×1 conv-BN-ReLU6 to 1280 channels, then global pooling and
/// `classifier` = (`0` Dropout(0.2), `1` Linear).
public final class MobileNetV2: ClassifierModel, @unchecked Sendable {
    /// (expansion t, output channels c, repeats n, first stride s), as the paper's Table 2.
    static let settings: [(Int, Int, Int, Int)] = [
        (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
    ]

    public init(inChannels: Int, numClasses: Int, seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        super.init()
        var layers: [Module] = [ConvBNReLU6(inChannels, 32, kernelSize: 3, stride: 2, generator: &g)]
        var input = 32
        for (t, c, n, s) in Self.settings {
            for i in 0..<n {
                layers.append(InvertedResidual(input, c, stride: i == 0 ? s : 1, expansion: t, generator: &g))
                input = c
            }
        }
        layers.append(ConvBNReLU6(input, 1280, kernelSize: 1, generator: &g))
        register("features", Sequential(layers))
        let fc = Linear(1280, numClasses, generator: &g)
        // torchvision: classifier weight ~ N(0, 0.01), bias 0.
        fc.weight.value = Initializers.normal([numClasses, 1280], std: 0.01, generator: &g)
        fc.bias.value = Tensor(zeros: [numClasses])
        register("classifier", Sequential([Dropout(p: 0.2, seed: seed &+ 1), fc]))
    }

    public override var headPrefix: String { "classifier" }

    /// `features.1…17` grouped into runs of equal output channels.
    public override var stages: [[String]] {
        var out: [[String]] = []
        var lastChannels = -1
        for i in 1...17 {
            let block = child("features").child(String(i)) as? InvertedResidual
            let channels = block?.outChannels ?? lastChannels
            if channels != lastChannels { out.append([]); lastChannels = channels }
            out[out.count - 1].append("features.\(i)")
        }
        return out
    }

    public override func stem(_ x: Tensor) -> Tensor { child("features").child("0")(x) }
    public override func tail(_ x: Tensor) -> Tensor { child("features").child("18")(x) }

    public override func classify(_ features: Tensor) -> Tensor {
        child("classifier")(globalAvgPool(features))
    }
}

/// Conv (no bias) → BatchNorm → ReLU6, as torchvision's `Conv2dNormActivation`: children "0", "1", "2".
public final class ConvBNReLU6: Module, @unchecked Sendable {
    public init(_ inC: Int, _ outC: Int, kernelSize: Int, stride: Int = 1, groups: Int = 1, generator: inout SeededGenerator) {
        super.init()
        register("0", Conv2d(inC, outC, kernelSize: kernelSize, stride: stride, padding: (kernelSize - 1) / 2,
                             groups: groups, generator: &generator))
        register("1", BatchNorm2d(outC))
        register("2", ReLU6())
    }

    public override func forward(_ x: Tensor) -> Tensor { batchNormReLU6("1", child("0")(x)) }
}

/// MobileNetV2 block: optional 1×1 expansion, 3×3 depthwise, 1×1 linear projection, all in the
/// child `conv` (a Sequential), with an identity skip when stride is 1 and channels match.
public final class InvertedResidual: Module, ResidualBlock, @unchecked Sendable {
    public let inChannels: Int, outChannels: Int, stride: Int

    public init(_ inC: Int, _ outC: Int, stride: Int, expansion: Int, generator: inout SeededGenerator) {
        inChannels = inC; outChannels = outC; self.stride = stride
        super.init()
        let hidden = inC * expansion
        var layers: [Module] = []
        if expansion != 1 { layers.append(ConvBNReLU6(inC, hidden, kernelSize: 1, generator: &generator)) }
        layers.append(ConvBNReLU6(hidden, hidden, kernelSize: 3, stride: stride, groups: hidden, generator: &generator))
        layers.append(Conv2d(hidden, outC, kernelSize: 1, generator: &generator))
        layers.append(BatchNorm2d(outC))
        register("conv", Sequential(layers))
    }

    public var hasIdentitySkip: Bool { stride == 1 && inChannels == outChannels }
    public var entryConvPaths: [String] { ["conv.0.0"] }
    public var exitConvPaths: [String] { ["conv.\(child("conv").children.count - 2)"] }

    public override func forward(_ x: Tensor) -> Tensor {
        let y = child("conv")(x)
        return hasIdentitySkip ? add(x, y) : y
    }
}
