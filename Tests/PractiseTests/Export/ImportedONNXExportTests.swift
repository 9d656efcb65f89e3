import Engine
import Foundation
import NN
import ONNX
import Practise
import TestSupport
import XCTest

/// A network imported from ONNX, compressed (blocks dropped, finetuned), written back to ONNX
/// and imported again computes the student's logits; the file keeps the source's input/output
/// names and PyTorch module paths, folds every BatchNorm that follows a conv, and holds the
/// finetuned weights.
final class ImportedONNXExportTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "imported-onnx-export-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// A residual CNN with node names as `torch.onnx.export` writes them (module paths), using
    /// every op the importer converts: input `pixels` `[batch, 3, 16, 16]`, output `class_scores`.
    ///
    ///     stem:     Conv+bias · BN · HardSwish · MaxPool · BN (not after a conv: stays a BN)
    ///     layer1.0: Conv·BN·ReLU · dilated Conv·BN · squeeze-excitation (GAP·Conv·ReLU·Conv·HardSigmoid·Mul) + x · ReLU
    ///     layer1.1: Pad · Conv k2 · BN · Clip(0, 6) · Conv with asymmetric pads · BN · SiLU (x·Sigmoid(x)) + x · ReLU
    ///     layer1.2: depthwise Conv·BN·ReLU · Conv 1×1·BN · Mul by 0.5 + x · ReLU
    ///     layer2.0: Conv s2·BN·ReLU · Conv·BN + (AveragePool · Conv 1×1 · BN) · ReLU
    ///     layer2.1: Conv·BN·ReLU · Conv·BN + x · ReLU
    ///     head:     ReduceMean(H, W, no keepdims) · Reshape [0, −1] · Gemm
    static func fixture() -> [UInt8] {
        var seed: UInt64 = 1
        func t(_ shape: [Int], _ scale: Float) -> [Float] { seed += 1; return randomTensor(shape, seed: seed, scale: scale).array }
        var b = ONNXGraphBuilder(name: "fixture", inputName: "pixels", inputShape: [.symbolic("batch"), .fixed(3), .fixed(16), .fixed(16)])
        func conv(_ x: String, _ cin: Int, _ cout: Int, k: Int, stride: Int = 1, pads: [Int]? = nil, dilation: Int = 1, groups: Int = 1,
                  bias: Bool = false, _ name: String) -> String {
            let p = pads ?? Array(repeating: (k - 1) * dilation / 2, count: 4)
            return b.conv(x, weight: t([cout, cin / groups, k, k], 0.8 / Float(cin / groups * k * k).squareRoot() * 1.4),
                          weightShape: [cout, cin / groups, k, k], bias: bias ? t([cout], 0.1) : nil,
                          stride: stride, pads: p, dilation: dilation, groups: groups, name: name + "/Conv")
        }
        func bn(_ x: String, _ c: Int, _ name: String) -> String {
            let variance = t([c], 0.3).map { 0.5 + abs($0) }
            return b.batchNormalization(x, scale: t([c], 0.2).map { 1 + $0 }, bias: t([c], 0.1), mean: t([c], 0.2), variance: variance,
                                        epsilon: 1e-5, name: name + "/BatchNormalization")
        }
        // stem
        var x = conv("pixels", 3, 8, k: 3, bias: true, "/stem/conv")
        x = b.hardSwish(bn(x, 8, "/stem/bn"), name: "/stem/act/HardSwish")
        x = b.maxPool(x, kernel: 3, stride: 2, padding: 1, name: "/stem/pool/MaxPool")
        x = bn(x, 8, "/stem/bn2")
        // layer1.0: squeeze-excitation
        var p = "/layer1/layer1.0"
        var h = b.relu(bn(conv(x, 8, 8, k: 3, "\(p)/conv1"), 8, "\(p)/bn1"), name: "\(p)/relu/Relu")
        h = bn(conv(h, 8, 8, k: 3, dilation: 2, "\(p)/conv2"), 8, "\(p)/bn2")
        var gate = b.globalAveragePool(h, name: "\(p)/se/pool/GlobalAveragePool")
        gate = b.relu(conv(gate, 8, 4, k: 1, bias: true, "\(p)/se/fc1"), name: "\(p)/se/relu/Relu")
        gate = b.hardSigmoid(conv(gate, 4, 8, k: 1, bias: true, "\(p)/se/fc2"), alpha: 1 / 6, beta: 0.5, name: "\(p)/se/gate/HardSigmoid")
        h = b.mul(h, gate, name: "\(p)/se/Mul")
        x = b.relu(b.add(h, x, name: "\(p)/Add"), name: "\(p)/relu_1/Relu")
        // layer1.1: padding, ReLU6, asymmetric pads, SiLU
        p = "/layer1/layer1.1"
        h = b.pad(x, [0, 0, 1, 1], name: "\(p)/pad/Pad")
        h = b.clip(bn(conv(h, 8, 8, k: 2, pads: [0, 0, 0, 0], "\(p)/conv1"), 8, "\(p)/bn1"), min: 0, max: 6, name: "\(p)/act/Clip")
        h = bn(conv(h, 8, 8, k: 3, pads: [0, 1, 2, 1], "\(p)/conv2"), 8, "\(p)/bn2")
        h = b.mul(h, b.sigmoid(h, name: "\(p)/silu/Sigmoid"), name: "\(p)/silu/Mul")
        x = b.relu(b.add(h, x, name: "\(p)/Add"), name: "\(p)/relu/Relu")
        // layer1.2: depthwise, a scalar Mul
        p = "/layer1/layer1.2"
        h = b.relu(bn(conv(x, 8, 8, k: 3, groups: 8, "\(p)/conv1"), 8, "\(p)/bn1"), name: "\(p)/relu/Relu")
        h = b.scale(bn(conv(h, 8, 8, k: 1, "\(p)/conv2"), 8, "\(p)/bn2"), by: 0.5, name: "\(p)/Mul")
        x = b.relu(b.add(h, x, name: "\(p)/Add"), name: "\(p)/relu_1/Relu")
        // layer2.0: stride 2 with an average-pooling projection
        p = "/layer2/layer2.0"
        h = b.relu(bn(conv(x, 8, 16, k: 3, stride: 2, "\(p)/conv1"), 16, "\(p)/bn1"), name: "\(p)/relu/Relu")
        h = bn(conv(h, 16, 16, k: 3, "\(p)/conv2"), 16, "\(p)/bn2")
        var skip = b.averagePool(x, kernel: 2, stride: 2, padding: 0, name: "\(p)/downsample/downsample.0/AveragePool")
        skip = bn(conv(skip, 8, 16, k: 1, "\(p)/downsample/downsample.1"), 16, "\(p)/downsample/downsample.2")
        x = b.relu(b.add(h, skip, name: "\(p)/Add"), name: "\(p)/relu_1/Relu")
        // layer2.1
        p = "/layer2/layer2.1"
        h = b.relu(bn(conv(x, 16, 16, k: 3, "\(p)/conv1"), 16, "\(p)/bn1"), name: "\(p)/relu/Relu")
        h = bn(conv(h, 16, 16, k: 3, "\(p)/conv2"), 16, "\(p)/bn2")
        x = b.relu(b.add(h, x, name: "\(p)/Add"), name: "\(p)/relu_1/Relu")
        // head
        x = b.reshape(b.spatialMean(x, keepDims: false, name: "/pool/ReduceMean"), shape: [0, -1], name: "/Reshape")
        x = b.gemm(x, weight: t([5, 16], 0.3), weightShape: [5, 16], bias: t([5], 0.1), name: "/fc/Gemm")
        b.output(x, name: "class_scores", shape: [.symbolic("batch"), .fixed(5)])
        return b.serialize(producerVersion: "test", metadata: [:])
    }

    func tinyData() -> TinySet {
        TinySet(count: 4, trainBatch: { i in LabelledBatch(images: randomTensor([4, 3, 16, 16], seed: UInt64(100 + i)), labels: [0, 1, 2, 3]) },
                evalBatches: { [LabelledBatch(images: randomTensor([4, 3, 16, 16], seed: 99), labels: [0, 1, 2, 3])] })
    }

    func testACompressedImportedNetworkRoundTripsThroughONNX() throws {
        let source = dir + "/fixture.onnx"
        try Data(Self.fixture()).write(to: URL(fileURLWithPath: source))
        let (spec, teacher) = try ImportedNetworkSpec.load(path: source)
        XCTAssertEqual(teacher.blockPaths, ["layer1.0", "layer1.1", "layer1.2", "layer2.0", "layer2.1"])
        XCTAssertEqual(Candidates.find(in: teacher, imageShape: spec.imageShape).map(\.path), ["layer1.1", "layer1.2", "layer2.1"])

        // The teacher written as it is computes the teacher.
        let x = randomTensor([5, 3, 16, 16], seed: 7)
        let teacherFile = dir + "/teacher.onnx"
        try NetworkFiles.writeONNX(teacher, network: .imported(spec), imageShape: spec.imageShape, to: teacherFile)
        teacher.eval()
        let teacherLogits = Autograd.noGrad { teacher(x) }
        let rewritten = try ImportedNetworkSpec.load(path: teacherFile).1
        rewritten.eval()
        assertClose(Autograd.noGrad { rewritten(x) }, teacherLogits, rtol: 1e-4, atol: 1e-4 * teacherLogits.maxAbs)

        // A short compression: two blocks dropped, three finetuning iterations.
        var options = CompressionOptions(rule: .count(2), blocks: ["layer1.1", "layer2.1"], analysisIterations: 1, finetuneIterations: 3, latencyBatch: 1)
        options.batchSize = 4
        options.learningRate = 0.05
        let run = CompressionRun(teacher: teacher, network: .imported(spec), imageShape: spec.imageShape, options: options)
        run.latencyMeter = LatencyMeter(warmupRuns: 1, runs: 3, budgetSeconds: 5, minRuns: 3)
        let o = try run.run(data: tinyData(), samples: ["0", "1", "2", "3"], analysisStateDir: dir + "/analysis",
                            evaluate: { _ in Accuracy(top1: 50, top5: 100, count: 4) }, progress: { _ in })
        XCTAssertEqual(o.studentNetwork.droppedBlocks, ["layer1.1", "layer2.1"])
        let stem = "stem.conv.weight"
        XCTAssertNotEqual(o.student.stateDict().first { $0.key == stem }!.tensor.array, teacher.stateDict().first { $0.key == stem }!.tensor.array,
                          "finetuning changed the student (so the file must carry its weights, not the source's)")

        let out = dir + "/student.onnx"
        try NetworkFiles.writeONNX(o.student, network: o.studentNetwork, imageShape: spec.imageShape, to: out, metadata: ["practise.seed": "1"])
        let written = try ONNXReader.read(path: out)
        let (again, reimported) = try ImportedNetworkSpec.load(path: out)
        XCTAssertEqual(reimported.inputName, "pixels")
        XCTAssertEqual(reimported.outputName, "class_scores")
        XCTAssertEqual(again.imageShape, [3, 16, 16])
        XCTAssertEqual(reimported.blockPaths, ["layer1.0", "layer1.2", "layer2.0"], "dropped blocks are gone, the others keep their module paths")
        XCTAssertEqual(written.opsetVersion, 14, "HardSwish needs opset 14")
        XCTAssertEqual(written.metadata[MetadataKey.droppedBlocks], "layer1.1,layer2.1")
        XCTAssertEqual(written.metadata[MetadataKey.importedFrom], "fixture.onnx")
        XCTAssertEqual(written.metadata["practise.seed"], "1")
        let ops = written.graph.nodes.map(\.opType)
        XCTAssertEqual(ops.filter { $0 == "BatchNormalization" }.count, 1, "every BN after a conv is folded; the one after the max pool stays")
        XCTAssertEqual(Set(ops), ["Conv", "BatchNormalization", "HardSwish", "MaxPool", "Relu", "GlobalAveragePool", "HardSigmoid", "Mul", "Add",
                                  "AveragePool", "ReduceMean", "Reshape", "Gemm"])
        XCTAssertFalse(written.graph.nodes.contains { $0.name.hasPrefix("/layer1/layer1.1/") || $0.name.hasPrefix("/layer2/layer2.1/") })

        o.student.eval()
        reimported.eval()
        let expected = Autograd.noGrad { o.student(x) }
        assertClose(Autograd.noGrad { reimported(x) }, expected, rtol: 1e-4, atol: 1e-4 * expected.maxAbs)

        // Safetensors: the student's state_dict keys, marked as an imported network's.
        let st = dir + "/student.safetensors"
        try NetworkFiles.writeSafetensors(o.student, network: o.studentNetwork, to: st)
        let loaded = try WeightsIO.load(st)
        XCTAssertEqual(Set(loaded.tensors.keys), Set(o.student.stateDict().map(\.key)))
        XCTAssertEqual(loaded.metadata[MetadataKey.importedFrom], "fixture.onnx")
        XCTAssertEqual(loaded.droppedBlocks, ["layer1.1", "layer2.1"])
    }

    /// The pads and the skipped Pad/Clip/Sigmoid of the dropped block aside, the ops of
    /// layer1.1 reach the file when it is kept.
    func testKeptBlocksWriteTheirOps() throws {
        let source = dir + "/fixture.onnx"
        try Data(Self.fixture()).write(to: URL(fileURLWithPath: source))
        let (spec, teacher) = try ImportedNetworkSpec.load(path: source)
        let out = dir + "/t.onnx"
        try NetworkFiles.writeONNX(teacher, network: .imported(spec), imageShape: spec.imageShape, to: out)
        let written = try ONNXReader.read(path: out)
        XCTAssert(Set(written.graph.nodes.map(\.opType)).isSuperset(of: ["Pad", "Clip", "Sigmoid"]))
        let conv2 = try XCTUnwrap(written.graph.nodes.first { $0.name == "/layer1/layer1.1/conv2/Conv" })
        XCTAssertEqual(conv2.attributes["pads"], .ints([0, 1, 2, 1]))
        let dilated = try XCTUnwrap(written.graph.nodes.first { $0.name == "/layer1/layer1.0/conv2/Conv" })
        XCTAssertEqual(dilated.attributes["dilations"], .ints([2, 2]))
    }

    /// A graph that leaves H and W open is refused with the caller's advice, or imported at the size given.
    func testAnOpenInputSizeNeedsAnImageSize() throws {
        var b = ONNXGraphBuilder(name: "open", inputShape: [.symbolic("batch"), .fixed(3), .symbolic("h"), .symbolic("w")])
        var x = b.relu(b.conv("input", weight: randomTensor([4, 3, 3, 3], seed: 1).array, weightShape: [4, 3, 3, 3], bias: nil,
                              stride: 1, padding: 1, groups: 1, name: "stem"))
        for k in 0..<2 {
            let h = b.conv(x, weight: randomTensor([4, 4, 3, 3], seed: UInt64(2 + k)).array, weightShape: [4, 4, 3, 3], bias: nil,
                           stride: 1, padding: 1, groups: 1, name: "c\(k)")
            x = b.relu(b.add(h, x, name: "block\(k)"))
        }
        x = b.gemm(b.flatten(b.globalAveragePool(x)), weight: randomTensor([2, 4], seed: 9).array, weightShape: [2, 4], bias: [0, 0], name: "fc")
        b.output(x, name: "logits", shape: [.symbolic("batch"), .fixed(2)])
        let path = dir + "/open.onnx"
        try Data(b.serialize(producerVersion: "test", metadata: [:])).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try ImportedNetworkSpec.load(path: path, openSizeAdvice: "give --image-size")) { e in
            XCTAssertEqual("\(e)", "\(path): the graph input 'input' leaves its height and width open; give --image-size")
        }
        let (spec, net) = try ImportedNetworkSpec.load(path: path, imageSize: (10, 12))
        XCTAssertEqual(spec.imageShape, [3, 10, 12])
        XCTAssertEqual(net.numClasses, 2)
        XCTAssertEqual(spec.name, "onnx:open")
    }
}
