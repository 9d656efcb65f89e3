import Engine
import NN
import TestSupport
import XCTest

final class ModuleTests: XCTestCase {
    func testPathLookupAndReplacement() {
        let m = Architecture.resnet20.make(seed: 0)
        XCTAssertEqual((m.module(at: "layer2.1") as? GraphBlock)?.hasIdentitySkip, true)
        XCTAssertNil(m.module(at: "layer9.0"))
        m.replace(at: "layer2.1", with: Identity())
        XCTAssert(m.module(at: "layer2.1") is Identity)
        XCTAssertFalse(m.stateDict().contains { $0.key.hasPrefix("layer2.1.") })
        XCTAssert(m.stateDict().contains { $0.key == "layer2.2.conv1.weight" }, "later blocks keep their names")
        let x = randomTensor([1, 1, 28, 28], seed: 1)
        m.eval()
        XCTAssertEqual(Autograd.noGrad { m(x) }.shape, [1, 10])
    }

    func testSequentialNamesAndTrainEval() {
        let s = Sequential([ReLU(), BatchNorm2d(2), ReLU()])
        XCTAssertEqual(s.children.map(\.name), ["0", "1", "2"])
        XCTAssertEqual(s.stateDict().map(\.key), ["1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked"])
        s.eval()
        XCTAssertFalse(s.module(at: "1")!.isTraining)
    }

    func testStrictLoadingListsEveryProblem() {
        let m = Architecture.resnet20.make(seed: 0)
        var dict: [String: Tensor] = [:]
        for (k, t) in m.stateDict() { dict[k] = t.copy() }
        dict["fc.weight"] = Tensor(zeros: [3, 64])
        dict.removeValue(forKey: "conv1.weight")
        dict.removeValue(forKey: "bn1.num_batches_tracked")   // allowed to be absent
        dict["extra.bias"] = Tensor(zeros: [1])
        XCTAssertThrowsError(try m.load(stateDict: dict)) { error in
            let text = "\(error)"
            XCTAssert(text.contains("missing keys (1): conv1.weight"), text)
            XCTAssert(text.contains("unexpected keys (1): extra.bias"), text)
            XCTAssert(text.contains("shape mismatch for fc.weight: expected [10, 64], found [3, 64]"), text)
        }
    }

    func testLoadCopiesValues() throws {
        let a = Architecture.resnet20.make(seed: 1), b = Architecture.resnet20.make(seed: 2)
        var dict: [String: Tensor] = [:]
        for (k, t) in a.stateDict() { dict[k] = t }
        try b.load(stateDict: dict)
        let x = randomTensor([2, 1, 28, 28], seed: 3)
        a.eval(); b.eval()
        assertClose(Autograd.noGrad { b(x) }, Autograd.noGrad { a(x) }, rtol: 0, atol: 0)
    }

    func testSeededInitialisationIsReproducible() {
        let a = Architecture.resnet20.make(seed: 5), b = Architecture.resnet20.make(seed: 5), c = Architecture.resnet20.make(seed: 6)
        XCTAssertEqual(a.stateDict()[0].tensor.array, b.stateDict()[0].tensor.array)
        XCTAssertNotEqual(a.stateDict()[0].tensor.array, c.stateDict()[0].tensor.array)
    }
}
