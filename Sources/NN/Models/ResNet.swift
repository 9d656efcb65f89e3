import Engine

/// ResNet with torchvision's `state_dict` names.
///
/// - `.imageNet` stem (ResNet-18/34/50/101): 7×7 stride-2 conv, BN, ReLU, 3×3 stride-2 max pool,
///   four stages `layer1…layer4` of 64/128/256/512 planes.
/// - `.cifar` stem (ResNet-20/32/44/56/110): 3×3 conv to 16 channels, BN, ReLU, no max pool,
///   three stages of 16/32/64 channels with 1×1 conv + BN projections where the shape changes.
///
/// Input `[N, inChannels, H, W]`; features `[N, C, H/32, W/32]` (ImageNet) or `[N, 64, H/4, W/4]` (CIFAR).
public final class ResNet: ClassifierModel, @unchecked Sendable {
    public enum Stem: Sendable { case imageNet, cifar }
    public enum BlockKind: Sendable { case basic, bottleneck }

    public let stem: Stem
    public let stageCount: Int

    public init(stem: Stem, block: BlockKind, blocksPerStage: [Int], inChannels: Int, numClasses: Int, seed: UInt64) {
        self.stem = stem
        self.stageCount = blocksPerStage.count
        var g = SeededGenerator(seed: seed)
        super.init()
        let widths = stem == .imageNet ? [64, 128, 256, 512] : [16, 32, 64]
        precondition(blocksPerStage.count == widths.count, "ResNet: \(widths.count) stages expected")
        if stem == .imageNet {
            register("conv1", Conv2d(inChannels, 64, kernelSize: 7, stride: 2, padding: 3, generator: &g))
        } else {
            register("conv1", Conv2d(inChannels, 16, kernelSize: 3, padding: 1, generator: &g))
        }
        register("bn1", BatchNorm2d(widths[0]))
        let expansion = block == .basic ? BasicBlock.expansion : Bottleneck.expansion
        var inPlanes = widths[0]
        for (s, (planes, count)) in zip(widths, blocksPerStage).enumerated() {
            var blocks: [Module] = []
            for b in 0..<count {
                let stride = (s > 0 && b == 0) ? 2 : 1
                switch block {
                case .basic: blocks.append(BasicBlock(inPlanes: inPlanes, planes: planes, stride: stride, generator: &g))
                case .bottleneck: blocks.append(Bottleneck(inPlanes: inPlanes, planes: planes, stride: stride, generator: &g))
                }
                inPlanes = planes * expansion
            }
            register("layer\(s + 1)", Sequential(blocks))
        }
        register("fc", Linear(inPlanes, numClasses, generator: &g))
    }

    public override var stages: [[String]] {
        (1...stageCount).map { s in (child("layer\(s)") as! Sequential).children.map { "layer\(s).\($0.name)" } }
    }

    public override func stem(_ x: Tensor) -> Tensor {
        let h = batchNormReLU("bn1", child("conv1")(x))
        return stem == .imageNet ? maxPool2d(h, kernel: 3, stride: 2, padding: 1) : h
    }

    public override func classify(_ features: Tensor) -> Tensor {
        child("fc")(globalAvgPool(features))
    }
}
