import Checkpoint
import Engine
import Foundation
import NN
import TestSupport
import XCTest

/// Forward outputs, losses and BatchNorm running statistics equal a PyTorch dump
/// (Scripts/make-engine-fixtures.py, Debian python3-torch) within 1e-4 relative; parameter
/// gradients within 2.5e-3 relative.
///
/// Why gradients get a looser bound: with batch 4 and randomised BatchNorm, the train-mode BN
/// backward cancels most of the incoming gradient, and a few ReLU inputs sit within float32
/// rounding of zero. PyTorch's own float32 gradients of layer1 differ from the same computation
/// in float64 by up to 1.9e-3 relative (layer1.2.bn1.bias; 2e-4 to 6e-4 elsewhere in layer1),
/// measured with the fixture's weights, while deeper layers agree to 2e-6. Two correct float32
/// implementations cannot agree closer than each agrees with exact arithmetic.
final class PyTorchParityTests: XCTestCase {
    func fixture(_ name: String) throws -> [String: Tensor] {
        let url = Bundle.module.url(forResource: name, withExtension: "safetensors", subdirectory: "Fixtures/engine")!
        var out: [String: Tensor] = [:]
        for (k, r) in try SafeTensors.read(url).tensors { out[k] = Tensor(r.values, shape: r.shape) }
        return out
    }

    /// `|a − b| ≤ tolerance · max|b|` element-wise (relative to the tensor's scale; analytically
    /// zero gradients, such as a conv bias before train-mode BatchNorm, compare at 1e-6 absolute).
    func assertMatches(_ a: Tensor, _ b: Tensor?, _ what: String, tolerance: Float = 1e-4,
                       file: StaticString = #filePath, line: UInt = #line) {
        guard let b else { return XCTFail("fixture lacks \(what)", file: file, line: line) }
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        assertClose(a.viewed(as: b.shape), b, rtol: 0, atol: max(tolerance * b.maxAbs, 1e-6), what, file: file, line: line)
    }

    func checkModel(_ model: ClassifierModel, fixture f: [String: Tensor], loss lossFn: (Tensor, [Int]) -> Tensor) throws {
        var params: [String: Tensor] = [:]
        for (k, t) in f where k.hasPrefix("param.") { params[String(k.dropFirst(6))] = t.copy() }
        try model.load(stateDict: params)
        let x = f["input"]!, targets = f["target"]!.array.map { Int($0) }
        model.train()
        let features = model.features(x)
        let logits = model.classify(features)
        let loss = lossFn(logits, targets)
        loss.backward()
        assertMatches(features, f["train.features"], "train features")
        assertMatches(logits, f["train.logits"], "train logits")
        assertMatches(loss, f["train.loss"], "train loss")
        var checked = 0
        for (k, p) in model.namedParameters() {
            assertMatches(p.grad ?? Tensor(zeros: p.shape), f["grad.\(k)"], "gradient of \(k)", tolerance: 2.5e-3)
            checked += 1
        }
        XCTAssertGreaterThan(checked, 5)
        for (k, t) in model.namedBuffers() where !k.hasSuffix("num_batches_tracked") {
            assertMatches(t, f["train.running.\(k)"], "running statistic \(k)")
        }
        // Eval mode from the original weights.
        try model.load(stateDict: params)
        model.eval()
        let e = Autograd.noGrad { model.features(x) }
        assertMatches(e, f["eval.features"], "eval features")
        assertMatches(Autograd.noGrad { model.classify(e) }, f["eval.logits"], "eval logits")
    }

    func testResNet20MatchesPyTorch() throws {
        try checkModel(Architecture.resnet20.make(inChannels: 1, numClasses: 10, seed: 0), fixture: try fixture("resnet20")) {
            crossEntropy($0, targets: $1)
        }
    }

    func testSmallNetMatchesPyTorch() throws {
        try checkModel(SmallNet(), fixture: try fixture("smallnet")) { crossEntropy($0, targets: $1, labelSmoothing: 0.1) }
    }

    func testLossesMatchPyTorch() throws {
        let f = try fixture("losses")
        let targets = f["ce.target"]!.array.map { Int($0) }
        for (smoothing, prefix) in [(Float(0), "ce"), (0.1, "ce_ls")] {
            let p = Parameter(f["ce.logits"]!.copy())
            let l = crossEntropy(p.tensor, targets: targets, labelSmoothing: smoothing)
            l.backward()
            assertMatches(l, f["\(prefix).loss"], "\(prefix) loss")
            assertMatches(p.grad!, f["\(prefix).grad"], "\(prefix) gradient")
        }
        let s = Parameter(f["kd.student"]!.copy())
        let kd = klDivergence(student: s.tensor, teacher: f["kd.teacher"]!, temperature: f["kd.temperature"]!.item)
        kd.backward()
        assertMatches(kd, f["kd.loss"], "KD loss")
        assertMatches(s.grad!, f["kd.grad.student"], "KD gradient")
        let a = Parameter(f["mse.a"]!.copy()), b = Parameter(f["mse.b"]!.copy())
        let mse = mseLoss(a.tensor, b.tensor)
        mse.backward()
        assertMatches(mse, f["mse.loss"], "MSE loss")
        assertMatches(a.grad!, f["mse.grad.a"], "MSE gradient a")
        assertMatches(b.grad!, f["mse.grad.b"], "MSE gradient b")
    }
}

/// The small test network of Scripts/make-engine-fixtures.py: conv+bias, BN, ReLU, strided
/// conv, BN, ReLU6, depthwise conv, BN, ReLU, 1×1 conv+bias with a residual, max pool, GAP, fc.
final class SmallNet: ClassifierModel, @unchecked Sendable {
    override init() {
        var g = SeededGenerator(seed: 0)
        super.init()
        register("conv1", Conv2d(3, 8, kernelSize: 3, padding: 1, bias: true, generator: &g))
        register("bn1", BatchNorm2d(8))
        register("conv2", Conv2d(8, 16, kernelSize: 3, stride: 2, padding: 1, generator: &g))
        register("bn2", BatchNorm2d(16))
        register("dw", Conv2d(16, 16, kernelSize: 3, padding: 1, groups: 16, generator: &g))
        register("bn3", BatchNorm2d(16))
        register("pw", Conv2d(16, 16, kernelSize: 1, bias: true, generator: &g))
        register("fc", Linear(16, 5, generator: &g))
    }

    override var stages: [[String]] { [] }

    override func stem(_ x: Tensor) -> Tensor {
        let h = relu6(child("bn2")(child("conv2")(relu(child("bn1")(child("conv1")(x))))))
        let y = child("pw")(relu(child("bn3")(child("dw")(h))))
        return maxPool2d(add(y, h), kernel: 3, stride: 2, padding: 1)
    }

    override func classify(_ features: Tensor) -> Tensor { child("fc")(globalAvgPool(features)) }
}
