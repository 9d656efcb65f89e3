import Engine
import Foundation
import NN
import ONNX
import Practise
import XCTest

/// Parity with PyTorch and onnxruntime on full-size models, driven by Scripts/test (which makes
/// the PyTorch files and checks our outputs with the Python runtimes). Skipped unless
/// `PRACTISE_PARITY_DIR` names the folder the scripts use.
final class TorchvisionParityTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        guard let d = ProcessInfo.processInfo.environment["PRACTISE_PARITY_DIR"] else {
            throw XCTSkip("set PRACTISE_PARITY_DIR (Scripts/test does) to run the PyTorch/onnxruntime parity checks")
        }
        dir = d
    }

    func path(_ name: String) -> String { (dir as NSString).appendingPathComponent(name) }

    /// `.pth` saved by torch.save(model.state_dict()) loads and gives PyTorch's logits; our
    /// safetensors of it is written for the Python side to load back into torchvision.
    func checkTorchvision(_ arch: Architecture) throws {
        let weights = try WeightsIO.load(path("\(arch.rawValue).pth"))
        let io = try WeightsIO.load(path("\(arch.rawValue).io.safetensors"))
        let spec = ModelSpec(architecture: arch)
        let model = spec.build()
        try model.load(stateDict: weights.tensors)
        model.eval()
        let logits = Autograd.noGrad { model(io.tensors["input"]!) }
        let expected = io.tensors["logits"]!
        var worst: Float = 0
        for i in 0..<expected.count { worst = max(worst, abs(logits.pointer[i] - expected.pointer[i])) }
        XCTAssertLessThanOrEqual(worst, 1e-4 * expected.maxAbs, "\(arch): max |Δlogit| \(worst), max |logit| \(expected.maxAbs)")
        try WeightsIO.save(model, spec: spec, to: path("\(arch.rawValue).ours.safetensors"))
    }

    func testResNet18() throws { try checkTorchvision(.resnet18) }
    func testResNet34() throws { try checkTorchvision(.resnet34) }
    func testResNet50() throws { try checkTorchvision(.resnet50) }
    func testMobileNetV2() throws { try checkTorchvision(.mobilenet_v2) }

    /// Writes ONNX models with inputs and our logits (batch 1 and 8) for Scripts/check-onnx.py.
    func testWriteONNXCases() throws {
        // Random weights with randomised BatchNorm statistics, plus the bundled teachers as trained.
        var cases: [(String, ModelSpec, Int, [String: Tensor]?)] = [
            ("resnet18", ModelSpec(architecture: .resnet18, numClasses: 10), 64, nil),
            ("mobilenet_v2", ModelSpec(architecture: .mobilenet_v2, numClasses: 10), 64, nil),
            ("resnet56", ModelSpec(architecture: .resnet56), 28, nil),
            ("resnet56-compressed", ModelSpec(architecture: .resnet56, droppedBlocks: ["layer1.3", "layer2.5", "layer3.8"]), 28, nil),
        ]
        for (name, arch) in [("resnet20", Architecture.resnet20), ("resnet56", .resnet56)] {
            let teacher = try WeightsIO.load(TeacherFile.path(name))
            cases.append(("\(name)-bundled", ModelSpec(architecture: arch), 28, teacher.tensors))
            // A compressed teacher: blocks dropped, the rest of the trained weights kept.
            let spec = ModelSpec(architecture: arch, droppedBlocks: ["layer1.2", "layer2.2"])
            cases.append(("\(name)-bundled-compressed", spec, 28, teacher.tensors.filter { key, _ in
                !key.hasPrefix("layer1.2.") && !key.hasPrefix("layer2.2.")
            }))
        }
        for (name, spec, side, weights) in cases {
            let model = spec.build(seed: 7)
            if let weights { try model.load(stateDict: weights) } else { randomiseBatchNorm(model, seed: 3) }
            model.eval()
            let shape = [spec.inChannels, side, side]
            try ONNXExport.write(model, spec: spec, imageShape: shape, to: path("\(name).onnx"))
            for batch in [1, 8] {
                var g = SeededGenerator(seed: UInt64(batch))
                let x = Tensor((0..<(batch * shape.reduce(1, *))).map { _ in g.nextGaussian() }, shape: [batch] + shape)
                let y = Autograd.noGrad { model(x) }
                try ONNXRawTensorFile.write(x.array, shape: x.shape, to: URL(fileURLWithPath: path("\(name).b\(batch).input.bin")))
                try ONNXRawTensorFile.write(y.array, shape: y.shape, to: URL(fileURLWithPath: path("\(name).b\(batch).expected.bin")))
            }
        }
    }

    /// BatchNorm statistics far from the defaults so folding them is really tested.
    func randomiseBatchNorm(_ model: Module, seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        for (_, m) in model.namedModules() {
            guard let bn = m as? BatchNorm2d else { continue }
            for i in 0..<bn.channels {
                bn.weight.value.pointer[i] = 0.5 + g.nextFloat()
                bn.bias.value.pointer[i] = g.nextFloat() * 0.4 - 0.2
                bn.runningMean.pointer[i] = g.nextGaussian() * 0.1
                bn.runningVar.pointer[i] = 0.5 + g.nextFloat()
            }
        }
    }
}

enum TeacherFile {
    static func path(_ model: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Assets/teachers/\(model)-fashion-mnist.safetensors").path
    }
}
