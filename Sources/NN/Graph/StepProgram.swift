import Engine

/// A run of graph steps with one input value and one output value — the computation of a stem,
/// a block, a tail or a head — executed by the module that owns the steps' layers. Layers are
/// looked up by path at every run, so a layer replaced by path (an adaptor wrapper, a dropped
/// block's ``Identity``, a resized conv) takes effect on the next run.
///
/// The steps are what the network *is* (exported, analysed, counted); running them goes through
/// a plan made once: values in numbered slots freed after their last reader, and a BatchNorm
/// followed by its ReLU/ReLU6, an Add followed by its ReLU, or a conv followed by its BatchNorm
/// (then its ReLU/ReLU6, or an Add of a value computed before and the Add's ReLU) fused into one
/// kernel when nothing else reads the intermediate values.
public struct StepProgram: Sendable {
    public let steps: [GraphStep]
    public let input: String, output: String
    private let plan: [PlannedStep]
    private let slotCount: Int, outputSlot: Int

    /// `steps` in execution order, reading `input` (and values computed before them) and ending
    /// at `output`; each value is written by one step.
    public init(steps: [GraphStep], input: String, output: String) {
        self.steps = steps
        self.input = input
        self.output = output
        (plan, slotCount, outputSlot) = Self.makePlan(steps, input: input, output: output)
    }

    /// `steps` with the layer of step `i` at `layerPaths[i]` (relative to the executing module).
    public init(steps: [GraphStep], layerPaths: [Int: String], input: String, output: String) {
        var s = steps
        for (i, p) in layerPaths { s[i].op = s[i].op.withLayer(p) }
        self.init(steps: s, input: input, output: output)
    }

    /// Runs the program on `x` with the layers of `owner`; `observe(stepIndex, output)` sees the
    /// output of every step that is computed on its own (a fused BatchNorm or Add is seen only
    /// through the activation that follows it).
    public func run(_ x: Tensor, on owner: Module, observe: ((Int, Tensor) -> Void)? = nil) -> Tensor {
        var slots = [Tensor?](repeating: nil, count: slotCount)
        slots[0] = x
        for p in plan {
            let xs = p.inputs.map { slots[$0]! }
            func layer(_ path: String) -> Module {
                guard let m = owner.module(atParts: p.layerParts) else { preconditionFailure("\(type(of: owner)) has no layer '\(path)'") }
                return m
            }
            let y: Tensor
            switch p.kind {
            case .single:
                y = steps[p.step].run(xs, layer: layer)
            case .batchNormThen(let activation):
                let m = layer(steps[p.step].op.layerPath!)
                if let bn = m as? BatchNorm2d {
                    y = bn.forward(xs[0], activation: activation)
                } else {
                    y = activation == .relu6 ? relu6(m(xs[0])) : relu(m(xs[0]))
                }
            case .addThenReLU:
                y = addReLU(xs[0], xs[1])
            case .convThenBatchNorm(let activation), .convBatchNormAdd(let activation):
                y = convBatchNorm(p.step, convParts: p.layerParts, normParts: p.secondLayerParts, activation: activation, xs,
                                  on: owner, observe: observe)
            case .expandThenDepthwise(let first, let second):
                let parts = [p.layerParts, p.secondLayerParts] + p.moreLayerParts
                let m = parts.map { owner.module(atParts: $0) }
                if observe == nil, !Autograd.isRecording, case .conv(_, nil) = steps[p.step].op, case .conv(_, nil) = steps[p.step + 3].op,
                   let expand = m[0] as? Conv2d, let norm = m[1] as? BatchNorm2d, let depthwise = m[2] as? Conv2d,
                   let depthwiseNorm = m[3] as? BatchNorm2d,
                   let fused = expand.forwardThenDepthwise(xs[0], norm: norm, activation: first, depthwise: depthwise,
                                                           depthwiseNorm: depthwiseNorm, depthwiseActivation: second) {
                    y = fused
                } else {
                    let h = convBatchNorm(p.step, convParts: parts[0], normParts: parts[1], activation: first, xs, on: owner, observe: observe)
                    observe?(p.step + 2, h)
                    y = convBatchNorm(p.step + 3, convParts: parts[2], normParts: parts[3], activation: second, [h], on: owner, observe: observe)
                }
            }
            observe?(p.lastStep, y)
            slots[p.output] = y
            for r in p.releases { slots[r] = nil }
        }
        return slots[outputSlot]!
    }

