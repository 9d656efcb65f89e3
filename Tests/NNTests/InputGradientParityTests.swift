import Checkpoint
import Engine
import Foundation
import NN
import TestSupport
import XCTest

/// The gradient of a loss with respect to the input images through a frozen eval-mode ResNet-20
/// (what data-free synthesis follows; training never needs it for the stem conv) equals PyTorch's
/// (Scripts/make-input-grad-fixture.py, from the weights of the resnet20 engine fixture).
final class InputGradientParityTests: XCTestCase {
    func fixture(_ name: String) throws -> [String: Tensor] {
        let url = Bundle.module.url(forResource: name, withExtension: "safetensors", subdirectory: "Fixtures/engine")!
        var out: [String: Tensor] = [:]
        for (k, r) in try SafeTensors.read(url).tensors { out[k] = Tensor(r.values, shape: r.shape) }
        return out
    }

    /// d mean-CE / d x `[N, C, H, W]`, the teacher frozen and in eval mode.
    func inputGradient(_ model: ClassifierModel, _ x: Tensor, _ targets: [Int]) -> Tensor {
        let input = Parameter(x.copy())
        crossEntropy(model(input.tensor), targets: targets).backward()
        return input.grad ?? Tensor(zeros: x.shape)
    }

    func testEvalModeInputGradientMatchesPyTorch() throws {
        let f = try fixture("resnet20"), g = try fixture("resnet20-input-grad")
        var params: [String: Tensor] = [:]
        for (k, t) in f where k.hasPrefix("param.") { params[String(k.dropFirst(6))] = t.copy() }
        let model = Architecture.resnet20.make(inChannels: 1, numClasses: 10, seed: 0)
        try model.load(stateDict: params)
        model.eval()
        model.setRequiresGrad(false)
        let cases: [(Tensor, [Int], Tensor, String)] = [
            (f["input"]!, f["target"]!.array.map { Int($0) }, g["eval.input_grad"]!, "[4, 1, 28, 28]"),
            (g["small.input"]!, [0, 1, 2, 3], g["small.input_grad"]!, "[4, 1, 8, 8]"),
        ]
        for (x, targets, expected, what) in cases {
            let ours = inputGradient(model, x, targets)
            XCTAssertEqual(ours.shape, expected.shape)
            XCTAssertGreaterThan(expected.maxAbs, 1e-6, "a gradient that can fail")
            assertClose(ours, expected, rtol: 0, atol: 1e-4 * expected.maxAbs, "input gradient \(what)")
        }
        XCTAssert(model.namedParameters().allSatisfy { $0.parameter.grad == nil }, "the frozen teacher gets no gradient")
    }

    /// Finite differences on a kink-free stem: conv (1 input channel) → eval BN → strided conv →
    /// eval BN, with randomised running statistics; the input is a plain tensor, not a parameter.
    func testStemInputGradientMatchesFiniteDifferences() {
        var gen = SeededGenerator(seed: 5)
        let c1 = Conv2d(1, 8, kernelSize: 3, padding: 1, generator: &gen)
        let c2 = Conv2d(8, 4, kernelSize: 3, stride: 2, padding: 1, generator: &gen)
        let b1 = BatchNorm2d(8), b2 = BatchNorm2d(4)
        for bn in [b1, b2] {
            for i in 0..<bn.channels {
                bn.runningMean.pointer[i] = 0.1 * gen.nextGaussian()
                bn.runningVar.pointer[i] = 0.5 + gen.nextFloat()
                bn.weight.value.pointer[i] = 0.5 + gen.nextFloat()
                bn.bias.value.pointer[i] = 0.2 * gen.nextGaussian()
            }
            bn.eval()
        }
        for m in [c1, c2, b1, b2] as [Module] { m.setRequiresGrad(false) }
        gradCheck([randomTensor([2, 1, 8, 8], seed: 11)], eps: 5e-2, rtol: 1e-2, atol: 1e-3, samples: 128) { t in
            b2(c2(b1(c1(t[0]))))
        }
    }
}
