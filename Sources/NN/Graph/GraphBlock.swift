import Engine

/// A failure to assemble a network from its description: two layers at one path, a path that
/// runs through a layer.
public struct GraphError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One block of a network: the steps between two points where the whole network's state is one
/// value (a ResNet block from its input to its output), as a module that owns its layers under
/// their PyTorch names (`conv1`, `downsample.0`). What the method needs to know about it
/// (``BlockStructure``) is read off its steps when it is made.
public final class GraphBlock: Module, ResidualBlock, @unchecked Sendable {
    public override var isStatelessInInference: Bool { true }
    public let program: StepProgram
    public let structure: BlockStructure

    /// A block running `program` with `layers` at their paths (relative to the block).
    public init(program: StepProgram, layers: [(path: String, layer: Module)]) throws {
        self.program = program
        let holder = Module()
        for (p, l) in layers { try attach(l, at: p, under: holder) }
        structure = BlockStructure(program: program) { holder.module(at: $0) }
        super.init()
        for (p, l) in layers { try attach(l, at: p, under: self) }
    }

    public var hasIdentitySkip: Bool { structure.hasIdentitySkip }
    public var entryConvPaths: [String] { structure.entryConvs }
    public var exitConvPaths: [String] { structure.exitConvs }
    /// Whether the block ends in an Add of two computed values (a residual block).
    public var isResidual: Bool { structure.isResidual }

    /// `[N, C, H, W]` → the block's output.
    public override func forward(_ x: Tensor) -> Tensor { program.run(x, on: self) }

    /// The branch output and the skip (nil when the block has none) before the last Add, or the
    /// block's output as the branch when it has no Add.
    public func residualParts(_ x: Tensor) -> (branch: Tensor, skip: Tensor?) {
        guard let b = structure.branchValue else { preconditionFailure("GraphBlock: the branch of this block is ambiguous") }
        let values = program.values(x, on: self, keeping: Set([b] + (structure.skipValue.map { [$0] } ?? [])))
        return (values[b]!, structure.skipValue.map { values[$0]! })
    }

    /// Multiply-accumulates of the block's convs and linears for one input `[C, H, W]`, counted
    /// from one run on a zero image.
    public func macs(input: [Int]) -> Int { program.macs(input: input, on: self) }
}

extension StepProgram {
    /// Multiply-accumulates of the convs and linears for one input `[C, H, W]` run by `owner`.
    public func macs(input: [Int], on owner: Module) -> Int {
        let tally = MACTally()
        inEvaluationWithoutGradients(owner) { _ = run(Tensor(zeros: [1] + input), on: owner, observe: tally.observer(steps, owner)) }
        return tally.total
    }
}

extension GraphNetwork {
    /// Multiply-accumulates of one forward pass for one image `[C, H, W]`: stem, blocks (a
    /// dropped block counts nothing), tail and head.
    public func macs(imageShape: [Int]) -> Int {
        let tally = MACTally()
        inEvaluationWithoutGradients(self) { runOneImage(imageShape) { steps, owner in tally.observer(steps, owner) } }
        return tally.total
    }

    /// Elements of the largest value one forward pass computes for one image `[C, H, W]` (the
    /// input included; the values of a block that is not a ``GraphBlock``, such as an adaptor
    /// wrapper, are seen only through its output). Runs in the model's current mode, without
    /// autograd.
    func measureLargestActivationElements(imageShape: [Int]) -> Int {
        var largest = imageShape.reduce(1, *)
        Autograd.noGrad {
            runOneImage(imageShape, observer: { _, _ in { _, y in largest = max(largest, y.count) } },
                        otherBlockOutput: { largest = max(largest, $0.count) })
        }
        return largest
    }

    /// One forward pass of a zero image `[1, C, H, W]`, each program run with the observer
    /// `observer(steps, owner)` makes for it (unfused: every step's output is seen); a block that
    /// is not a ``GraphBlock`` (a wrapper; a dropped block's ``Identity`` is skipped) shows only
    /// its output, to `otherBlockOutput`.
    private func runOneImage(_ imageShape: [Int], observer: ([GraphStep], Module) -> (Int, Tensor) -> Void,
                             otherBlockOutput: (Tensor) -> Void = { _ in }) {
        var h = stemProgram.run(Tensor(zeros: [1] + imageShape), on: self, observe: observer(stemProgram.steps, self))
        for path in blockPaths {
            if let b = graphBlock(at: path) {
                h = b.program.run(h, on: b, observe: observer(b.program.steps, b))
            } else if let m = module(at: path), !(m is Identity) {
                h = m(h)
                otherBlockOutput(h)
            }
        }
        h = tailProgram.run(h, on: self, observe: observer(tailProgram.steps, self))
        _ = headProgram.run(h, on: self, observe: observer(headProgram.steps, self))
    }
}

/// Runs `body` on `owner` in evaluation mode without recording gradients, then restores the mode.
private func inEvaluationWithoutGradients(_ owner: Module, _ body: () -> Void) {
    let wasTraining = owner.isTraining
    owner.eval()
    defer { owner.train(wasTraining) }
    Autograd.noGrad { body() }
}

/// Sums each conv's output elements × input channels per group × kernel taps, and each linear's
/// inputs × outputs, from the outputs a program run shows its observer.
private final class MACTally {
    var total = 0

    func observer(_ steps: [GraphStep], _ owner: Module) -> (Int, Tensor) -> Void {
        { [self] i, y in
            guard let path = steps[i].op.layerPath, let m = owner.module(at: path) else { return }
            switch m {
            case let c as Conv2d: total += y.count / y.shape[0] * c.inChannels / c.groups * c.kernelSize * c.kernelSize
            case let c as DilatedConv2d: total += y.count / y.shape[0] * (c.weight.shape[1] * c.weight.shape[2] * c.weight.shape[3])
            case let l as Linear: total += l.inFeatures * l.outFeatures
            default: break
            }
        }
    }
}

/// A plain node of the module tree that only groups children (`layer1` above `layer1.0`).
public final class ModuleContainer: Module, @unchecked Sendable {
    public override var isStatelessInInference: Bool { true }
    public override init() { super.init() }
    public override func forward(_ x: Tensor) -> Tensor { preconditionFailure("a container module is not run") }
}

/// Registers `module` at dotted `path` below `root`, creating containers on the way.
func attach(_ module: Module, at path: String, under root: Module) throws {
    let parts = path.split(separator: ".").map(String.init)
    guard !parts.isEmpty else { throw GraphError("a layer has an empty module path") }
    var node = root
    for part in parts.dropLast() {
        if let next = node.children.first(where: { $0.name == part })?.module {
            guard next is ModuleContainer else { throw GraphError("module path '\(path)' runs through the layer '\(part)'") }
            node = next
        } else {
            let c = ModuleContainer()
            node.register(part, c)
            node = c
        }
    }
    guard !node.hasChild(parts.last!) else { throw GraphError("two layers or blocks share the module path '\(path)'") }
    node.register(parts.last!, module)
}
