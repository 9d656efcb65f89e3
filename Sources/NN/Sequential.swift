import Engine

/// Children applied in order, named "0", "1", … as `torch.nn.Sequential`.
public final class Sequential: Module, @unchecked Sendable {
    public override var isStatelessInInference: Bool { true }
    public init(_ modules: [Module]) {
        super.init()
        for (i, m) in modules.enumerated() { register(String(i), m) }
    }

    public override func forward(_ x: Tensor) -> Tensor {
        var h = x
        for c in children { h = c.module(h) }
        return h
    }

    public var count: Int { children.count }
    public subscript(i: Int) -> Module { children[i].module }
}

/// Passes its input through unchanged. Stands in for a dropped block, so the remaining blocks
/// keep their original names (`layer3.2` stays `layer3.2` when `layer3.1` is dropped).
public final class Identity: Module, @unchecked Sendable {
    public override var isStatelessInInference: Bool { true }
    public override init() { super.init() }
    public override func forward(_ x: Tensor) -> Tensor { x }
}
