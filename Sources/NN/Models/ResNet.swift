import Engine

/// ResNet described with torchvision's module names (``GraphNetwork``):
///
/// - `.imageNet` stem (ResNet-18/34/50/101): 7×7 stride-2 `conv1`, `bn1`, ReLU, 3×3 stride-2
///   max pool, four stages `layer1…layer4` of 64/128/256/512 planes.
/// - `.cifar` stem (ResNet-20/32/44/56/110): 3×3 `conv1` to 16 channels, `bn1`, ReLU, no max
///   pool, three stages of 16/32/64 channels.
/// - Blocks: torchvision's BasicBlock (`conv1`, `bn1`, `conv2`, `bn2`) or Bottleneck (stride on
///   the 3×3 conv, ResNet v1.5: `conv1..3`, `bn1..3`, ×4 expansion), with `downsample.0/1` (1×1
///   conv + BN) where the shape changes; `relu(branch + skip)`.
/// - Head: global average pooling, `fc`.
///
/// Input `[N, inChannels, H, W]`; features `[N, C, H/32, W/32]` (ImageNet) or `[N, 64, H/4, W/4]` (CIFAR).
public enum ResNet {
    public enum Stem: Sendable { case imageNet, cifar }
    public enum BlockKind: Sendable { case basic, bottleneck }

    public static func make(stem: Stem, block: BlockKind, blocksPerStage: [Int], inChannels: Int, numClasses: Int,
                            seed: UInt64, name: String) -> GraphNetwork {
        var g = SeededGenerator(seed: seed)
        let widths = stem == .imageNet ? [64, 128, 256, 512] : [16, 32, 64]
        precondition(blocksPerStage.count == widths.count, "ResNet: \(widths.count) stages expected")
        var s = ProgramBuilder()
        var h = stem == .imageNet
            ? s.conv(s.input, Conv2d(inChannels, 64, kernelSize: 7, stride: 2, padding: 3, generator: &g), at: "conv1")
            : s.conv(s.input, Conv2d(inChannels, 16, kernelSize: 3, padding: 1, generator: &g), at: "conv1")
        h = s.relu(s.batchNorm(h, BatchNorm2d(widths[0]), at: "bn1"), module: "relu")
        if stem == .imageNet { h = s.maxPool(h, kernel: 3, stride: 2, padding: 1, module: "maxpool") }

        let expansion = block == .basic ? 1 : 4
        var inPlanes = widths[0]
        var blocks: [(path: String, block: GraphBlock)] = []
        var stages: [[String]] = []
        for (si, (planes, count)) in zip(widths, blocksPerStage).enumerated() {
            stages.append([])
            for b in 0..<count {
                let path = "layer\(si + 1).\(b)"
                let stride = (si > 0 && b == 0) ? 2 : 1
                let made = block == .basic
                    ? basicBlock(inPlanes: inPlanes, planes: planes, stride: stride, scope: path, generator: &g)
                    : bottleneck(inPlanes: inPlanes, planes: planes, stride: stride, scope: path, generator: &g)
                blocks.append((path, made))
                stages[si].append(path)
                inPlanes = planes * expansion
            }
        }
        var head = ProgramBuilder()
        let pooled = head.flatten(head.globalAveragePool(head.input, module: "avgpool"))
        let logits = head.linear(pooled, Linear(inPlanes, numClasses, generator: &g), at: "fc")
        return try! GraphNetwork(name: name, stem: s.piece(output: h), blocks: blocks, stages: stages, tail: .identity,
                                 head: head.piece(output: logits), headPrefix: "fc", inputName: "input", outputName: "logits",
                                 fixedImageShape: nil, numClasses: numClasses, sourceOpset: nil)
    }

    /// torchvision's BasicBlock: `[N, inPlanes, H, W]` → `[N, planes, H/stride, W/stride]`.
    static func basicBlock(inPlanes: Int, planes: Int, stride: Int, scope: String, generator g: inout SeededGenerator) -> GraphBlock {
        var b = ProgramBuilder(scope: scope)
        var h = b.conv(b.input, Conv2d(inPlanes, planes, kernelSize: 3, stride: stride, padding: 1, generator: &g), at: "conv1")
        h = b.relu(b.batchNorm(h, BatchNorm2d(planes), at: "bn1"), module: "relu")
        h = b.conv(h, Conv2d(planes, planes, kernelSize: 3, padding: 1, generator: &g), at: "conv2")
        h = b.batchNorm(h, BatchNorm2d(planes), at: "bn2")
        let skip = projectionSkip(&b, inPlanes: inPlanes, outPlanes: planes, stride: stride, generator: &g)
        let output = b.relu(b.add(h, skip), module: "relu")
        return try! b.block(output: output)
    }

    /// torchvision's Bottleneck: `[N, inPlanes, H, W]` → `[N, 4·planes, H/stride, W/stride]`.
    static func bottleneck(inPlanes: Int, planes: Int, stride: Int, scope: String, generator g: inout SeededGenerator) -> GraphBlock {
        let out = planes * 4
        var b = ProgramBuilder(scope: scope)
        var h = b.conv(b.input, Conv2d(inPlanes, planes, kernelSize: 1, generator: &g), at: "conv1")
        h = b.relu(b.batchNorm(h, BatchNorm2d(planes), at: "bn1"), module: "relu")
        h = b.conv(h, Conv2d(planes, planes, kernelSize: 3, stride: stride, padding: 1, generator: &g), at: "conv2")
        h = b.relu(b.batchNorm(h, BatchNorm2d(planes), at: "bn2"), module: "relu")
        h = b.conv(h, Conv2d(planes, out, kernelSize: 1, generator: &g), at: "conv3")
        h = b.batchNorm(h, BatchNorm2d(out), at: "bn3")
        let skip = projectionSkip(&b, inPlanes: inPlanes, outPlanes: out, stride: stride, generator: &g)
        let output = b.relu(b.add(h, skip), module: "relu")
        return try! b.block(output: output)
    }

    /// The block input, or `downsample.0/1` (1×1 conv + BN) where the block changes the shape.
    static func projectionSkip(_ b: inout ProgramBuilder, inPlanes: Int, outPlanes: Int, stride: Int,
                               generator g: inout SeededGenerator) -> String {
        guard stride != 1 || inPlanes != outPlanes else { return b.input }
        let h = b.conv(b.input, Conv2d(inPlanes, outPlanes, kernelSize: 1, stride: stride, generator: &g), at: "downsample.0")
        return b.batchNorm(h, BatchNorm2d(outPlanes), at: "downsample.1")
    }
}
