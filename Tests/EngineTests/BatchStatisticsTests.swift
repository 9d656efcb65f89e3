import Engine
import TestSupport
import XCTest

final class BatchStatisticsTests: XCTestCase {
    func testStatisticsAreTheMeanAndBiasedVarianceOverNHW() {
        let x = Tensor([1, 2, 3, 4, 10, 20, 30, 40, 5, 6, 7, 8, 50, 60, 70, 80], shape: [2, 2, 2, 2])
        let (m, v) = channelStatistics(x)
        XCTAssertEqual(m.array, [4.5, 45])
        // channel 0 holds 1,2,3,4,5,6,7,8: biased variance 5.25; channel 1 the same ×10
        XCTAssertEqual(v.array[0], 5.25, accuracy: 1e-5)
        XCTAssertEqual(v.array[1], 525, accuracy: 1e-3)
    }

    func testLossIsTheSumOfTheTwoNormsAndItsGradientMatchesFiniteDifferences() {
        let x = randomTensor([3, 4, 5, 5], seed: 11, scale: 1.5)
        let mean = Tensor([0.1, -0.2, 0.3, 0], shape: [4]), variance = Tensor([1, 0.5, 2, 1.5], shape: [4])
        let (m, v) = channelStatistics(x)
        var nm: Float = 0, nv: Float = 0
        for c in 0..<4 { nm += pow(m.array[c] - mean.array[c], 2); nv += pow(v.array[c] - variance.array[c], 2) }
        XCTAssertEqual(batchStatisticsLoss(x, targetMean: mean, targetVariance: variance).item, nm.squareRoot() + nv.squareRoot(), accuracy: 1e-4)
        gradCheck([x], eps: 1e-2, rtol: 2e-2, atol: 1e-3, samples: 60) { t in
            batchStatisticsLoss(t[0], targetMean: mean, targetVariance: variance)
        }
    }

    func testZeroDistanceHasZeroGradient() {
        let x = randomTensor([2, 3, 4, 4], seed: 5)
        let (m, v) = channelStatistics(x)
        let p = Parameter(x)
        let loss = batchStatisticsLoss(p.tensor, targetMean: m, targetVariance: v)
        XCTAssertEqual(loss.item, 0, accuracy: 1e-5)
        loss.backward()
        XCTAssert(p.grad!.array.allSatisfy { $0.isFinite && abs($0) < 1e-3 })
    }
}
