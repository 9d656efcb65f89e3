import Engine

/// 2-D convolution layer. Parameters: `weight` `[O, I/groups, kH, kW]`, optional `bias` `[O]`.
/// Input `[N, I, H, W]` → output `[N, O, OH, OW]`.
public final class Conv2d: Module, @unchecked Sendable {
    public override var isStatelessInInference: Bool { true }
    public let inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int, padding: Int, groups: Int

    /// Kaiming-normal initialisation with fan-out and ReLU gain, as torchvision's ResNet and MobileNetV2.
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                groups: Int = 1, bias: Bool = false, generator: inout SeededGenerator) {
        precondition(inChannels % groups == 0 && outChannels % groups == 0,
                     "Conv2d: groups \(groups) must divide \(inChannels) and \(outChannels)")
        self.inChannels = inChannels; self.outChannels = outChannels; self.kernelSize = kernelSize
        self.stride = stride; self.padding = padding; self.groups = groups
        super.init()
        let shape = [outChannels, inChannels / groups, kernelSize, kernelSize]
        let fanOut = outChannels * kernelSize * kernelSize / groups
        register("weight", parameter: Parameter(Initializers.kaimingNormal(shape, fan: fanOut, generator: &generator)))
        if bias { register("bias", parameter: Parameter(Tensor(zeros: [outChannels]))) }
    }

    public var weight: Parameter { parameter("weight") }
    public var bias: Parameter? { parameters.first { $0.name == "bias" }?.parameter }

    /// The weight packed by ``Module/prepareForInference()``, used while it matches the weight.
    private var inferencePack: ConvWeightPack?

    public override func setInferencePrepared(_ on: Bool) {
        inferencePack = on ? ConvWeightPack(weight: weight.value, groups: groups, stride: stride) : nil
    }

    public override func forward(_ x: Tensor) -> Tensor {
        conv2d(x, weight: weight.tensor, bias: bias?.tensor, stride: stride, padding: padding, groups: groups,
               pack: inferencePack)
    }

    /// `depthwiseActivation(depthwiseNorm(depthwise(activation(norm(forward(x))))))` for a 1×1
    /// stride-1 conv (an inverted residual's expansion) followed by a depthwise conv of its
    /// outputs, each with an eval-mode BatchNorm without an input observer, a group of channels
    /// at a time (``expandDepthwiseBatchNorm(_:expandWeight:expandBias:expandPack:expandNorm:expandActivation:depthwiseWeight:depthwiseBias:stride:padding:depthwiseNorm:depthwiseActivation:)``);
    /// nil where that does not apply (then run the two convs).
    public func forwardThenDepthwise(_ x: Tensor, norm: BatchNorm2d, activation: BatchNormActivation, depthwise: Conv2d,
                                     depthwiseNorm: BatchNorm2d, depthwiseActivation: BatchNormActivation) -> Tensor? {
        guard kernelSize == 1, stride == 1, padding == 0, groups == 1, depthwise.groups == outChannels,
              depthwise.inChannels == outChannels, depthwise.outChannels == outChannels,
              !norm.isTraining, norm.inputObserver == nil, !depthwiseNorm.isTraining, depthwiseNorm.inputObserver == nil
        else { return nil }
        return expandDepthwiseBatchNorm(x, expandWeight: weight.tensor, expandBias: bias?.tensor, expandPack: inferencePack,
                                        expandNorm: norm.evalParameters, expandActivation: activation,
                                        depthwiseWeight: depthwise.weight.tensor, depthwiseBias: depthwise.bias?.tensor,
                                        stride: depthwise.stride, padding: depthwise.padding,
                                        depthwiseNorm: depthwiseNorm.evalParameters, depthwiseActivation: depthwiseActivation)
    }

    /// `activation(norm(forward(x)) + residual)` for an eval-mode `norm`, written once
    /// (``conv2dBatchNorm(_:weight:bias:stride:padding:groups:pack:bnWeight:bnBias:runningMean:runningVar:eps:activation:residual:)``).
    /// `norm`'s input observer is not called: callers use this only when it has none.
    ///
    /// - Parameter residual: `[N, O, OH, OW]` or nil.
    public func forward(_ x: Tensor, thenBatchNorm norm: BatchNorm2d, activation: BatchNormActivation,
                        residual: Tensor? = nil) -> Tensor {
        precondition(!norm.isTraining, "Conv2d.forward(_:thenBatchNorm:): the batch norm must be in evaluation mode")
        return conv2dBatchNorm(x, weight: weight.tensor, bias: bias?.tensor, stride: stride, padding: padding, groups: groups,
                               pack: inferencePack, bnWeight: norm.weight.tensor, bnBias: norm.bias.tensor,
                               runningMean: norm.runningMean, runningVar: norm.runningVar, eps: norm.eps,
                               activation: activation, residual: residual)
    }
}
