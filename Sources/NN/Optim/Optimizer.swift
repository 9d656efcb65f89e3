import Engine

/// Updates parameters from their gradients. Parameters without a gradient are skipped.
public protocol Optimizer: AnyObject {
    /// Learning rate used by the next ``step()``; schedules set it before each step.
    var learningRate: Float { get set }
    var parameters: [Parameter] { get }
    func step()
}

extension Optimizer {
    /// Clears every parameter's gradient.
    public func zeroGrad() { for p in parameters { p.grad = nil } }
}

/// SGD with momentum, L2 weight decay and optional Nesterov, with PyTorch's update rule:
/// `d = g + wd·p; buf = μ·buf + d (buf = d on the first step); d = nesterov ? d + μ·buf : buf; p −= lr·d`.
public final class SGD: Optimizer {
    public var learningRate: Float
    public let momentum: Float, weightDecay: Float, nesterov: Bool
    public let parameters: [Parameter]
    private var buffers: [ObjectIdentifier: Tensor] = [:]

    public init(parameters: [Parameter], learningRate: Float, momentum: Float = 0, weightDecay: Float = 0, nesterov: Bool = false) {
        self.parameters = parameters; self.learningRate = learningRate
        self.momentum = momentum; self.weightDecay = weightDecay; self.nesterov = nesterov
    }

    public func step() {
        for p in parameters {
            guard let g = p.grad else { continue }
            let n = p.value.count, w = p.value.pointer, gp = g.pointer
            let d = Tensor(uninitialized: p.shape)
            for i in 0..<n { d.pointer[i] = gp[i] + weightDecay * w[i] }
            if momentum != 0 {
                let key = ObjectIdentifier(p)
                if let buf = buffers[key] {
                    for i in 0..<n { buf.pointer[i] = momentum * buf.pointer[i] + d.pointer[i] }
                } else {
                    buffers[key] = d.copy()
                }
                let buf = buffers[key]!
                if nesterov {
                    for i in 0..<n { d.pointer[i] += momentum * buf.pointer[i] }
                } else {
                    d.pointer.update(from: buf.pointer, count: n)
                }
            }
            Vector.axpy(w, -learningRate, d.pointer, count: n)
            p.value.storage.markModified()
        }
    }

    /// Momentum buffers in parameter order (nil where none yet), for checkpoints.
    public var state: [Tensor?] { parameters.map { buffers[ObjectIdentifier($0)] } }

    /// Restores momentum buffers saved by ``state``.
    public func restore(_ state: [Tensor?]) {
        precondition(state.count == parameters.count, "optimizer state has \(state.count) entries, expected \(parameters.count)")
        buffers = [:]
        for (p, s) in zip(parameters, state) { if let s { buffers[ObjectIdentifier(p)] = s.copy() } }
    }
}

/// Adam, or AdamW when `decoupledWeightDecay` (PyTorch's `torch.optim.Adam` / `AdamW`).
public final class Adam: Optimizer {
    public var learningRate: Float
    public let beta1: Float, beta2: Float, eps: Float, weightDecay: Float, decoupledWeightDecay: Bool
    public let parameters: [Parameter]
    private var m: [ObjectIdentifier: Tensor] = [:], v: [ObjectIdentifier: Tensor] = [:]
    private var t = 0

    public init(parameters: [Parameter], learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8,
                weightDecay: Float = 0, decoupledWeightDecay: Bool = false) {
        self.parameters = parameters; self.learningRate = learningRate
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps
        self.weightDecay = weightDecay; self.decoupledWeightDecay = decoupledWeightDecay
    }

    public func step() {
        t += 1
        let bc1 = 1 - Float(pow(Double(beta1), Double(t))), bc2 = 1 - Float(pow(Double(beta2), Double(t)))
        for p in parameters {
            guard let g = p.grad else { continue }
            let key = ObjectIdentifier(p), n = p.value.count, w = p.value.pointer
            let mt = m[key] ?? Tensor(zeros: p.shape), vt = v[key] ?? Tensor(zeros: p.shape)
            m[key] = mt; v[key] = vt
            if decoupledWeightDecay { for i in 0..<n { w[i] *= 1 - learningRate * weightDecay } }
            for i in 0..<n {
                var gi = g.pointer[i]
                if !decoupledWeightDecay { gi += weightDecay * w[i] }
                mt.pointer[i] = beta1 * mt.pointer[i] + (1 - beta1) * gi
                vt.pointer[i] = beta2 * vt.pointer[i] + (1 - beta2) * gi * gi
                let denom = (vt.pointer[i] / bc2).squareRoot() + eps
                w[i] -= learningRate * (mt.pointer[i] / bc1) / denom
            }
            p.value.storage.markModified()
        }
    }
}

import Foundation
