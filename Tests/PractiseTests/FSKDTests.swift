import Engine
import Foundation
import NN
import Practise
import TestSupport
import XCTest

final class FSKDTests: XCTestCase {
    /// The Cholesky solution of the normal equations equals gradient descent on the same ridge
    /// least-squares objective, (1/P) Σ‖Xᵀz − y‖² + λ‖Q‖².
    func testClosedFormEqualsGradientSolution() throws {
        let c = 3, o = 2
        let z = randomTensor([2, c, 4, 4], seed: 1), y = randomTensor([2, o, 4, 4], seed: 2)
        var eq = NormalEquations(inputs: c, outputs: o)
        eq.accumulate(z, y)
        let ridge = 0.05
        let x = try eq.solve(ridge: ridge, label: "test")
        // Gradient descent on the objective in plain loops over pixels.
        let p = 32, d = c + 1
        var rows: [[Double]] = [], targets: [[Double]] = []
        for img in 0..<2 { for px in 0..<16 {
            rows.append((0..<c).map { Double(z.array[(img * c + $0) * 16 + px]) } + [1])
            targets.append((0..<o).map { Double(y.array[(img * o + $0) * 16 + px]) })
        } }
        let meanDiag = (0..<c).reduce(0.0) { acc, i in acc + rows.reduce(0.0) { $0 + $1[i] * $1[i] } / Double(p) } / Double(c)
        let lambda = ridge * meanDiag
        var w = [Double](repeating: 0, count: d * o)
        for _ in 0..<20000 {
            var grad = [Double](repeating: 0, count: d * o)
            for (r, t) in zip(rows, targets) {
                for j in 0..<o {
                    var e = -t[j]
                    for i in 0..<d { e += r[i] * w[i * o + j] }
                    for i in 0..<d { grad[i * o + j] += 2 * e * r[i] / Double(p) }
                }
            }
            for i in 0..<c { for j in 0..<o { grad[i * o + j] += 2 * lambda * w[i * o + j] } }
            for k in 0..<w.count { w[k] -= 0.1 * grad[k] }
        }
        for (a, b) in zip(x, w) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    /// Merging X into the last conv + BN gives the same branch output as applying the 1×1 conv after it.
    func testMergeLeavesTheOutputsUnchanged() throws {
        let model = Architecture.resnet20.make(numClasses: 4, seed: 3)
        randomizeBatchNorms(model)
        model.eval()
        let exit = model.branchExit(ofBlock: "layer2.1")!
        let block = model.module(at: "layer2.1")!
        let input = randomTensor([2, 32, 6, 6], seed: 4)
        let before = FSKD.residualParts(block, input).branch
        let c = 32
        var g = SeededGenerator(seed: 5)
        let x = (0..<((c + 1) * c)).map { _ in g.nextDouble(from: -0.3, to: 0.3) }
        var expected = [Float](repeating: 0, count: before.count)
        let b = before.array, hw = 36
        for n in 0..<2 { for oc in 0..<c { for px in 0..<hw {
            var v = x[c * c + oc]
            for i in 0..<c { v += x[i * c + oc] * Double(b[(n * c + i) * hw + px]) }
            expected[(n * c + oc) * hw + px] = Float(v)
        } } }
        FSKD.merge(x, channels: c, into: model, exit: exit)
        model.eval()
        assertClose(FSKD.residualParts(block, input).branch, Tensor(expected, shape: before.shape), rtol: 1e-4, atol: 1e-4)
    }

    /// On an unpruned network the fit is (nearly) the identity, and on a pruned one it moves the
    /// logits towards the teacher's.
    func testRecoveryOnUnprunedIsIdentityAndHelpsPruned() throws {
        let teacher = Architecture.resnet20.make(numClasses: 4, seed: 6)
        randomizeBatchNorms(teacher)
        teacher.eval()
        let batches = [randomTensor([8, 1, 10, 10], seed: 7), randomTensor([8, 1, 10, 10], seed: 8)]
        let spec = ModelSpec(architecture: .resnet20, numClasses: 4)
        let (same, _) = ChannelPruning.slim(teacher, spec: spec, kept: ChannelPruning.keptChannels(teacher, ratio: 0))
        try FSKD.recover(student: same, teacher: teacher, batches: batches)
        assertClose(same(batches[0]), teacher(batches[0]), rtol: 1e-2, atol: 1e-2)

        let (pruned, _) = ChannelPruning.slim(teacher, spec: spec, kept: ChannelPruning.keptChannels(teacher, ratio: 0.5))
        pruned.eval()
        func error(_ m: ClassifierModel) -> Float {
            zip(m.features(batches[1]).array, teacher.features(batches[1]).array).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        }
        let before = error(pruned)
        try FSKD.recover(student: pruned, teacher: teacher, batches: batches)
        XCTAssertLessThan(error(pruned), before * 0.9)
    }
}
