import Engine
import NN

/// A block that can be dropped: a residual block with an identity skip that is not the first
/// block of its stage (the reference's `layerK.i`, i ≥ 1; MobileNetV2 blocks with a skip).
public struct BlockCandidate: Sendable, Equatable, Codable {
    /// Dotted path, e.g. `layer3.2` or `features.5`.
    public var path: String
    /// Index of the stage (0-based) and of the block within it.
    public var stage: Int, indexInStage: Int
    /// Index of the block among all blocks of the network.
    public var blockIndex: Int
    public var parameters: Int
    /// Multiply-accumulates of one forward pass of the block for one image.
    public var macs: Int
    /// Input shape of the block for one image `[C, H, W]`.
    public var inputShape: [Int]
}

public enum Candidates {
    /// Finds every droppable block of `model` from its structure, for images `[C, H, W]`.
    public static func find(in model: ClassifierModel, imageShape: [Int]) -> [BlockCandidate] {
        let shapes = blockInputShapes(model, imageShape: imageShape)
        var out: [BlockCandidate] = []
        var blockIndex = 0
        let droppable = Set(model.droppableBlockPaths)
        for (s, stage) in model.stages.enumerated() {
            for (i, path) in stage.enumerated() {
                defer { blockIndex += 1 }
                guard droppable.contains(path), let block = model.module(at: path) as? ResidualBlock else { continue }
                let inShape = shapes[blockIndex]
                out.append(BlockCandidate(path: path, stage: s, indexInStage: i, blockIndex: blockIndex,
                                          parameters: block.parameterCount,
                                          macs: countMACs(block, input: inShape), inputShape: inShape))
            }
        }
        return out
    }

    /// Input shape `[C, H, W]` of every block, found by one forward pass on a zero image.
    public static func blockInputShapes(_ model: ClassifierModel, imageShape: [Int]) -> [[Int]] {
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        return Autograd.noGrad {
            var h = model.stem(Tensor(zeros: [1] + imageShape))
            var shapes: [[Int]] = []
            for path in model.blockPaths {
                shapes.append(Array(h.shape.dropFirst()))
                h = model.module(at: path)!(h)
            }
            return shapes
        }
    }

    /// Multiply-accumulates of the convs and linears in `module` for one input `[C, H, W]`,
    /// counted by running it once and reading each conv's output size.
    public static func countMACs(_ module: Module, input: [Int]) -> Int {
        let counter = MACCounter()
        counter.attach(to: module)
        defer { counter.detach() }
        let wasTraining = module.isTraining
        module.eval()
        defer { module.train(wasTraining) }
        _ = Autograd.noGrad { module(Tensor(zeros: [1] + input)) }
        return counter.total
    }
}

/// Wraps every Conv2d of a module tree to count MACs, then restores the tree.
final class MACCounter {
    private(set) var total = 0
    private var replaced: [(Module, String, Module)] = []

    func attach(to root: Module) {
        for (path, m) in root.namedModules() where m is Conv2d && !path.isEmpty {
            let conv = m as! Conv2d
            root.replace(at: path, with: CountingConv(conv) { [unowned self] out in
                self.total += out.count / out.shape[0] * conv.inChannels / conv.groups * conv.kernelSize * conv.kernelSize
            })
            replaced.append((root, path, conv))
        }
    }

    func detach() {
        for (root, path, conv) in replaced { root.replace(at: path, with: conv) }
        replaced = []
    }
}

private final class CountingConv: Module, @unchecked Sendable {
    let conv: Conv2d
    let onOutput: (Tensor) -> Void
    init(_ conv: Conv2d, _ onOutput: @escaping (Tensor) -> Void) { self.conv = conv; self.onOutput = onOutput; super.init() }
    override func forward(_ x: Tensor) -> Tensor { let y = conv(x); onOutput(y); return y }
}
