import Engine
import NN
import ONNX
import Practise
import TestSupport
import XCTest

/// Import of graphs written by our ONNX writer (no module paths in node names): logits equal the
/// same ops run directly, blocks and candidates come from the graph, the method trains it, and
/// unsupported or inconsistent graphs give errors naming the node.
final class ONNXImporterTests: XCTestCase {
    struct Weights {
        var stem: Tensor, convs: [[Tensor]], proj: Tensor, fc: Tensor, fcBias: Tensor
        init() {
            stem = randomTensor([8, 3, 3, 3], seed: 1, scale: 0.3)
            convs = (0..<3).map { b in [randomTensor([8, 8, 3, 3], seed: UInt64(10 + b), scale: 0.15), randomTensor([8, 8, 3, 3], seed: UInt64(20 + b), scale: 0.15)] }
            proj = randomTensor([8, 8, 1, 1], seed: 30, scale: 0.3)
            fc = randomTensor([5, 8], seed: 31, scale: 0.3)
            fcBias = randomTensor([5], seed: 32)
        }
    }

    /// stem conv → relu → block(stride 2, projection skip) → 2 identity blocks → GAP → flatten → fc.
    func model(_ w: Weights) -> [UInt8] {
        var b = ONNXGraphBuilder(name: "net", inputShape: [.symbolic("batch"), .fixed(3), .fixed(12), .fixed(12)])
        var x = b.relu(b.conv("input", weight: w.stem.array, weightShape: [8, 3, 3, 3], bias: nil, stride: 1, padding: 1, groups: 1, name: "stem"))
        for k in 0..<3 {
            var h = b.relu(b.conv(x, weight: w.convs[k][0].array, weightShape: [8, 8, 3, 3], bias: nil, stride: k == 0 ? 2 : 1, padding: 1, groups: 1, name: "b\(k)c1"))
            h = b.conv(h, weight: w.convs[k][1].array, weightShape: [8, 8, 3, 3], bias: nil, stride: 1, padding: 1, groups: 1, name: "b\(k)c2")
            let skip = k == 0 ? b.conv(x, weight: w.proj.array, weightShape: [8, 8, 1, 1], bias: nil, stride: 2, padding: 0, groups: 1, name: "proj") : x
            x = b.relu(b.add(h, skip, name: "block\(k)"))
        }
        x = b.gemm(b.flatten(b.globalAveragePool(x)), weight: w.fc.array, weightShape: [5, 8], bias: w.fcBias.array, name: "fc")
        b.output(x, name: "logits", shape: [.symbolic("batch"), .fixed(5)])
        return b.serialize(producerVersion: "test", metadata: [:])
    }

    func reference(_ w: Weights, _ input: Tensor) -> Tensor {
        var x = relu(conv2d(input, weight: w.stem, padding: 1))
        for k in 0..<3 {
            let h = conv2d(relu(conv2d(x, weight: w.convs[k][0], stride: k == 0 ? 2 : 1, padding: 1)), weight: w.convs[k][1], padding: 1)
            x = relu(add(h, k == 0 ? conv2d(x, weight: w.proj, stride: 2) : x))
        }
        return linear(globalAvgPool(x), weight: w.fc, bias: w.fcBias)
    }

    func testLogitsBlocksAndCandidates() throws {
        let w = Weights()
        let net = try ONNXImporter.build(ONNXReader.decode(model(w)))
        net.eval()
        let x = randomTensor([4, 3, 12, 12], seed: 40)
        let expected = Autograd.noGrad { reference(w, x) }
        assertClose(Autograd.noGrad { net(x) }, expected, rtol: 1e-5, atol: 1e-5 * expected.maxAbs)
        XCTAssertEqual(net.fixedImageShape, [3, 12, 12])
        XCTAssertEqual(net.numClasses, 5)
        // Without module paths each Add and each ReLU between them is a block (the last ReLU is the
        // tail); one stage (equal shapes from the first block on).
        XCTAssertEqual(net.stages, [["block0", "Relu_2", "block1", "Relu_4", "block2"]])
        let candidates = Candidates.find(in: net, imageShape: [3, 12, 12])
        XCTAssertEqual(candidates.map(\.path), ["block1", "block2"])
        let b1 = try XCTUnwrap(net.module(at: "block1") as? GraphBlock)
        XCTAssertEqual(b1.entryConvPaths, ["b1c1"])
        XCTAssertEqual(b1.exitConvPaths, ["b1c2"])
        let b0 = try XCTUnwrap(net.module(at: "block0") as? GraphBlock)
        XCTAssertFalse(b0.hasIdentitySkip)
        XCTAssertEqual(b0.entryConvPaths.sorted(), ["b0c1", "proj"])
        XCTAssertEqual(b0.exitConvPaths, ["b0c2", "proj"])
        XCTAssertEqual(net.headPrefix, "fc")
        XCTAssertEqual(Set(net.stateDict().map(\.key)),
                       ["stem.weight", "block0.b0c1.weight", "block0.b0c2.weight", "block0.proj.weight", "block1.b1c1.weight",
                        "block1.b1c2.weight", "block2.b2c1.weight", "block2.b2c2.weight", "fc.weight", "fc.bias"])
        // The reference rule: dropping block2 puts after-adaptors on the exit convs of the earlier blocks of its stage.
        let placement = AdaptorPlacement(dropping: candidates[1], in: net)
        XCTAssertEqual(placement.afterConvs, ["block0.b0c2", "block0.proj", "block1.b1c2"])
        XCTAssertEqual(placement.preConvs, [])
        // Dropping a block replaces it by Identity and the network still runs.
        net.replace(at: "block1", with: Identity())
        XCTAssertEqual(Autograd.noGrad { net(x) }.shape, [4, 5])
    }

