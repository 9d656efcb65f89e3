import Engine

/// Writes one piece of a network (a ``StepProgram`` and the layers it owns) the way a PyTorch
/// `forward` reads: `h = b.conv(h, conv, at: "conv1")`. The zoo's architectures describe
/// themselves with it.
///
/// Layer paths are relative to the module that will own the program (a block, or the network);
/// `scope` is that module's path in the whole network, so steps carry their full PyTorch module
/// path and a node name as `torch.onnx.export` writes it (`/layer1/layer1.0/conv1/Conv`), which
/// an export keeps and a re-import reads back.
public struct ProgramBuilder {
    public let scope: String
    /// The program's input value.
    public let input = "input"
    public private(set) var steps: [GraphStep] = []
    public private(set) var layers: [(path: String, layer: Module)] = []
    private var valueCount = 0

    public init(scope: String = "") { self.scope = scope }

    /// `[N, I, H, W]` → `[N, O, H', W']`.
    public mutating func conv(_ x: String, _ layer: Conv2d, at path: String) -> String {
        append(.conv(layer: path, extraPads: nil), [x], "Conv", module: path, layer: layer)
    }

    public mutating func batchNorm(_ x: String, _ layer: BatchNorm2d, at path: String) -> String {
        append(.batchNorm(layer: path), [x], "BatchNormalization", module: path, layer: layer)
    }

    /// `[N, in]` → `[N, out]`.
    public mutating func linear(_ x: String, _ layer: Linear, at path: String) -> String {
        append(.linear(layer: path), [x], "Gemm", module: path, layer: layer)
    }

    public mutating func dropout(_ x: String, _ layer: Dropout, at path: String) -> String {
        append(.dropout(layer: path), [x], "Dropout", module: path, layer: layer)
    }

    /// `module` is the PyTorch module that applies it (`relu`), for the node name; "" for a functional call.
    public mutating func relu(_ x: String, module: String = "") -> String { append(.relu, [x], "Relu", module: module) }
    public mutating func relu6(_ x: String, module: String = "") -> String { append(.relu6, [x], "Clip", module: module) }
    public mutating func add(_ a: String, _ b: String) -> String { append(.add, [a, b], "Add", module: "") }

    public mutating func maxPool(_ x: String, kernel: Int, stride: Int, padding: Int, module: String) -> String {
        append(.maxPool(kernel: kernel, stride: stride, padding: padding), [x], "MaxPool", module: module)
    }

    /// `[N, C, H, W]` → `[N, C, 1, 1]` (`nn.AdaptiveAvgPool2d(1)`).
    public mutating func globalAveragePool(_ x: String, module: String) -> String {
        append(.globalMean(keepDims: true), [x], "GlobalAveragePool", module: module)
    }

    /// `[N, C, 1, 1]` → `[N, C]` (`torch.flatten(x, 1)`).
    public mutating func flatten(_ x: String) -> String { append(.flatten(axis: 1), [x], "Flatten", module: "") }

    /// The program ending at `output`.
    public func program(output: String) -> StepProgram { StepProgram(steps: steps, input: input, output: output) }

    /// The program ending at `output` with its layers, for a network's stem, tail or head.
    public func piece(output: String) -> NetworkPiece { NetworkPiece(program: program(output: output), layers: layers) }

    /// A block running the program ending at `output`.
    public func block(output: String) throws -> GraphBlock { try GraphBlock(program: program(output: output), layers: layers) }

    private mutating func append(_ op: GraphOp, _ inputs: [String], _ opType: String, module: String, layer: Module? = nil) -> String {
        valueCount += 1
        let out = "v\(valueCount)"
        let full = [scope, module].filter { !$0.isEmpty }.joined(separator: ".")
        steps.append(GraphStep(op: op, inputs: inputs, output: out, nodeName: Self.nodeName(modulePath: full, opType: opType),
                               opType: opType, modulePath: full))
        if let layer { layers.append((module, layer)) }
        return out
    }

    /// `layer2.0.downsample.0` + `Conv` → `/layer2/layer2.0/downsample/downsample.0/Conv`: each
    /// scope is a module's name, a container's numbered child written `parent.index`.
    static func nodeName(modulePath: String, opType: String) -> String {
        var scopes: [String] = []
        for part in modulePath.split(separator: ".").map(String.init) {
            if let previous = scopes.last, part.allSatisfy(\.isNumber) { scopes.append("\(previous).\(part)") } else { scopes.append(part) }
        }
        return "/" + (scopes + [opType]).joined(separator: "/")
    }
}