    /// Step `step` (a conv on `xs[0]`), the BatchNorm after it and, with `xs[1]`, the Add of that
    /// residual, then `activation`: one kernel pass in inference
    /// (``Conv2d/forward(_:thenBatchNorm:activation:residual:)``), the steps otherwise (each seen
    /// by `observe`).
    private func convBatchNorm(_ step: Int, convParts: [String], normParts: [String], activation: BatchNormActivation,
                               _ xs: [Tensor], on owner: Module, observe: ((Int, Tensor) -> Void)?) -> Tensor {
        func layer(_ path: String) -> Module {
            guard let m = owner.module(atParts: convParts) else { preconditionFailure("\(type(of: owner)) has no layer '\(path)'") }
            return m
        }
        let conv = layer(steps[step].op.layerPath!)
        let norm = owner.module(atParts: normParts)
        let residual = xs.count > 1 ? xs[1] : nil
        if observe == nil, !Autograd.isRecording, case .conv(_, nil) = steps[step].op, let c = conv as? Conv2d,
           let bn = norm as? BatchNorm2d, !bn.isTraining, bn.inputObserver == nil {
            // Inference: the conv's kernels apply the folded BatchNorm, the residual and the clamp as they write.
            return c.forward(xs[0], thenBatchNorm: bn, activation: activation, residual: residual)
        }
        let h = steps[step].run(xs, layer: layer)
        observe?(step, h)
        guard let norm else { preconditionFailure("\(type(of: owner)) has no layer '\(normParts.joined(separator: "."))'") }
        if let residual {
            let b = norm(h)
            observe?(step + 1, b)
            return activation == .relu ? addReLU(b, residual) : activation == .relu6 ? relu6(Engine.add(b, residual)) : Engine.add(b, residual)
        }
        if let bn = norm as? BatchNorm2d { return bn.forward(h, activation: activation) }
        return activation == .relu6 ? relu6(norm(h)) : activation == .relu ? relu(norm(h)) : norm(h)
    }

    /// Runs the steps one by one (nothing fused) and returns the values named in `keeping`
    /// (with the output), for methods that need intermediate values such as a block's branch.
    public func values(_ x: Tensor, on owner: Module, keeping: Set<String>) -> [String: Tensor] {
        var values: [String: Tensor] = [input: x]
        for s in steps {
            values[s.output] = s.run(s.inputs.map { values[$0]! }) { owner.module(at: $0)! }
        }
        return values.filter { keeping.contains($0.key) || $0.key == output }
    }

    /// The plan's runs of steps, one entry per kernel call sequence: `conv`, `conv+batchNorm+relu`,
    /// `conv+batchNorm+add+relu` … (what was fused, for tests and messages).
    var plannedRuns: [String] {
        plan.map { p in
            switch p.kind {
            case .single: return "\(steps[p.step].opType)"
            case .batchNormThen(let a): return "batchNorm+\(a)"
            case .addThenReLU: return "add+relu"
            case .convThenBatchNorm(let a): return a == .none ? "conv+batchNorm" : "conv+batchNorm+\(a)"
            case .convBatchNormAdd(let a): return a == .none ? "conv+batchNorm+add" : "conv+batchNorm+add+\(a)"
            case .expandThenDepthwise(let a, let b): return "conv+batchNorm+\(a)+conv+batchNorm+\(b)"
            }
        }
    }

    // MARK: Plan

    private struct PlannedStep: Sendable {
        enum Kind: Sendable, Equatable {
            case single, batchNormThen(BatchNormActivation), addThenReLU
            /// A conv, the BatchNorm reading it and its optional ReLU/ReLU6: written once in
            /// inference (``Conv2d/forward(_:thenBatchNorm:activation:residual:)``), the conv and a
            /// fused BatchNorm otherwise.
            case convThenBatchNorm(BatchNormActivation)
            /// A conv, the BatchNorm reading it, the Add of that and a value computed before the
            /// conv (the planned step's second input), and the Add's optional ReLU: written once in
            /// inference, the separate steps otherwise.
            case convBatchNormAdd(BatchNormActivation)
            /// Two `convThenBatchNorm` runs with activations, the second's conv reading only the
            /// first's output: in inference, when the first is a 1×1 conv and the second a
            /// depthwise one (an inverted residual's expansion), computed a group of channels at
            /// a time (``Conv2d/forwardThenDepthwise(_:norm:activation:depthwise:depthwiseNorm:depthwiseActivation:)``);
            /// the two runs otherwise.
            case expandThenDepthwise(BatchNormActivation, BatchNormActivation)
        }
        var kind: Kind
        /// The paths of the (first) step's layer and of a fused second step's, split once; for
        /// ``Kind/expandThenDepthwise(_:_:)`` the second conv's and its BatchNorm's in `moreLayerParts`.
        var layerParts: [String], secondLayerParts: [String] = [], moreLayerParts: [[String]] = []
        /// The (first) step computed, and the last one (differs for a fused pair).
        var step: Int, lastStep: Int
        var inputs: [Int]
        var output: Int
        /// Slots no later step reads.
        var releases: [Int]
    }

