import Engine
import NN
import ONNX

/// A failure while turning an ONNX graph into a network: names the node, its op and the opset.
public struct ONNXImportError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One node of an imported graph as an operation of our engine. Layers with weights (`conv`,
/// `batchNorm`, `linear`) name a module by its path relative to the module that runs the step.
public enum GraphOp: Sendable, Equatable {
    /// A ``Conv2d`` (or ``DilatedConv2d``) layer; `pads` are `[top, left, bottom, right]` applied
    /// before it when they are not symmetric (symmetric padding lives in the layer).
    case conv(layer: String, extraPads: [Int]?)
    case batchNorm(layer: String)
    /// `[N, in]` → `[N, out]` (Gemm, or MatMul with its bias Add).
    case linear(layer: String)
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
    var isGlobalPool: Bool { if case .globalMean = self { return true } else { return false } }
}

/// A node converted: its op, the values it reads and writes, and the source node for messages.
public struct GraphStep: Sendable {
    public var op: GraphOp
    public var inputs: [String]
    public var output: String
    /// ONNX node name (or `#index` when unnamed) and op type.
    public var nodeName: String, opType: String
    /// The PyTorch module path recorded in the node name (`layer1.0.conv1`), if any.
    public var modulePath: String?

    /// Runs the step; `values` holds every value computed so far; `layer(path)` looks a module up.
    func run(_ values: [String: Tensor], layer: (String) -> Module) -> Tensor {
        let x = values[inputs[0]]!
        switch op {
        case .conv(let path, let pads):
            var h = x
            if let p = pads { h = pad2d(h, top: p[0], left: p[1], bottom: p[2], right: p[3]) }
            return layer(path)(h)
        case .batchNorm(let path), .linear(let path): return layer(path)(x)
        case .relu: return relu(x)
        case .relu6: return relu6(x)
        case .sigmoid: return sigmoid(x)
        case .hardSwish: return hardSwish(x)
        case .clip(let lo, let hi): return clip(x, min: lo, max: hi)
        case .hardSigmoid(let a, let b): return hardSigmoid(x, alpha: a, beta: b)
        case .add: return Engine.add(x, values[inputs[1]]!)
        case .mul: return multiply(x, values[inputs[1]]!)
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
    static func reshapeTarget(_ spec: [Int64], input: [Int]) -> [Int] {
        var out = spec.enumerated().map { i, d in d == 0 && i < input.count ? input[i] : Int(d) }
        if let k = out.firstIndex(of: -1) {
            let known = out.enumerated().filter { $0.offset != k }.map(\.element).reduce(1, *)
            out[k] = known > 0 ? input.reduce(1, *) / known : 0
        }
        return out
    }
}
