#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SafeFiles
import Testing
@testable import ONNX

/// A small CNN exercising every builder op:
///   conv3x3(3→8, no bias) → BN (folded) → relu → maxpool(3, s2, p1)
///   → depthwise conv3x3(groups 8) → relu6 → add(skip from maxpool)
///   → grouped conv3x3(8→16, s2, groups 2) → relu → GAP → flatten → gemm(16→10)
/// The test computes the expected logits with the naive reference (BN *not* folded there). When
/// ONNX_E2E_DIR is set it writes model.onnx plus input/expected files for batch 1 and 8 for
/// Scripts/check-onnx.py (see Scripts/e2e-onnx.sh).
struct E2ENet {
    static let inputShape = (c: 3, h: 16, w: 16)
    static let classes = 10

    var conv1W: [Float], bnGamma: [Float], bnBeta: [Float], bnMean: [Float], bnVar: [Float]
    var dwW: [Float], dwB: [Float]
    var conv3W: [Float], conv3B: [Float]
    var fcW: [Float], fcB: [Float]
    let eps: Float = 1e-5

    init(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        conv1W = rng.uniform(8 * 3 * 9, -0.8, 0.8)
        bnGamma = rng.uniform(8, 0.5, 1.5)
        bnBeta = rng.uniform(8, -0.5, 1.0)
        bnMean = rng.uniform(8, -0.5, 0.5)
        bnVar = rng.uniform(8, 0.5, 2.0)
        dwW = rng.uniform(8 * 1 * 9, -1.0, 1.0)
        dwB = rng.uniform(8, 0.0, 2.0)
        conv3W = rng.uniform(16 * 4 * 9, -0.5, 0.5)
        conv3B = rng.uniform(16, -0.5, 0.5)
        fcW = rng.uniform(Self.classes * 16, -0.5, 0.5)
        fcB = rng.uniform(Self.classes, -0.5, 0.5)
    }

    func onnxModel() -> ONNXGraphBuilder {
        let s = Self.inputShape
        var b = ONNXGraphBuilder(name: "e2e_net", inputShape: [.symbolic("batch"), .fixed(s.c), .fixed(s.h), .fixed(s.w)])
        let folded = foldBatchNorm(convWeight: conv1W, convBias: nil, gamma: bnGamma, beta: bnBeta,
                                   runningMean: bnMean, runningVar: bnVar, eps: eps)
        var x = b.conv("input", weight: folded.weight, weightShape: [8, 3, 3, 3], bias: folded.bias,
                       stride: 1, padding: 1, groups: 1, name: "conv1")
        x = b.relu(x)
        let skip = b.maxPool(x, kernel: 3, stride: 2, padding: 1)
        x = b.conv(skip, weight: dwW, weightShape: [8, 1, 3, 3], bias: dwB, stride: 1, padding: 1, groups: 8, name: "dw")
        x = b.relu6(x)
        x = b.add(x, skip)
        x = b.conv(x, weight: conv3W, weightShape: [16, 4, 3, 3], bias: conv3B, stride: 2, padding: 1, groups: 2, name: "conv3")
        x = b.relu(x)
        x = b.flatten(b.globalAveragePool(x))
        x = b.gemm(x, weight: fcW, weightShape: [Self.classes, 16], bias: fcB, name: "fc")
        b.output(x, name: "logits", shape: [.symbolic("batch"), .fixed(Self.classes)])
        return b
    }

    /// Reference forward; also reports how many activations relu and relu6 clipped.
    func reference(_ input: RefTensor) -> (logits: RefTensor, reluZeros: Int, relu6Clipped: Int) {
        var x = Ref.conv(input, weight: conv1W, weightShape: [8, 3, 3, 3], bias: nil, stride: 1, padding: 1, groups: 1)
        x = Ref.batchNorm(x, gamma: bnGamma, beta: bnBeta, mean: bnMean, variance: bnVar, eps: eps)
        let reluZeros = x.data.filter { $0 < 0 }.count
        x = Ref.relu(x)
        let skip = Ref.maxPool(x, kernel: 3, stride: 2, padding: 1)
        x = Ref.conv(skip, weight: dwW, weightShape: [8, 1, 3, 3], bias: dwB, stride: 1, padding: 1, groups: 8)
        let clipped = x.data.filter { $0 < 0 || $0 > 6 }.count
        x = Ref.relu6(x)
        x = Ref.add(x, skip)
        x = Ref.conv(x, weight: conv3W, weightShape: [16, 4, 3, 3], bias: conv3B, stride: 2, padding: 1, groups: 2)
        x = Ref.relu(x)
        x = Ref.flatten(Ref.globalAveragePool(x))
        x = Ref.linear(x, weight: fcW, outFeatures: Self.classes, bias: fcB)
        return (x, reluZeros, clipped)
    }
}

@Suite struct EndToEndTests {
    @Test func smallCNNModelAndReferenceOutputs() throws {
        let net = E2ENet(seed: 2024)
        let model = net.onnxModel()
        let metadata = ["practise.test": "e2e", "practise.batchnorm": "folded"]
        let bytes = model.serialize(producerVersion: "0.0.0-test", metadata: metadata)
        #expect(bytes == net.onnxModel().serialize(producerVersion: "0.0.0-test", metadata: metadata))

        let outDir = ProcessInfo.processInfo.environment["ONNX_E2E_DIR"]
        if let outDir {
            try model.write(to: URL(fileURLWithPath: outDir + "/model.onnx"), producerVersion: "0.0.0-test", metadata: metadata)
        }
        let s = E2ENet.inputShape
        var rng = SplitMix64(seed: 99)
        for batch in [1, 8] {
            let shape = [batch, s.c, s.h, s.w]
            let input = RefTensor(shape: shape, data: rng.uniform(shape.reduce(1, *), -2, 2))
            let result = net.reference(input)
            #expect(result.logits.shape == [batch, E2ENet.classes])
            #expect(result.reluZeros > 0, "relu never clipped: weak test")
            #expect(result.relu6Clipped > 0, "relu6 never clipped: weak test")
            #expect(result.logits.data.allSatisfy { $0.isFinite })
            if let outDir {
                try ONNXRawTensorFile.write(input.data, shape: shape, to: URL(fileURLWithPath: outDir + "/input_b\(batch).bin"))
                try ONNXRawTensorFile.write(result.logits.data, shape: result.logits.shape,
                                            to: URL(fileURLWithPath: outDir + "/expected_b\(batch).bin"))
            }
        }
    }

    @Test func atomicWriteReplacesFileAndLeavesNoTemporaries() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("onnx-atomic-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("m.onnx")
        try OutputFile.write("old", to: url.path)
        let model = E2ENet(seed: 1).onnxModel()
        try model.write(to: url, producerVersion: "1", metadata: [:])
        let written = try Data(contentsOf: url)
        #expect(Array(written) == model.serialize(producerVersion: "1", metadata: [:]))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["m.onnx"])
        #expect(throws: OutputFileError.self) {
            try model.write(to: dir.appendingPathComponent("missing/x.onnx"), producerVersion: "1", metadata: [:])
        }
    }
}
