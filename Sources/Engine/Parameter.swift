import Foundation

/// A trainable tensor with its gradient. Modules own parameters; ops see them through ``tensor``.
public final class Parameter: @unchecked Sendable {
    /// The current value. Optimisers update it in place.
    public var value: Tensor
    /// Accumulated gradient, same shape as `value`; nil until a backward pass reaches it.
    public var grad: Tensor?
    /// Frozen parameters take part in forward passes but receive no gradient.
    public var requiresGrad: Bool
    private lazy var leaf = GradNode(parameter: self)

    public init(_ value: Tensor, requiresGrad: Bool = true) {
        self.value = value.detached()
        self.requiresGrad = requiresGrad
    }

    public var shape: [Int] { value.shape }

    /// The value as an op input: carries a leaf node when recording and trainable.
    public var tensor: Tensor {
        guard requiresGrad, Autograd.isRecording else { return value }
        var t = value
        t.node = leaf
        return t
    }

    func accumulate(_ g: Tensor) {
        checkSameShape(g.shape, value.shape, "parameter gradient")
        if let grad {
            Vector.add(grad.pointer, g.pointer, count: grad.count)
        } else {
            grad = g.copy()  // the tape may share `g` with other gradients
        }
    }

    public func zeroGrad() { grad = nil }
}