    func testTheMethodTrainsAnImportedNetwork() throws {
        let w = Weights()
        let teacher = try ONNXImporter.build(ONNXReader.decode(model(w)))
        let data = TinySet(count: 8, trainBatch: { i in LabelledBatch(images: randomTensor([8, 3, 12, 12], seed: UInt64(50 + i)), labels: Array(0..<8).map { $0 % 5 }) },
                           evalBatches: { [LabelledBatch(images: randomTensor([8, 3, 12, 12], seed: 99), labels: Array(0..<8).map { $0 % 5 })] })
        let candidates = Candidates.find(in: teacher, imageShape: teacher.fixedImageShape!)
        let analysis = RecoverabilityAnalysis(teacher: teacher, candidates: candidates, config: PhaseConfig(iterations: 3, batchSize: 8))
        try analysis.train(data: data)
        let cache = try analysis.makeEvalCache(data: data)
        for i in candidates.indices { XCTAssert(analysis.recoverability(of: i, cache: cache).isFinite) }

        let student = try ONNXImporter.build(ONNXReader.decode(model(w)))
        student.replace(at: "block2", with: Identity())
        let fcBefore = student.module(at: "fc")!.parameter("weight").value.copy()
        var losses: [Float] = []
        try Finetuner.run(student: student, teacher: teacher, method: .mir, data: data,
                          config: PhaseConfig(iterations: 12, learningRate: 0.01, batchSize: 8)) { _, l in losses.append(l) }
        XCTAssertLessThan(losses.suffix(3).reduce(0, +), losses.prefix(3).reduce(0, +), "MiR loss goes down: \(losses)")
        XCTAssertEqual(student.module(at: "fc")!.parameter("weight").value.array, fcBefore.array, "MiR freezes the head")
        XCTAssertNotEqual(student.module(at: "stem")!.parameter("weight").value.array, w.stem.array, "the stem trains")
    }

    /// A model with one node `op` between input and output, written by hand.
    func singleNode(_ op: String, name: String, attributes: (inout ProtobufWriter) -> Void = { _ in }) -> [UInt8] {
        var m = ProtobufWriter()
        m.writeInt64Field(1, 8)
        m.writeMessageField(7) { g in
            g.writeMessageField(1) { n in
                n.writeStringField(1, "input"); n.writeStringField(2, "logits"); n.writeStringField(3, name); n.writeStringField(4, op)
                attributes(&n)
            }
            for (field, vname) in [(11, "input"), (12, "logits")] {
                g.writeMessageField(field) { v in
                    v.writeStringField(1, vname)
                    v.writeMessageField(2) { t in t.writeMessageField(1) { tt in
                        tt.writeInt64Field(1, 1)
                        tt.writeMessageField(2) { s in for d: Int64 in [1, 3, 8, 8] { s.writeMessageField(1) { dd in dd.writeInt64Field(1, d) } } }
                    } }
                }
            }
        }
        m.writeMessageField(8) { o in o.writeInt64Field(2, 17) }
        return m.bytes
    }

    func expectImportError(_ bytes: [UInt8], _ parts: [String], line: UInt = #line) {
        do {
            _ = try ONNXImporter.build(ONNXReader.decode(bytes))
            XCTFail("no error", line: line)
        } catch {
            for p in parts { XCTAssert("\(error)".contains(p), "\(error) lacks \(p)", line: line) }
        }
    }

