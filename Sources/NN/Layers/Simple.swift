import Engine

/// `max(x, 0)`.
public final class ReLU: Module, @unchecked Sendable {
    public override var isStatelessInInference: Bool { true }
    public override init() { super.init() }
    public override func forward(_ x: Tensor) -> Tensor { relu(x) }
}

/// `min(max(x, 0), 6)`.
public final class ReLU6: Module, @unchecked Sendable {
    public override var isStatelessInInference: Bool { true }
    public override init() { super.init() }
    public override func forward(_ x: Tensor) -> Tensor { relu6(x) }
}

/// Max pooling with a square window.
public final class MaxPool2d: Module, @unchecked Sendable {
    public override var isStatelessInInference: Bool { true }
    public let kernelSize: Int, stride: Int, padding: Int
    public init(kernelSize: Int, stride: Int, padding: Int = 0) {
        self.kernelSize = kernelSize; self.stride = stride; self.padding = padding
        super.init()
    }
    public override func forward(_ x: Tensor) -> Tensor { maxPool2d(x, kernel: kernelSize, stride: stride, padding: padding) }
}

/// Fully connected layer: `weight` `[out, in]`, `bias` `[out]`; input `[N, in]` → `[N, out]`.
/// Default initialisation is PyTorch's: uniform in ±1/√in for both.
public final class Linear: Module, @unchecked Sendable {
    public override var isStatelessInInference: Bool { true }
    public let inFeatures: Int, outFeatures: Int

    public init(_ inFeatures: Int, _ outFeatures: Int, generator: inout SeededGenerator) {
        self.inFeatures = inFeatures; self.outFeatures = outFeatures
        super.init()
        let bound = 1 / Float(inFeatures).squareRoot()
        register("weight", parameter: Parameter(Initializers.uniform([outFeatures, inFeatures], bound: bound, generator: &generator)))
        register("bias", parameter: Parameter(Initializers.uniform([outFeatures], bound: bound, generator: &generator)))
    }

    public var weight: Parameter { parameter("weight") }
    public var bias: Parameter { parameter("bias") }

    public override func forward(_ x: Tensor) -> Tensor { linear(x, weight: weight.tensor, bias: bias.tensor) }
}

/// Inverted dropout with its own seeded generator.
public final class Dropout: Module, @unchecked Sendable {
    public override var isStatelessInInference: Bool { true }
    public let p: Float
    private var generator: SeededGenerator

    public init(p: Float, seed: UInt64 = 0) {
        self.p = p
        generator = SeededGenerator(seed: seed)
        super.init()
    }

    /// In evaluation mode the input itself, without touching the generator (so threads may share it).
    public override func forward(_ x: Tensor) -> Tensor {
        isTraining ? dropout(x, p: p, training: true, generator: &generator) : x
    }
}
