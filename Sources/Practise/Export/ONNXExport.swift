import Engine
import Foundation
import NN
import ONNX

/// Writes a network (``GraphNetwork``: a zoo architecture or an imported graph, blocks dropped or
/// not, weights as trained) to ONNX from the same description that runs it: the graph steps of
/// its stem, blocks, tail and head. A dropped block (an ``Identity`` at its path) emits nothing:
/// the next block reads what the dropped one read.
///
/// - Each BatchNorm that is the only reader of a convolution's output is folded into that
///   convolution (inference mode); any other BatchNorm stays a `BatchNormalization` node.
///   Dropout is the identity.
/// - Node names are the steps' (PyTorch module paths such as `/layer1/layer1.0/conv1/Conv`, as
///   `torch.onnx.export` writes them and the zoo's descriptions do too, so a re-import finds the
///   same block names); value names are generated, except the graph input and output, which keep
///   the network's names (`input` and `logits` for the zoo, the source model's for an import).
/// - The batch dimension is symbolic (`batch`); C, H, W are the given image shape.
/// - Opset 13, or 14 when the network has a HardSwish.
public enum ONNXExport {
    /// The graph of `net` for images `imageShape` `[C, H, W]` (by default the shape it was imported for).
    public static func graph(_ net: GraphNetwork, name: String, imageShape: [Int]? = nil) -> ONNXGraphBuilder {
        guard let shape = imageShape ?? net.fixedImageShape else { preconditionFailure("ONNXExport: a zoo network needs an image shape") }
        let wasTraining = net.isTraining
        net.eval()
        defer { net.train(wasTraining) }
        var e = StepEmitter(builder: ONNXGraphBuilder(name: name, inputName: net.inputName,
                                                      inputShape: [.symbolic("batch")] + shape.map { .fixed($0) }))
        if net.outputName != net.inputName { e.builder.reserve(net.outputName) }
        var h = e.emit(net.stemProgram, owner: net, input: net.inputName)
        for path in net.blockPaths {
            switch net.module(at: path) {
            case let block as GraphBlock: h = e.emit(block.program, owner: block, input: h)
            case is Identity: break
            case let other: preconditionFailure("ONNXExport: \(path) is a \(other.map { "\(type(of: $0))" } ?? "missing module"), not a graph block or Identity")
            }
        }
        h = e.emit(net.tailProgram, owner: net, input: h)
        h = e.emit(net.headProgram, owner: net, input: h)
        e.builder.output(h, name: net.outputName, shape: [.symbolic("batch"), .fixed(net.numClasses)])
        return e.builder
    }

    /// The graph of a zoo network built from `spec`, named after its architecture.
    public static func graph(_ model: ClassifierModel, spec: ModelSpec, imageShape: [Int]) -> ONNXGraphBuilder {
        graph(network(model), name: spec.architecture.rawValue, imageShape: imageShape)
    }

    /// Writes a zoo network built from `spec` atomically, with the spec in `metadata_props`.
    public static func write(_ model: ClassifierModel, spec: ModelSpec, imageShape: [Int], to path: String, metadata: [String: String] = [:]) throws {
        try graph(model, spec: spec, imageShape: imageShape)
            .write(toPath: path, producerVersion: ToolVersion.string, metadata: WeightsIO.metadata(for: spec, extra: metadata))
    }

    /// Writes `net` atomically, with `metadata` as `metadata_props`.
    public static func write(_ net: GraphNetwork, name: String, imageShape: [Int]? = nil, to path: String, metadata: [String: String] = [:]) throws {
        try graph(net, name: name, imageShape: imageShape)
            .write(toPath: path, producerVersion: ToolVersion.string, metadata: metadata)
    }

    private static func network(_ model: ClassifierModel) -> GraphNetwork {
        guard let net = model as? GraphNetwork else { preconditionFailure("ONNXExport: \(type(of: model)) is not a GraphNetwork") }
        return net
    }
}

/// Emits the steps of ``StepProgram``s into a graph builder, with the weights of the layers that
/// their owner module holds now.
private struct StepEmitter {
    var builder: ONNXGraphBuilder