    func testUnsupportedAndInconsistentGraphs() {
        expectImportError(singleNode("Softmax", name: "/head/Softmax"), ["'/head/Softmax'", "Softmax", "opset 17", "not supported"])
        expectImportError(singleNode("MaxPool", name: "pool") { n in
            n.writeMessageField(5) { a in a.writeStringField(1, "kernel_shape"); a.writeRepeatedInt64Field(8, [3, 3]); a.writeInt64Field(20, 7) }
            n.writeMessageField(5) { a in a.writeStringField(1, "ceil_mode"); a.writeInt64Field(3, 1); a.writeInt64Field(20, 2) }
        }, ["'pool'", "MaxPool", "ceil_mode"])
        expectImportError(singleNode("MaxPool", name: "big") { n in
            n.writeMessageField(5) { a in a.writeStringField(1, "kernel_shape"); a.writeRepeatedInt64Field(8, [9, 9]); a.writeInt64Field(20, 7) }
        }, ["'big'", "does not fit the 8×8 input"])
        expectImportError(singleNode("Relu", name: "r"), ["no global pooling"])
        // Sizes a damaged or hostile file declares are refused before anything is allocated for them.
        expectImportError(singleNode("MaxPool", name: "padded") { n in
            n.writeMessageField(5) { a in a.writeStringField(1, "kernel_shape"); a.writeRepeatedInt64Field(8, [3, 3]); a.writeInt64Field(20, 7) }
            n.writeMessageField(5) { a in a.writeStringField(1, "pads"); a.writeRepeatedInt64Field(8, [1_000_000, 1, 1, 1]); a.writeInt64Field(20, 7) }
        }, ["'padded'", "pads [1000000, 1, 1, 1] exceed 4096"])
        for side in [100_000, 4] {
            var huge = ONNXGraphBuilder(name: "huge", inputShape: [.fixed(1), .fixed(3), .fixed(side), .fixed(side)])
            huge.output(huge.flatten(huge.globalAveragePool(huge.relu("input"))), name: "logits", shape: [.fixed(1), .fixed(3)])
            expectImportError(huge.serialize(producerVersion: "t", metadata: [:]), ["graph input 'input' is [N, 3, \(side), \(side)]", "sides of 8–1024 pixels"])
        }
        // An inconsistent graph (a node writing the graph input) is named with its file.
        // (Two nodes writing the graph input: singleNode's node writes 'logits'; this one 'input'.)
        let dangling = singleNode("Relu", name: "r") { n in n.writeStringField(2, "input") }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("dangling-\(UUID().uuidString).onnx").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        FileManager.default.createFile(atPath: file, contents: Data(dangling))
        XCTAssertThrowsError(try ONNXImporter.load(path: file)) { XCTAssert("\($0)".hasPrefix("\(file): graph: node"), "\($0)") }
        var wide = ONNXGraphBuilder(name: "wide", inputShape: [.fixed(1), .fixed(1024), .fixed(1024), .fixed(1024)])
        wide.output(wide.flatten(wide.globalAveragePool(wide.relu("input"))), name: "logits", shape: [.fixed(1), .fixed(1024)])
        expectImportError(wide.serialize(producerVersion: "t", metadata: [:]), ["output shape [1, 1024, 1024, 1024] is larger than the 268435456 elements"])
        expectImportError(singleNode("Conv", name: "c"), ["'c'", "Conv", "initializer"])
        // A graph with pooling but no residual block.
        var b = ONNXGraphBuilder(name: "plain", inputShape: [.fixed(1), .fixed(3), .fixed(8), .fixed(8)])
        let y = b.flatten(b.globalAveragePool(b.relu("input")))
        b.output(y, name: "logits", shape: [.fixed(1), .fixed(3)])
        expectImportError(b.serialize(producerVersion: "t", metadata: [:]), ["no residual block"])
    }

    func testModulePathsFromNodeNames() throws {
        // torch.onnx.export writes scopes; the importer names layers by the module path they give.
        XCTAssertEqual(ONNXImporterTesting.modulePath("/layer2/layer2.0/downsample/downsample.0/Conv"), "layer2.0.downsample.0")
        XCTAssertEqual(ONNXImporterTesting.modulePath("/layer1/layer1.1/Add"), "layer1.1")
        XCTAssertEqual(ONNXImporterTesting.modulePath("/Flatten"), "")
        XCTAssertNil(ONNXImporterTesting.modulePath("Conv_12"))
    }
}
