import Engine

/// Batch normalisation over channels of `[N, C, H, W]` (momentum 0.1, ε 1e-5 by default).
/// Parameters `weight`, `bias` `[C]`; buffers `running_mean`, `running_var` `[C]` and
/// `num_batches_tracked` `[]`, as torchvision names them.
public final class BatchNorm2d: Module, @unchecked Sendable {
    public override var isStatelessInInference: Bool { true }
    public let channels: Int
    public let momentum: Float, eps: Float

    public init(_ channels: Int, momentum: Float = 0.1, eps: Float = 1e-5) {
        self.channels = channels; self.momentum = momentum; self.eps = eps
        super.init()
        register("weight", parameter: Parameter(Tensor(repeating: 1, shape: [channels])))
        register("bias", parameter: Parameter(Tensor(zeros: [channels])))
        register("running_mean", buffer: Tensor(zeros: [channels]))
        register("running_var", buffer: Tensor(repeating: 1, shape: [channels]))
        register("num_batches_tracked", buffer: Tensor(zeros: []))
    }

    public var weight: Parameter { parameter("weight") }
    public var bias: Parameter { parameter("bias") }
    public var runningMean: Tensor { buffer("running_mean") }
    public var runningVar: Tensor { buffer("running_var") }

    /// Called with every input `[N, C, H, W]` before it is normalised, in either mode (a forward
    /// hook: data-free synthesis reads each layer's batch statistics through it). nil: none.
    public var inputObserver: ((Tensor) -> Void)?

    public override func forward(_ x: Tensor) -> Tensor { forward(x, activation: .none) }

    /// The parameters an eval-mode pass folds (``EvalBatchNorm``).
    public var evalParameters: EvalBatchNorm {
        EvalBatchNorm(weight: weight.tensor, bias: bias.tensor, runningMean: runningMean, runningVar: runningVar, eps: eps)
    }

    /// `activation(forward(x))` computed in one pass (ReLU or ReLU6).
    public func forward(_ x: Tensor, activation: BatchNormActivation) -> Tensor {
        if isTraining { buffer("num_batches_tracked").pointer[0] += 1 }
        inputObserver?(x)
        return batchNorm2d(x, weight: weight.tensor, bias: bias.tensor, runningMean: runningMean,
                           runningVar: runningVar, training: isTraining, momentum: momentum, eps: eps,
                           activation: activation)
    }
}
