import Engine
import NN
import ONNX

/// A run of graph steps with one input value and one output value, executed by a module that
/// owns the steps' layers at paths relative to itself.
struct StepProgram: Sendable {
    var steps: [GraphStep]
    /// Layer path (relative to the executing module) of each step with weights.
    var layerPaths: [Int: String]
    var input: String, output: String

    func run(_ x: Tensor, on owner: Module) -> Tensor {
        var values: [String: Tensor] = [input: x]
        for (i, s) in steps.enumerated() {
            var step = s
            if let p = layerPaths[i] {
                switch step.op {
                case .conv(_, let pads): step.op = .conv(layer: p, extraPads: pads)
                case .batchNorm: step.op = .batchNorm(layer: p)
                case .linear: step.op = .linear(layer: p)
                default: break
                }
            }
            values[s.output] = step.run(values) { owner.module(at: $0)! }
        }
        return values[output]!
    }
}

/// One block of an imported graph: the nodes between two points where the whole network's state
/// is a single value (e.g. a ResNet block from its input to its output), as a module that owns
/// its layers under their PyTorch names (`conv1`, `downsample.0`) when the exporter recorded them.
public final class GraphBlock: Module, ResidualBlock, @unchecked Sendable {
    let program: StepProgram
    public let hasIdentitySkip: Bool
    public let entryConvPaths: [String]
    public let exitConvPaths: [String]
    /// Whether the block ends in an Add of two computed values (a residual block).
    public let isResidual: Bool

    init(program: StepProgram, isResidual: Bool, hasIdentitySkip: Bool, entryConvPaths: [String], exitConvPaths: [String]) {
        self.program = program
        self.isResidual = isResidual
        self.hasIdentitySkip = hasIdentitySkip
        self.entryConvPaths = entryConvPaths
        self.exitConvPaths = exitConvPaths
        super.init()
    }

    /// `[N, C, H, W]` → the block's output.
    public override func forward(_ x: Tensor) -> Tensor { program.run(x, on: self) }
}

/// A plain node of the module tree that only groups children (`layer1` above `layer1.0`).
final class ModuleContainer: Module, @unchecked Sendable {
    override init() { super.init() }
    override func forward(_ x: Tensor) -> Tensor { fatalError("a container module is not run") }
}

/// A CNN imported from ONNX, laid out as the PRACTISE method needs it (``ClassifierModel``):
/// stem → blocks (``GraphBlock``) → tail → features (the input of the last global pooling) →
/// head (pooling and classifier). Initializers are trainable parameters and BatchNorm statistics
/// are buffers, under the PyTorch `state_dict` keys when the exporter recorded module paths.
public final class ImportedNetwork: ClassifierModel, @unchecked Sendable {
    let stemProgram: StepProgram, tailProgram: StepProgram, headProgram: StepProgram
    private let blockStages: [[String]]
    private let head: String
    /// The graph's input and output names, `[1, C, H, W]` input shape, and class count.
    public let inputName: String, outputName: String
    public let inputShape: [Int]
    public let numClasses: Int
    /// The opset of the source model.
    public let opset: Int64

    init(stem: StepProgram, blocks: [(path: String, block: GraphBlock, outputShape: [Int])], tail: StepProgram, head: StepProgram,
         rootLayers: [(path: String, layer: Module)], headPrefix: String,
         inputName: String, outputName: String, inputShape: [Int], numClasses: Int, opset: Int64) throws {
        stemProgram = stem; tailProgram = tail; headProgram = head
        self.head = headPrefix
        self.inputName = inputName; self.outputName = outputName
        self.inputShape = inputShape; self.numClasses = numClasses; self.opset = opset
        var stages: [[String]] = []
        var lastShape: [Int]?
        for b in blocks {
            if b.outputShape == lastShape { stages[stages.count - 1].append(b.path) } else { stages.append([b.path]) }
            lastShape = b.outputShape
        }
        blockStages = stages
        super.init()
        for (p, l) in rootLayers { try attach(l, at: p, under: self) }
        for b in blocks { try attach(b.block, at: b.path, under: self) }
    }

    public override var stages: [[String]] { blockStages }
    public override func stem(_ x: Tensor) -> Tensor { stemProgram.run(x, on: self) }
    public override func tail(_ x: Tensor) -> Tensor { tailProgram.run(x, on: self) }
    public override func classify(_ features: Tensor) -> Tensor { headProgram.run(features, on: self) }
    public override var headPrefix: String { head }

    /// `[C, H, W]` of one input image.
    public var imageShape: [Int] { Array(inputShape.dropFirst()) }
}

/// Registers `module` at dotted `path` below `root`, creating containers on the way.
func attach(_ module: Module, at path: String, under root: Module) throws {
    let parts = path.split(separator: ".").map(String.init)
    var node = root
    for part in parts.dropLast() {
        if let next = node.children.first(where: { $0.name == part })?.module {
            guard next is ModuleContainer else { throw ONNXImportError("module path '\(path)' runs through the layer '\(part)'") }
            node = next
        } else {
            let c = ModuleContainer()
            node.register(part, c)
            node = c
        }
    }
    guard !node.hasChild(parts.last!) else { throw ONNXImportError("two layers or blocks share the module path '\(path)'") }
    node.register(parts.last!, module)
}
