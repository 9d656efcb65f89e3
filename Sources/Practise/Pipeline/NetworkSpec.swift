import Engine
import Foundation
import NN
import ONNX

/// What rebuilds a network before its weights are copied in: one of the zoo's architectures
/// (``ModelSpec``) or a graph imported from an ONNX file (``ImportedNetworkSpec``). The teacher
/// of a compression and every student made from it share one.
public enum NetworkSpec: Sendable {
    case zoo(ModelSpec)
    case imported(ImportedNetworkSpec)

    /// How reports, latency tables and sharded analyses name the network: the architecture
    /// (`resnet56`) or `onnx:` and the ONNX file's name without extension (`onnx:resnet56`).
    public var name: String {
        switch self {
        case .zoo(let s): return s.architecture.rawValue
        case .imported(let s): return s.name
        }
    }

    public var inChannels: Int {
        switch self {
        case .zoo(let s): return s.inChannels
        case .imported(let s): return s.imageShape[0]
        }
    }

    public var numClasses: Int {
        switch self {
        case .zoo(let s): return s.numClasses
        case .imported(let s): return s.numClasses
        }
    }

    public var droppedBlocks: [String] {
        switch self {
        case .zoo(let s): return s.droppedBlocks
        case .imported(let s): return s.droppedBlocks
        }
    }

    /// The zoo spec, or nil for an imported network.
    public var zoo: ModelSpec? { if case .zoo(let s) = self { return s } else { return nil } }

    /// `[C, H, W]` of the input: the imported graph's, or a zoo model's default side (`side` overrides it).
    public func imageShape(side: Int? = nil) -> [Int] {
        switch self {
        case .zoo(let s):
            let n = side ?? s.architecture.defaultImageSize
            return [s.inChannels, n, n]
        case .imported(let s): return s.imageShape
        }
    }

    /// The same network with more blocks dropped.
    public func dropping(_ blocks: [String]) -> NetworkSpec {
        switch self {
        case .zoo(let s): return .zoo(s.dropping(blocks))
        case .imported(var s):
            s.droppedBlocks = sortedBlockPaths(s.droppedBlocks + blocks)
            return .imported(s)
        }
    }

    /// Builds the network (zoo: seeded initialisation; imported: the source graph's weights)
    /// with the dropped blocks replaced by ``Identity``.
    public func buildChecked(seed: UInt64 = 0) throws -> ClassifierModel {
        switch self {
        case .zoo(let s): return try s.buildChecked(seed: seed)
        case .imported(let s): return try s.build()
        }
    }

    /// ``buildChecked(seed:)`` for a spec made by the tool (a zoo spec with valid widths, an
    /// imported graph that imported before).
    public func build(seed: UInt64 = 0) -> ClassifierModel {
        do { return try buildChecked(seed: seed) } catch { preconditionFailure("\(error)") }
    }
}

/// A network imported from an ONNX file: the graph as read (its initializers are the weights
/// the network starts from), the input it was imported for and the blocks dropped from it.
public struct ImportedNetworkSpec: Sendable {
    public let source: ONNXModel
    /// The file it was read from.
    public let path: String
    /// `[C, H, W]` of one input image (the graph's input, or the size it was imported at).
    public let imageShape: [Int]
    public let numClasses: Int
    public var droppedBlocks: [String] = []

    /// `onnx:` and the file's name without extension.
    public var name: String { "onnx:" + ((path as NSString).lastPathComponent as NSString).deletingPathExtension }

    /// Reads and imports `path`; `imageSize` sets H and W when the graph leaves them open (a graph
    /// fixed at another size is refused); without it, a graph that leaves them open is refused
    /// with `openSizeAdvice`. Returns the spec and the network it describes.
    public static func load(path: String, imageSize: (h: Int, w: Int)? = nil,
                            openSizeAdvice: String = "give the image size") throws -> (ImportedNetworkSpec, GraphNetwork) {
        let model = try ONNXReader.read(path: path)
        if imageSize == nil, let input = model.graph.runtimeInputs.first, let s = input.shape, s.count == 4, s[2] == nil || s[3] == nil {
            throw ONNXImportError("\(path): the graph input '\(input.name)' leaves its height and width open; \(openSizeAdvice)")
        }
        if let size = imageSize, let input = model.graph.runtimeInputs.first, let s = input.shape, s.count == 4,
           let h = s[2], let w = s[3], (h, w) != (size.h, size.w) {
            throw ONNXImportError("\(path): the graph input '\(input.name)' is fixed at \(h)×\(w); an image size of \(size.h)×\(size.w) does not fit it")
        }
        let net = try ONNXImporter.naming(path) { try ONNXImporter.build(model, imageSize: imageSize) }
        return (ImportedNetworkSpec(source: model, path: path, imageShape: net.fixedImageShape!, numClasses: net.numClasses), net)
    }

    /// The network imported again from the source graph, with the dropped blocks replaced by ``Identity``.
    public func build() throws -> GraphNetwork {
        let net = try ONNXImporter.naming(path) { try ONNXImporter.build(source, imageSize: (imageShape[1], imageShape[2])) }
        let known = Set(net.blockPaths)
        for path in droppedBlocks {
            guard known.contains(path) else { throw ONNXImportError("\(self.path): no block '\(path)' to drop; blocks: \(net.blockPaths.joined(separator: ", "))") }
            net.replace(at: path, with: Identity())
        }
        return net
    }
}
