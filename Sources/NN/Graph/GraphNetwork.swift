import Foundation
import Engine

/// The layers of one piece of a network (stem, tail, head) with the program that runs them;
/// layer paths are relative to the network.
public struct NetworkPiece: Sendable {
    public var program: StepProgram
    public var layers: [(path: String, layer: Module)]

    public init(program: StepProgram, layers: [(path: String, layer: Module)]) {
        self.program = program
        self.layers = layers
    }

    /// A piece that passes its input through.
    public static var identity: NetworkPiece { NetworkPiece(program: StepProgram(steps: [], input: "x", output: "x"), layers: []) }
}

/// A network described once as a graph, laid out as the PRACTISE method needs it
/// (``ClassifierModel``): stem → blocks (``GraphBlock``) → tail → features (the input of the
/// global pooling) → head (pooling and classifier). The zoo's architectures describe themselves
/// this way, and an ONNX import produces the same; running, exporting, counting MACs and reading
/// each block's structure all derive from the steps.
///
/// Layers are registered in forward order under their PyTorch `state_dict` paths
/// (`conv1`, `layer1.0.conv1`, `fc`), so the keys are torchvision's for the zoo and the
/// exporter's module paths for an import.
public final class GraphNetwork: ClassifierModel, @unchecked Sendable {
    public override var isStatelessInInference: Bool { true }
    public let stemProgram: StepProgram, tailProgram: StepProgram, headProgram: StepProgram
    private let blockStages: [[String]]
    private let head: String
    /// Name of the graph (the architecture, or the imported graph's name).
    public let name: String
    /// The graph input's and output's names (an export keeps them).
    public let inputName: String, outputName: String
    /// `[C, H, W]` the graph was imported for (its shapes were checked at this size); nil for a
    /// zoo network, which runs at any size its layers allow.
    public let fixedImageShape: [Int]?
    public let numClasses: Int
    /// The opset of an imported model; nil for the zoo.
    public let sourceOpset: Int64?

    /// `blocks` in forward order, grouped into `stages` (runs of blocks with one output shape);
    /// `headPrefix` is the key prefix of the head's layers (frozen during MiR).
    public init(name: String, stem: NetworkPiece, blocks: [(path: String, block: GraphBlock)], stages: [[String]],
                tail: NetworkPiece, head: NetworkPiece, headPrefix: String,
                inputName: String, outputName: String, fixedImageShape: [Int]?, numClasses: Int, sourceOpset: Int64?) throws {
        guard stages.flatMap({ $0 }) == blocks.map(\.path) else {
            throw GraphError("the stages \(stages) do not list the blocks \(blocks.map(\.path)) in order")
        }
        stemProgram = stem.program; tailProgram = tail.program; headProgram = head.program
        blockStages = stages
        self.head = headPrefix
        self.name = name
        self.inputName = inputName; self.outputName = outputName
        self.fixedImageShape = fixedImageShape
        self.numClasses = numClasses
        self.sourceOpset = sourceOpset
        super.init()
        for (p, l) in stem.layers { try attach(l, at: p, under: self) }
        for b in blocks { try attach(b.block, at: b.path, under: self) }
        for (p, l) in tail.layers + head.layers { try attach(l, at: p, under: self) }
    }

    public override var stages: [[String]] { blockStages }
    public override func stem(_ x: Tensor) -> Tensor { stemProgram.run(x, on: self) }
    public override func tail(_ x: Tensor) -> Tensor { tailProgram.run(x, on: self) }
    public override func classify(_ features: Tensor) -> Tensor { headProgram.run(features, on: self) }
    public override var headPrefix: String { head }

    /// The block at `path` as described (nil for a dropped block or another path).
    public func graphBlock(at path: String) -> GraphBlock? { module(at: path) as? GraphBlock }

    /// Measured once per image shape and set of blocks (a dropped or wrapped block measures again).
    public override func largestActivationElements(imageShape: [Int]) -> Int? {
        let blocks = blockPaths.map { module(at: $0).map(ObjectIdentifier.init) }
        if let known = largestActivations.value(imageShape: imageShape, blocks: blocks) { return known }
        let elements = measureLargestActivationElements(imageShape: imageShape)
        largestActivations.store(elements, imageShape: imageShape, blocks: blocks)
        return elements
    }

    private let largestActivations = LargestActivationMemo()
}

/// Largest activation per image shape, remembered with the blocks it was measured for.
private final class LargestActivationMemo: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [[Int]: (blocks: [ObjectIdentifier?], elements: Int)] = [:]

    func value(imageShape: [Int], blocks: [ObjectIdentifier?]) -> Int? {
        lock.withLock { entries[imageShape].flatMap { $0.blocks == blocks ? $0.elements : nil } }
    }

    func store(_ elements: Int, imageShape: [Int], blocks: [ObjectIdentifier?]) {
        lock.withLock { entries[imageShape] = (blocks, elements) }
    }
}
