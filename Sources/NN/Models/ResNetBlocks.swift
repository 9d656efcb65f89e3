import Engine

/// torchvision's BasicBlock: two 3×3 convs with BatchNorm, plus a skip (`downsample.0/1` when the
/// shape changes). Children: `conv1`, `bn1`, `conv2`, `bn2`, optional `downsample`.
public final class BasicBlock: Module, ResidualBlock, @unchecked Sendable {
    public static let expansion = 1
    public let inPlanes: Int, planes: Int, stride: Int

    public init(inPlanes: Int, planes: Int, stride: Int, generator: inout SeededGenerator) {
        self.inPlanes = inPlanes; self.planes = planes; self.stride = stride
        super.init()
        register("conv1", Conv2d(inPlanes, planes, kernelSize: 3, stride: stride, padding: 1, generator: &generator))
        register("bn1", BatchNorm2d(planes))
        register("conv2", Conv2d(planes, planes, kernelSize: 3, padding: 1, generator: &generator))
        register("bn2", BatchNorm2d(planes))
        if stride != 1 || inPlanes != planes {
            register("downsample", Sequential([
                Conv2d(inPlanes, planes, kernelSize: 1, stride: stride, generator: &generator),
                BatchNorm2d(planes),
            ]))
        }
    }

    public var hasIdentitySkip: Bool { !hasChild("downsample") }
    public var entryConvPaths: [String] { hasChild("downsample") ? ["conv1", "downsample.0"] : ["conv1"] }
    public var exitConvPaths: [String] { hasChild("downsample") ? ["conv2", "downsample.0"] : ["conv2"] }

    /// `[N, inPlanes, H, W]` → `[N, planes, H/stride, W/stride]`
    public override func forward(_ x: Tensor) -> Tensor {
        var out = batchNormReLU("bn1", child("conv1")(x))
        out = child("bn2")(child("conv2")(out))
        let skip = hasChild("downsample") ? child("downsample")(x) : x
        return addReLU(out, skip)
    }
}

/// torchvision's Bottleneck (stride on the 3×3 conv, ResNet v1.5): 1×1 → 3×3 → 1×1 (×4).
/// Children: `conv1..3`, `bn1..3`, optional `downsample`.
public final class Bottleneck: Module, ResidualBlock, @unchecked Sendable {
    public static let expansion = 4
    public let inPlanes: Int, planes: Int, stride: Int

    public init(inPlanes: Int, planes: Int, stride: Int, generator: inout SeededGenerator) {
        self.inPlanes = inPlanes; self.planes = planes; self.stride = stride
        super.init()
        let out = planes * Self.expansion
        register("conv1", Conv2d(inPlanes, planes, kernelSize: 1, generator: &generator))
        register("bn1", BatchNorm2d(planes))
        register("conv2", Conv2d(planes, planes, kernelSize: 3, stride: stride, padding: 1, generator: &generator))
        register("bn2", BatchNorm2d(planes))
        register("conv3", Conv2d(planes, out, kernelSize: 1, generator: &generator))
        register("bn3", BatchNorm2d(out))
        if stride != 1 || inPlanes != out {
            register("downsample", Sequential([
                Conv2d(inPlanes, out, kernelSize: 1, stride: stride, generator: &generator),
                BatchNorm2d(out),
            ]))
        }
    }

    public var hasIdentitySkip: Bool { !hasChild("downsample") }
    public var entryConvPaths: [String] { hasChild("downsample") ? ["conv1", "downsample.0"] : ["conv1"] }
    public var exitConvPaths: [String] { hasChild("downsample") ? ["conv3", "downsample.0"] : ["conv3"] }

    /// `[N, inPlanes, H, W]` → `[N, 4·planes, H/stride, W/stride]`
    public override func forward(_ x: Tensor) -> Tensor {
        var out = batchNormReLU("bn1", child("conv1")(x))
        out = batchNormReLU("bn2", child("conv2")(out))
        out = child("bn3")(child("conv3")(out))
        let skip = hasChild("downsample") ? child("downsample")(x) : x
        return addReLU(out, skip)
    }
}
