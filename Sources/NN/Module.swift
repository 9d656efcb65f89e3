import Engine

/// A node of a network: owns named parameters, buffers and child modules, as `torch.nn.Module`.
///
/// Names compose with dots exactly as PyTorch's `state_dict` keys do (`layer1.0.conv1.weight`),
/// in PyTorch's order: a module's own parameters, then its buffers, then its children.
/// Layers register what they own in `init`; networks (``GraphNetwork``) run steps that name
/// their layers by path, so a child replaced by path (``replace(at:with:)``) takes effect on the
/// next forward pass.
open class Module: @unchecked Sendable {
    public private(set) var children: [(name: String, module: Module)] = []
    public private(set) var parameters: [(name: String, parameter: Parameter)] = []
    public private(set) var buffers: [(name: String, tensor: Tensor)] = []
    /// Training mode (BatchNorm batch statistics, dropout on) or evaluation mode.
    public private(set) var isTraining = true

    public init() {}

    /// The layer's computation. `x` is usually `[N, C, H, W]`.
    open func forward(_ x: Tensor) -> Tensor { fatalError("\(type(of: self)) does not implement forward") }

    public func callAsFunction(_ x: Tensor) -> Tensor { forward(x) }

    /// True when the module's own ``forward(_:)`` in evaluation mode without autograd keeps no
    /// state between calls (reads its parameters and buffers, writes only its output), so two
    /// threads may run it at once: what lets inference run chunks side by side
    /// (``InferenceChunking``). The layers of this library say so; any other module is assumed
    /// not to. Children answer for themselves.
    open var isStatelessInInference: Bool { false }

    // MARK: Registration

    public func register(_ name: String, _ module: Module) { children.append((name, module)) }
    public func register(_ name: String, parameter: Parameter) { parameters.append((name, parameter)) }
    public func register(_ name: String, buffer: Tensor) { buffers.append((name, buffer)) }

    /// The direct child called `name`.
    public func child(_ name: String) -> Module {
        for c in children where c.name == name { return c.module }
        fatalError("\(type(of: self)) has no child '\(name)' (children: \(children.map(\.name)))")
    }

    public func hasChild(_ name: String) -> Bool { children.contains { $0.name == name } }

    public func parameter(_ name: String) -> Parameter {
        for p in parameters where p.name == name { return p.parameter }
        fatalError("\(type(of: self)) has no parameter '\(name)'")
    }

    public func buffer(_ name: String) -> Tensor {
        for b in buffers where b.name == name { return b.tensor }
        fatalError("\(type(of: self)) has no buffer '\(name)'")
    }

    /// Replaces a buffer's tensor (same name, new storage).
    public func setBuffer(_ name: String, _ tensor: Tensor) {
        guard let i = buffers.firstIndex(where: { $0.name == name }) else { fatalError("no buffer '\(name)'") }
        buffers[i].tensor = tensor
    }

    // MARK: Paths

    /// The module at a dotted path such as `layer3.2` or `features.5.conv`; `""` is `self`.
    public func module(at path: String) -> Module? {
        if path.isEmpty { return self }
        var current: Module = self
        for part in path.split(separator: ".") {
            guard let next = current.children.first(where: { $0.name == part })?.module else { return nil }
            current = next
        }
        return current
    }

    /// The module at the path given as its parts (`["layer3", "2"]`), without splitting a string.
    public func module(atParts parts: [String]) -> Module? {
        var current: Module = self
        for part in parts {
            guard let next = current.children.first(where: { $0.name == part })?.module else { return nil }
            current = next
        }
        return current
    }

    /// Replaces the module at `path` (which must exist) with `module`.
    public func replace(at path: String, with module: Module) {
        let parts = path.split(separator: ".").map(String.init)
        precondition(!parts.isEmpty, "cannot replace the root module")
        guard let parent = self.module(at: parts.dropLast().joined(separator: ".")),
              let i = parent.children.firstIndex(where: { $0.name == parts.last! }) else {
            fatalError("no module at path '\(path)'")
        }
        parent.children[i].module = module
    }

    /// Every module in the tree with its dotted path, parents before children (`""` is the root).
    public func namedModules(prefix: String = "") -> [(path: String, module: Module)] {
        var out: [(String, Module)] = [(prefix, self)]
        for c in children {
            out += c.module.namedModules(prefix: prefix.isEmpty ? c.name : "\(prefix).\(c.name)")
        }
        return out
    }

    /// Every parameter with its `state_dict` key.
    public func namedParameters() -> [(key: String, parameter: Parameter)] {
        namedModules().flatMap { path, m in m.parameters.map { (join(path, $0.name), $0.parameter) } }
    }

    /// Every buffer with its `state_dict` key.
    public func namedBuffers() -> [(key: String, tensor: Tensor)] {
        namedModules().flatMap { path, m in m.buffers.map { (join(path, $0.name), $0.tensor) } }
    }

    /// Parameters and buffers in PyTorch's `state_dict` order.
    public func stateDict() -> [(key: String, tensor: Tensor)] {
        var out: [(String, Tensor)] = []
        func visit(_ m: Module, _ path: String) {
            for p in m.parameters { out.append((join(path, p.name), p.parameter.value)) }
            for b in m.buffers { out.append((join(path, b.name), b.tensor)) }
            for c in m.children { visit(c.module, join(path, c.name)) }
        }
        visit(self, "")
        return out
    }

    // MARK: Modes

    /// Sets training mode on this module and every descendant (and drops what
    /// ``prepareForInference()`` prepared).
    public func train(_ on: Bool = true) {
        for (_, m) in namedModules() {
            m.isTraining = on
            m.setInferencePrepared(false)
        }
    }

    /// Inference fast path for the whole tree: evaluation mode, and layers arrange their weights
    /// for the kernels once (``Conv2d`` packs its weight into GEMM panels) instead of on every
    /// forward pass. Lasts until the next ``train(_:)``/``eval()``; a layer whose weight has
    /// changed since (optimiser step, state-dict load, or a write followed by
    /// `Storage.markModified()`) notices and uses the weight itself.
    public func prepareForInference() {
        for (_, m) in namedModules() {
            m.isTraining = false
            m.setInferencePrepared(true)
        }
    }

    /// Prepares (or drops) this module's own inference state; see ``prepareForInference()``.
    open func setInferencePrepared(_ on: Bool) {}

    /// Evaluation mode for the whole tree.
    public func eval() { train(false) }

    /// Total number of parameter elements.
    public var parameterCount: Int { namedParameters().reduce(0) { $0 + $1.parameter.value.count } }

    /// Marks every parameter trainable or frozen.
    public func setRequiresGrad(_ on: Bool) {
        for (_, p) in namedParameters() { p.requiresGrad = on }
    }

    public func zeroGrad() {
        for (_, p) in namedParameters() { p.grad = nil }
    }
}

@inline(__always)
func join(_ a: String, _ b: String) -> String { a.isEmpty ? b : "\(a).\(b)" }
