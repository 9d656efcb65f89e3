import Engine
import TestSupport
import XCTest

final class AutogradTests: XCTestCase {
    func testGradientsAccumulateOverSharedUse() {
        let p = Parameter(Tensor([1, 2, 3], shape: [3]))
        let y = add(p.tensor, p.tensor)          // d/dp Σ r·2p = 2r
        weightedSum(y, Tensor([1, 1, 1], shape: [3])).backward()
        XCTAssertEqual(p.grad?.array, [2, 2, 2])
        weightedSum(p.tensor, Tensor([1, 0, 0], shape: [3])).backward()
        XCTAssertEqual(p.grad?.array, [3, 2, 2], "a second backward accumulates")
    }

    func testNoGradRecordsNothing() {
        let p = Parameter(Tensor([1, 2], shape: [2]))
        let y = Autograd.noGrad { relu(p.tensor) }
        XCTAssertNil(y.node)
    }

    func testFrozenParameterGetsNoGradient() {
        let frozen = Parameter(Tensor([1, 2], shape: [2]), requiresGrad: false)
        let live = Parameter(Tensor([3, 4], shape: [2]))
        weightedSum(add(frozen.tensor, live.tensor), Tensor([1, 1], shape: [2])).backward()
        XCTAssertNil(frozen.grad)
        XCTAssertEqual(live.grad?.array, [1, 1])
    }

    func testDeepChainDoesNotOverflowTheStack() {
        let p = Parameter(Tensor([1], shape: [1]))
        var x = p.tensor
        for _ in 0..<20_000 { x = scaled(x, by: 1) }
        weightedSum(x, Tensor([1], shape: [1])).backward()
        XCTAssertEqual(p.grad?.item, 1)
    }

    func testSeededGeneratorIsDeterministic() {
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42), c = SeededGenerator(seed: 43)
        let va = (0..<5).map { _ in a.next() }, vb = (0..<5).map { _ in b.next() }, vc = (0..<5).map { _ in c.next() }
        XCTAssertEqual(va, vb)
        XCTAssertNotEqual(va, vc)
    }

    /// Ops whose backward needs only their output or a mask must not keep their input alive:
    /// a BatchNorm output feeding a ReLU is freed as soon as the ReLU has run, which is what
    /// keeps a training step's peak memory down.
    func testBackwardClosuresDoNotRetainInputsTheyDoNotNeed() {
        let p = Parameter(Tensor((0..<32).map { Float($0) - 16 }, shape: [1, 2, 4, 4]))
        let ops: [(String, (Tensor) -> Tensor)] = [
            ("relu", { relu($0) }), ("relu6", { relu6($0) }),
            ("maxPool2d", { maxPool2d($0, kernel: 2, stride: 2) }), ("avgPool2d", { avgPool2d($0, kernel: 2, stride: 2) }),
        ]
        for (name, op) in ops {
            weak var intermediate: Storage?
            let y: Tensor = {
                let h = scaled(p.tensor, by: 2)   // a temporary with a tape node, like a BN output
                intermediate = h.storage
                return op(h)
            }()
            XCTAssertNil(intermediate, "\(name) keeps its input alive until backward")
            weightedSum(y, Tensor(repeating: 1, shape: y.shape)).backward()
            XCTAssertNotNil(p.grad, name)
        }
    }

    /// Saved tensors are freed as the backward pass goes, while the loss (and so the graph) is
    /// still alive, as PyTorch does without retain_graph.
    func testBackwardFreesSavedTensorsAsItGoes() {
        let p = Parameter(Tensor((0..<8).map { Float($0) - 4 }, shape: [8]))
        weak var saved: Storage?
        let loss: Tensor = {
            let h = relu(p.tensor)       // relu's backward keeps its output for the mask
            saved = h.storage
            return weightedSum(scaled(h, by: 2), Tensor(repeating: 1, shape: [8]))
        }()
        XCTAssertNotNil(saved, "the relu output is kept for the backward pass")
        loss.backward()
        XCTAssertNil(saved, "the relu output is freed once its backward has run")
        XCTAssertEqual(p.grad.map { g in (0..<8).map { g.pointer[$0] } }, [0, 0, 0, 0, 0, 2, 2, 2])
        _ = loss
    }
}
