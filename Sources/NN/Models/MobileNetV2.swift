import Engine

/// torchvision's MobileNetV2 (width 1.0) described with its module names (``GraphNetwork``):
/// `features.0` conv-BN-ReLU6 stem (`Conv2dNormActivation`: children `0`, `1`, `2`),
/// `features.1…17` inverted residuals (`conv`: optional 1×1 expansion, 3×3 depthwise, 1×1
/// linear projection + BN; `x + conv(x)` when stride is 1 and channels match), `features.18`
/// 1×1 conv-BN-ReLU6 to 1280 channels (the tail), then global pooling and `classifier` =
/// (`0` Dropout(0.2), `1` Linear). Stages are runs of blocks with equal output channels.
public enum MobileNetV2 {
    /// (expansion t, output channels c, repeats n, first stride s), as the paper's Table 2.
    static let settings: [(Int, Int, Int, Int)] = [
        (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
    ]

    public static func make(inChannels: Int, numClasses: Int, seed: UInt64, name: String) -> GraphNetwork {
        var g = SeededGenerator(seed: seed)
        var stem = ProgramBuilder()
        let h = convBNReLU6(&stem, stem.input, inChannels, 32, kernelSize: 3, stride: 2, at: "features.0", generator: &g)
        var blocks: [(path: String, block: GraphBlock)] = []
        var stages: [[String]] = []
        var input = 32
        for (t, c, n, s) in settings {
            if c != input { stages.append([]) }
            for i in 0..<n {
                let path = "features.\(blocks.count + 1)"
                blocks.append((path, invertedResidual(input, c, stride: i == 0 ? s : 1, expansion: t, scope: path, generator: &g)))
                stages[stages.count - 1].append(path)
                input = c
            }
        }
        var tail = ProgramBuilder()
        let features = convBNReLU6(&tail, tail.input, input, 1280, kernelSize: 1, at: "features.18", generator: &g)
        let fc = Linear(1280, numClasses, generator: &g)
        // torchvision: classifier weight ~ N(0, 0.01), bias 0.
        fc.weight.value = Initializers.normal([numClasses, 1280], std: 0.01, generator: &g)
        fc.bias.value = Tensor(zeros: [numClasses])
        var head = ProgramBuilder()
        var v = head.flatten(head.globalAveragePool(head.input, module: ""))
        v = head.dropout(v, Dropout(p: 0.2, seed: seed &+ 1), at: "classifier.0")
        v = head.linear(v, fc, at: "classifier.1")
        return try! GraphNetwork(name: name, stem: stem.piece(output: h), blocks: blocks, stages: stages,
                                 tail: tail.piece(output: features), head: head.piece(output: v), headPrefix: "classifier",
                                 inputName: "input", outputName: "logits", fixedImageShape: nil, numClasses: numClasses, sourceOpset: nil)
    }

    /// Conv (no bias) → BatchNorm → ReLU6 at `path` (children `0`, `1`, `2`), as torchvision's `Conv2dNormActivation`.
    static func convBNReLU6(_ b: inout ProgramBuilder, _ x: String, _ inC: Int, _ outC: Int, kernelSize: Int, stride: Int = 1,
                            groups: Int = 1, at path: String, generator g: inout SeededGenerator) -> String {
        let conv = Conv2d(inC, outC, kernelSize: kernelSize, stride: stride, padding: (kernelSize - 1) / 2, groups: groups, generator: &g)
        let h = b.batchNorm(b.conv(x, conv, at: "\(path).0"), BatchNorm2d(outC), at: "\(path).1")
        return b.relu6(h, module: "\(path).2")
    }

    /// The inverted residual block: `[N, inC, H, W]` → `[N, outC, H/stride, W/stride]`.
    static func invertedResidual(_ inC: Int, _ outC: Int, stride: Int, expansion: Int, scope: String,
                                 generator g: inout SeededGenerator) -> GraphBlock {
        let hidden = inC * expansion
        var b = ProgramBuilder(scope: scope)
        var h = b.input
        var index = 0
        if expansion != 1 {
            h = convBNReLU6(&b, h, inC, hidden, kernelSize: 1, at: "conv.0", generator: &g)
            index = 1
        }
        h = convBNReLU6(&b, h, hidden, hidden, kernelSize: 3, stride: stride, groups: hidden, at: "conv.\(index)", generator: &g)
        h = b.conv(h, Conv2d(hidden, outC, kernelSize: 1, generator: &g), at: "conv.\(index + 1)")
        h = b.batchNorm(h, BatchNorm2d(outC), at: "conv.\(index + 2)")
        if stride == 1 && inC == outC { h = b.add(b.input, h) }
        return try! b.block(output: h)
    }
}
