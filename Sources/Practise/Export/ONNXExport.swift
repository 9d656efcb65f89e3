import Engine
import Foundation
import NN
import ONNX

/// Exports ResNets (torchvision and CIFAR-style, with or without dropped blocks) and MobileNetV2
/// to ONNX opset 13 with BatchNorm folded into the convolutions and a dynamic batch dimension.
/// Graph input `input` `[batch, C, H, W]`, output `logits` `[batch, classes]`.
public enum ONNXExport {
    public static func graph(_ model: ClassifierModel, spec: ModelSpec, imageShape: [Int]) throws -> ONNXGraphBuilder {
        model.eval()
        var b = ONNXGraphBuilder(name: spec.architecture.rawValue, inputName: "input",
                                 inputShape: [.symbolic("batch")] + imageShape.map { .fixed($0) })
        var e = Emitter(builder: b)
        var h = "input"
        switch model {
        case let resnet as ResNet:
            h = e.convBN(h, resnet.child("conv1"), resnet.child("bn1"), name: "conv1")
            h = e.builder.relu(h)
            if resnet.stem == .imageNet { h = e.builder.maxPool(h, kernel: 3, stride: 2, padding: 1) }
            for path in model.blockPaths { h = try e.block(h, model.module(at: path)!, name: path) }
            h = e.builder.flatten(e.builder.globalAveragePool(h))
            h = e.linear(h, resnet.child("fc") as! Linear, name: "fc")
        case let mobile as MobileNetV2:
            let features = mobile.child("features")
            h = e.convBNReLU6(h, features.child("0"), name: "features.0")
            for path in model.blockPaths { h = try e.block(h, model.module(at: path)!, name: path) }
            h = e.convBNReLU6(h, features.child("18"), name: "features.18")
            h = e.builder.flatten(e.builder.globalAveragePool(h))
            h = e.linear(h, mobile.child("classifier").child("1") as! Linear, name: "classifier.1")
        default:
            throw PractiseError("ONNX export supports ResNet and MobileNetV2, not \(type(of: model))")
        }
        b = e.builder
        b.output(h, name: "logits", shape: [.symbolic("batch"), .fixed(spec.numClasses)])
        return b
    }

    /// Writes `model` as an ONNX file atomically.
    public static func write(_ model: ClassifierModel, spec: ModelSpec, imageShape: [Int], to path: String, metadata: [String: String] = [:]) throws {
        let g = try graph(model, spec: spec, imageShape: imageShape)
        try g.write(to: URL(fileURLWithPath: path), producerVersion: ToolVersion.string,
                    metadata: WeightsIO.metadata(for: spec, extra: metadata))
    }
}

/// Emits layers into a graph builder, folding each BatchNorm into the conv before it.
private struct Emitter {
    var builder: ONNXGraphBuilder

    mutating func convBN(_ x: String, _ convModule: Module, _ bnModule: Module, name: String) -> String {
        let conv = convModule as! Conv2d, bn = bnModule as! BatchNorm2d
        let folded = foldBatchNorm(convWeight: conv.weight.value.array, convBias: conv.bias?.value.array,
                                   gamma: bn.weight.value.array, beta: bn.bias.value.array,
                                   runningMean: bn.runningMean.array, runningVar: bn.runningVar.array, eps: bn.eps)
        return builder.conv(x, weight: folded.weight, weightShape: conv.weight.shape, bias: folded.bias,
                            stride: conv.stride, padding: conv.padding, groups: conv.groups, name: name)
    }

    mutating func convBNReLU6(_ x: String, _ m: Module, name: String) -> String {
        builder.relu6(convBN(x, m.child("0"), m.child("1"), name: name))
    }

    mutating func linear(_ x: String, _ l: Linear, name: String) -> String {
        builder.gemm(x, weight: l.weight.value.array, weightShape: l.weight.shape, bias: l.bias.value.array, name: name)
    }

    mutating func block(_ x: String, _ m: Module, name: String) throws -> String {
        switch m {
        case is Identity:
            return x
        case let b as BasicBlock:
            var h = builder.relu(convBN(x, b.child("conv1"), b.child("bn1"), name: "\(name).conv1"))
            h = convBN(h, b.child("conv2"), b.child("bn2"), name: "\(name).conv2")
            let skip = b.hasChild("downsample") ? convBN(x, b.child("downsample").child("0"), b.child("downsample").child("1"), name: "\(name).downsample") : x
            return builder.relu(builder.add(h, skip))
        case let b as Bottleneck:
            var h = builder.relu(convBN(x, b.child("conv1"), b.child("bn1"), name: "\(name).conv1"))
            h = builder.relu(convBN(h, b.child("conv2"), b.child("bn2"), name: "\(name).conv2"))
            h = convBN(h, b.child("conv3"), b.child("bn3"), name: "\(name).conv3")
            let skip = b.hasChild("downsample") ? convBN(x, b.child("downsample").child("0"), b.child("downsample").child("1"), name: "\(name).downsample") : x
            return builder.relu(builder.add(h, skip))
        case let b as InvertedResidual:
            let layers = b.child("conv").children.map(\.module)
            var h = x
            var i = 0
            while i < layers.count {
                if layers[i] is ConvBNReLU6 {
                    h = convBNReLU6(h, layers[i], name: "\(name).conv.\(i)")
                    i += 1
                } else {
                    h = convBN(h, layers[i], layers[i + 1], name: "\(name).conv.\(i)")
                    i += 2
                }
            }
            return b.hasIdentitySkip ? builder.add(x, h) : h
        default:
            throw PractiseError("ONNX export: unsupported block \(type(of: m)) at \(name)")
        }
    }
}