    private static func makePlan(_ steps: [GraphStep], input: String, output: String) -> ([PlannedStep], Int, Int) {
        var readers: [String: Int] = [:]
        for s in steps { for v in s.inputs { readers[v, default: 0] += 1 } }
        var slot: [String: Int] = [input: 0]
        var plan: [PlannedStep] = []
        var i = 0
        while i < steps.count {
            let s = steps[i]
            var kind = PlannedStep.Kind.single
            var last = i
            var extraInput: String? = nil
            /// Whether step `j` reads only step `j - 1`'s output, which nothing else reads.
            func readsOnlyThePrevious(_ j: Int) -> Bool {
                j < steps.count && steps[j - 1].output != output && readers[steps[j - 1].output] == 1 && steps[j].inputs == [steps[j - 1].output]
            }
            /// The activation when steps `j…j + 2` are a conv (without extra padding), its
            /// BatchNorm and that BatchNorm's ReLU/ReLU6, each reading only the step before it.
            func convBatchNormActivation(at j: Int) -> BatchNormActivation? {
                guard j + 2 < steps.count, readsOnlyThePrevious(j), readsOnlyThePrevious(j + 1), readsOnlyThePrevious(j + 2),
                      case .conv(_, nil) = steps[j].op, case .batchNorm = steps[j + 1].op else { return nil }
                switch steps[j + 2].op {
                case .relu: return .relu
                case .relu6: return .relu6
                default: return nil
                }
            }
            /// The other operand of step `j` when it is an Add of step `j - 1`'s output, which
            /// nothing else reads, and a value computed before step `j - 2` (or the input).
            func residualOperand(_ j: Int) -> String? {
                guard j < steps.count, steps[j].op == .add, steps[j].inputs.count == 2, steps[j - 1].output != output,
                      readers[steps[j - 1].output] == 1 else { return nil }
                let ins = steps[j].inputs, mine = steps[j - 1].output
                guard ins.contains(mine), ins[0] != ins[1] else { return nil }
                let other = ins[0] == mine ? ins[1] : ins[0]
                return slot[other] != nil ? other : nil
            }
            if readsOnlyThePrevious(i + 1) {
                switch (s.op, steps[i + 1].op) {
                case (.batchNorm, .relu): kind = .batchNormThen(.relu)
                case (.batchNorm, .relu6): kind = .batchNormThen(.relu6)
                case (.add, .relu): kind = .addThenReLU
                case (.conv, .batchNorm):
                    kind = .convThenBatchNorm(.none)
                    if readsOnlyThePrevious(i + 2), steps[i + 2].op == .relu || steps[i + 2].op == .relu6 {
                        kind = .convThenBatchNorm(steps[i + 2].op == .relu ? .relu : .relu6)
                        last = i + 1
                        if let second = convBatchNormActivation(at: i + 3) {
                            kind = .expandThenDepthwise(steps[i + 2].op == .relu ? .relu : .relu6, second)
                            last = i + 4
                        }
                    } else if let other = residualOperand(i + 2) {
                        kind = .convBatchNormAdd(.none)
                        extraInput = other
                        last = i + 1
                        if readsOnlyThePrevious(i + 3), steps[i + 3].op == .relu || steps[i + 3].op == .relu6 {
                            kind = .convBatchNormAdd(steps[i + 3].op == .relu ? .relu : .relu6)
                            last = i + 2
                        }
                    }
                default: break
                }
                if kind != .single { last += 1 }
            }
            let out = slot.count
            slot[steps[last].output] = out
            func parts(_ j: Int) -> [String] { steps[j].op.layerPath.map { $0.split(separator: ".").map(String.init) } ?? [] }
            var planned = PlannedStep(kind: kind, layerParts: parts(i), secondLayerParts: i + 1 < steps.count ? parts(i + 1) : [], step: i, lastStep: last, inputs: (s.inputs + (extraInput.map { [$0] } ?? [])).map { slot[$0]! }, output: out, releases: [])
            if case .expandThenDepthwise = kind { planned.moreLayerParts = [parts(i + 3), parts(i + 4)] }
            plan.append(planned)
            i = last + 1
        }
        // Free each slot after its last reader (never the program's output).
        var lastReader: [Int: Int] = [:]
        for (k, p) in plan.enumerated() { for v in p.inputs { lastReader[v] = k } }
        let outputSlot = slot[output] ?? 0
        for (v, k) in lastReader where v != outputSlot { plan[k].releases.append(v) }
        return (plan, slot.count, outputSlot)
    }
}
