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

    /// Multiply-accumulates of the convs and linears of a block, or of a whole network, for one
    /// input `[C, H, W]`, read off its steps (``GraphBlock/macs(input:)``,
    /// ``GraphNetwork/macs(imageShape:)``); 0 for a dropped block.
    public static func countMACs(_ module: Module, input: [Int]) -> Int {
        switch module {
        case let b as GraphBlock: return b.macs(input: input)
        case let n as GraphNetwork: return n.macs(imageShape: input)
        default: return 0
        }
    }
}
