import Engine

/// One operation of a network's graph: what the zoo's descriptions write and what an ONNX node
/// is imported as. Layers with weights (`conv`, `batchNorm`, `linear`, `dropout`) name their
/// module by its path relative to the module that runs the step.
public enum GraphOp: Sendable, Equatable {
    /// A ``Conv2d`` (or ``DilatedConv2d``) layer; `extraPads` are `[top, left, bottom, right]`
    /// applied before it when they are not symmetric (symmetric padding lives in the layer).
    case conv(layer: String, extraPads: [Int]?)
    case batchNorm(layer: String)
    /// `[N, in]` → `[N, out]` (a ``Linear``: Gemm, or MatMul with its bias Add).
    case linear(layer: String)
    /// A ``Dropout`` layer (identity in evaluation mode, and in exported graphs).
    case dropout(layer: String)
    case relu, relu6, sigmoid, hardSwish
    case clip(min: Float, max: Float)
    case hardSigmoid(alpha: Float, beta: Float)
    case add, mul
    case scale(Float)
    case maxPool(kernel: Int, stride: Int, padding: Int)
    case avgPool(kernel: Int, stride: Int, padding: Int)
    /// Mean over H, W: `[N, C, H, W]` → `[N, C, 1, 1]` (`keepDims`) or `[N, C]`.
    case globalMean(keepDims: Bool)
    case flatten(axis: Int)
    /// ONNX Reshape semantics (0 copies the input extent, −1 is inferred).
    case reshape([Int64])
    case identity
    /// Zero padding `[top, left, bottom, right]` of H and W.
    case pad([Int])

    /// Whether this op is a global pooling (its input are the pre-pool features).
    public var isGlobalPool: Bool { if case .globalMean = self { return true } else { return false } }

    /// The path of the layer the op runs, for ops with weights (or a dropout generator).
    public var layerPath: String? {
        switch self {
        case .conv(let p, _), .batchNorm(let p), .linear(let p), .dropout(let p): return p
        default: return nil
        }
    }

    /// The same op running the layer at `path` (ops without a layer are returned unchanged).
    public func withLayer(_ path: String) -> GraphOp {
        switch self {
        case .conv(_, let pads): return .conv(layer: path, extraPads: pads)
        case .batchNorm: return .batchNorm(layer: path)
        case .linear: return .linear(layer: path)
        case .dropout: return .dropout(layer: path)
        default: return self
        }
    }

    /// Element-wise ops of one input that keep every channel where it is (what may sit between
    /// a conv and the conv that reads it without changing which channels are which).
    public var isChannelwiseUnary: Bool {
        switch self {
        case .relu, .relu6, .sigmoid, .hardSwish, .clip, .hardSigmoid, .scale, .identity: return true
        default: return false
        }
    }
}

/// A node of a graph: its op, the values it reads and writes, and where it came from.
public struct GraphStep: Sendable {
    public var op: GraphOp
    public var inputs: [String]
    public var output: String
    /// Node name (ONNX's, `#index` when unnamed, or the zoo's PyTorch-style
    /// `/layer1/layer1.0/conv1/Conv`) and op type, for messages and the exported graph.
    public var nodeName: String, opType: String
    /// The PyTorch module path of the node (`layer1.0.conv1`), if known.
    public var modulePath: String?

    public init(op: GraphOp, inputs: [String], output: String, nodeName: String, opType: String, modulePath: String?) {
        self.op = op; self.inputs = inputs; self.output = output
        self.nodeName = nodeName; self.opType = opType; self.modulePath = modulePath
    }

    /// Runs the step on its input tensors (in `inputs` order); `layer(path)` looks a module up.
    func run(_ xs: [Tensor], layer: (String) -> Module) -> Tensor {
        let x = xs[0]
        switch op {
        case .conv(let path, let pads):
            var h = x
            if let p = pads { h = pad2d(h, top: p[0], left: p[1], bottom: p[2], right: p[3]) }
            return layer(path)(h)
        case .batchNorm(let path), .linear(let path), .dropout(let path): return layer(path)(x)
        case .relu: return relu(x)
        case .relu6: return relu6(x)
        case .sigmoid: return sigmoid(x)
        case .hardSwish: return hardSwish(x)
        case .clip(let lo, let hi): return clip(x, min: lo, max: hi)
        case .hardSigmoid(let a, let b): return hardSigmoid(x, alpha: a, beta: b)
        case .add: return Engine.add(x, xs[1])
        case .mul: return multiply(x, xs[1])
        case .scale(let f): return scaled(x, by: f)
        case .maxPool(let k, let s, let p): return maxPool2d(x, kernel: k, stride: s, padding: p)
        case .avgPool(let k, let s, let p): return avgPool2d(x, kernel: k, stride: s, padding: p)
        case .globalMean(let keep):
            let m = globalAvgPool(x)
            return keep ? reshape(m, [x.shape[0], x.shape[1], 1, 1]) : m
        case .flatten(let axis):
            let lead = x.shape[..<axis].reduce(1, *)
            return reshape(x, [lead, x.count / max(lead, 1)])
        case .reshape(let spec): return reshape(x, Self.reshapeTarget(spec, input: x.shape))
        case .identity: return x
        case .pad(let p): return pad2d(x, top: p[0], left: p[1], bottom: p[2], right: p[3])
        }
    }

    /// ONNX Reshape's output shape for `input` (checked when the graph is imported).
    public static func reshapeTarget(_ spec: [Int64], input: [Int]) -> [Int] {
        var out = spec.enumerated().map { i, d in d == 0 && i < input.count ? input[i] : Int(d) }
        if let k = out.firstIndex(of: -1) {
            let known = out.enumerated().filter { $0.offset != k }.map(\.element).reduce(1, *)
            out[k] = known > 0 ? input.reduce(1, *) / known : 0
        }
        return out
    }
}
