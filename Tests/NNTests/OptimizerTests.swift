import Engine
import NN
import XCTest

final class OptimizerTests: XCTestCase {
    func param(_ v: Float, grad: Float) -> Parameter {
        let p = Parameter(Tensor([v], shape: [1]))
        p.grad = Tensor([grad], shape: [1])
        return p
    }

    func testSGDMomentumNesterovWeightDecayMatchesPyTorchRule() {
        let p = param(1, grad: 0.5)
        let opt = SGD(parameters: [p], learningRate: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true)
        opt.step()
        // d = 0.5 + 0.01 = 0.51; buf = 0.51; nesterov d = 0.51 + 0.9·0.51 = 0.969
        XCTAssertEqual(p.value.item, 1 - 0.0969, accuracy: 1e-6)
        opt.step()
        // d = 0.5 + 0.01·0.90310 = 0.5090310; buf = 0.9·0.51 + d = 0.968031; d' = d + 0.9·buf
        let d = 0.5 + 0.01 * (1 - 0.0969), buf = 0.9 * 0.51 + d
        XCTAssertEqual(Double(p.value.item), (1 - 0.0969) - 0.1 * (d + 0.9 * buf), accuracy: 1e-6)
    }

    func testAdamAndAdamWFirstStep() {
        let p = param(1, grad: 0.5), q = param(1, grad: 0.5)
        Adam(parameters: [p], learningRate: 0.1).step()
        XCTAssertEqual(p.value.item, 0.9, accuracy: 1e-5, "Adam's first step is lr·sign(g)")
        Adam(parameters: [q], learningRate: 0.1, weightDecay: 0.1, decoupledWeightDecay: true).step()
        XCTAssertEqual(q.value.item, 1 * (1 - 0.01) - 0.1, accuracy: 1e-5)
    }

    func testSchedules() {
        let step = LearningRateSchedule.step(milestones: [0.4], gamma: 0.1)
        XCTAssertEqual(step.rate(base: 0.02, iteration: 39, total: 100), 0.02)
        XCTAssertEqual(step.rate(base: 0.02, iteration: 40, total: 100), 0.002, accuracy: 1e-9)
        XCTAssertEqual(LearningRateSchedule.cosine.rate(base: 1, iteration: 50, total: 100), 0.5, accuracy: 1e-6)
        let one = LearningRateSchedule.oneCycle(pctStart: 0.3)
        XCTAssertEqual(one.rate(base: 1, iteration: 0, total: 100), 0.04, accuracy: 1e-6)
        XCTAssertEqual(one.rate(base: 1, iteration: 29, total: 100), 1, accuracy: 1e-6)
        XCTAssertLessThan(one.rate(base: 1, iteration: 99, total: 100), 1e-5)
        let warm = LearningRateSchedule.warmupCosine(warmup: 0.1)
        XCTAssertEqual(warm.rate(base: 1, iteration: 4, total: 100), 0.5, accuracy: 1e-6)
    }
}
