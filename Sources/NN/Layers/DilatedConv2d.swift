import Engine


/// A convolution with dilation > 1 (`torch.nn.Conv2d(dilation=d)`): the weight `[O, I/groups, k, k]`
/// is spread to `(k−1)d+1` taps with zeros between (``dilateKernel(_:dilation:)``) and run as a
/// plain conv, so gradients flow to the `k × k` weight only.
public final class DilatedConv2d: Module, @unchecked Sendable {
    public override var isStatelessInInference: Bool { true }
    public let stride: Int, padding: Int, groups: Int, dilation: Int

    public init(weight: Tensor, bias: Tensor?, stride: Int, padding: Int, groups: Int, dilation: Int) {
        self.stride = stride; self.padding = padding; self.groups = groups; self.dilation = dilation
        super.init()
        register("weight", parameter: Parameter(weight))
        if let bias { register("bias", parameter: Parameter(bias)) }
    }

    public var weight: Parameter { parameter("weight") }
    public var bias: Parameter? { parameters.first { $0.name == "bias" }?.parameter }

    public override func forward(_ x: Tensor) -> Tensor {
        conv2d(x, weight: dilateKernel(weight.tensor, dilation: dilation), bias: bias?.tensor,
               stride: stride, padding: padding, groups: groups)
    }
}