    /// Emits `p` reading the builder value `input`; returns the builder value of `p`'s output.
    mutating func emit(_ p: StepProgram, owner: Module, input: String) -> String {
        var values = [p.input: input]
        var folded = Set<Int>()
        for (i, s) in p.steps.enumerated() where !folded.contains(i) {
            let x = values[s.inputs[0]]!
            let name: String? = s.nodeName.hasPrefix("#") ? nil : s.nodeName
            func layer<T>(_ type: T.Type) -> T { owner.module(at: s.op.layerPath!)! as! T }
            let out: String
            switch s.op {
            case .conv(_, let extraPads):
                let m = owner.module(at: s.op.layerPath!)!
                var (weight, shape, bias, stride, padding, groups, dilation): ([Float], [Int], [Float]?, Int, Int, Int, Int)
                if let c = m as? Conv2d {
                    (weight, shape, bias, stride, padding, groups, dilation) = (c.weight.value.array, c.weight.shape, c.bias?.value.array, c.stride, c.padding, c.groups, 1)
                } else {
                    let c = m as! DilatedConv2d
                    (weight, shape, bias, stride, padding, groups, dilation) = (c.weight.value.array, c.weight.shape, c.bias?.value.array, c.stride, c.padding, c.groups, c.dilation)
                }
                let foldedBN = foldableBatchNorm(after: i, in: p)
                if let bnIndex = foldedBN {
                    let bn = owner.module(at: p.steps[bnIndex].op.layerPath!)! as! BatchNorm2d
                    (weight, bias) = foldBatchNorm(convWeight: weight, convBias: bias, gamma: bn.weight.value.array, beta: bn.bias.value.array,
                                                   runningMean: bn.runningMean.array, runningVar: bn.runningVar.array, eps: bn.eps)
                    folded.insert(bnIndex)
                }
                out = builder.conv(x, weight: weight, weightShape: shape, bias: bias, stride: stride,
                                   pads: extraPads ?? Array(repeating: padding, count: 4), dilation: dilation, groups: groups,
                                   name: name ?? "Conv_\(i)")
                if let bnIndex = foldedBN { values[p.steps[bnIndex].output] = out }
            case .batchNorm:
                let bn = layer(BatchNorm2d.self)
                out = builder.batchNormalization(x, scale: bn.weight.value.array, bias: bn.bias.value.array, mean: bn.runningMean.array,
                                                 variance: bn.runningVar.array, epsilon: bn.eps, name: name ?? "BatchNormalization_\(i)")
            case .linear:
                let l = layer(Linear.self)
                out = builder.gemm(x, weight: l.weight.value.array, weightShape: l.weight.shape, bias: l.bias.value.array, name: name ?? "Gemm_\(i)")
            case .relu: out = builder.relu(x, name: name)
            case .relu6: out = builder.relu6(x, name: name)
            case .sigmoid: out = builder.sigmoid(x, name: name)
            case .hardSwish: out = builder.hardSwish(x, name: name)
            case .clip(let lo, let hi): out = builder.clip(x, min: lo, max: hi, name: name)
            case .hardSigmoid(let a, let b): out = builder.hardSigmoid(x, alpha: a, beta: b, name: name)
            case .add: out = builder.add(x, values[s.inputs[1]]!, name: name)
            case .mul: out = builder.mul(x, values[s.inputs[1]]!, name: name)
            case .scale(let f): out = builder.scale(x, by: f, name: name)
            case .maxPool(let k, let st, let pd): out = builder.maxPool(x, kernel: k, stride: st, padding: pd, name: name)
            case .avgPool(let k, let st, let pd): out = builder.averagePool(x, kernel: k, stride: st, padding: pd, name: name)
            case .globalMean(let keep): out = keep ? builder.globalAveragePool(x, name: name) : builder.spatialMean(x, keepDims: false, name: name)
            case .flatten(let axis): out = builder.flatten(x, axis: axis, name: name)
            case .reshape(let spec): out = builder.reshape(x, shape: spec, name: name)
            case .identity, .dropout: out = x
            case .pad(let pads): out = builder.pad(x, pads, name: name)
            }
            values[s.output] = out
        }
        return values[p.output]!
    }

    /// The index of a BatchNorm step right after conv step `i` that is the only reader of the
    /// conv's output (which is not the program's output), so it folds into the conv.
    private func foldableBatchNorm(after i: Int, in p: StepProgram) -> Int? {
        let conv = p.steps[i].output
        guard i + 1 < p.steps.count, case .batchNorm = p.steps[i + 1].op, p.steps[i + 1].inputs[0] == conv, p.output != conv else { return nil }
        let readers = p.steps.filter { $0.inputs.contains(conv) }.count
        return readers == 1 ? i + 1 : nil
    }
}
