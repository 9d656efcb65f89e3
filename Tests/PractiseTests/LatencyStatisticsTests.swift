import Practise
import XCTest

final class LatencyStatisticsTests: XCTestCase {
    func testBinomialCDFMatchesExactValues() {
        XCTAssertEqual(RobustStatistics.binomialCDF(0, 6), 1.0 / 64, accuracy: 1e-12)
        XCTAssertEqual(RobustStatistics.binomialCDF(1, 6), 7.0 / 64, accuracy: 1e-12)
        XCTAssertEqual(RobustStatistics.binomialCDF(5, 20), 21700.0 / 1048576, accuracy: 1e-12)
        XCTAssertEqual(RobustStatistics.binomialCDF(-1, 5), 0)
        XCTAssertEqual(RobustStatistics.binomialCDF(5, 5), 1)
    }

    /// The 95% interval of the median of n = 20 values is [x(6), x(15)] (1-based), whatever
    /// the values' distribution; n = 6 is the smallest with a 95% interval: [x(1), x(6)].
    func testMedianIntervalUsesTheSignTestOrderStatistics() {
        let xs = (1...20).map(Double.init).shuffled()
        let i = RobustStatistics.medianInterval(xs)
        XCTAssertEqual(i.value, 10.5)
        XCTAssertEqual(i.low, 6)
        XCTAssertEqual(i.high, 15)
        let six = RobustStatistics.medianInterval([3, 1, 2, 6, 5, 4])
        XCTAssertEqual(six.low, 1); XCTAssertEqual(six.high, 6)
        // One wild sample (a preempted round) does not move the median or its interval.
        var spiky = Array(repeating: 10.0, count: 15) + [10.1, 9.9]
        let calm = RobustStatistics.medianInterval(spiky)
        spiky[0] = 300
        XCTAssertEqual(RobustStatistics.medianInterval(spiky), calm)
    }

    /// Coverage check by simulation: the interval holds the true median (0 here) in about 95%
    /// of 2000 samples of 25 heavy-tailed values.
    func testMedianIntervalCoversTheMedianAtItsLevel() {
        var g = SystemRandomNumberGenerator()
        var covered = 0
        for _ in 0..<2000 {
            let xs = (0..<25).map { _ -> Double in let u = Double.random(in: -0.5..<0.5, using: &g); return tan(.pi * u) }  // Cauchy
            let i = RobustStatistics.medianInterval(xs)
            if i.low <= 0 && 0 <= i.high { covered += 1 }
        }
        XCTAssertGreaterThan(covered, 1860)  // 93%: the interval is exact-or-conservative (95.7% at n = 25)
    }

    func testSignTestConfidence() {
        let above = Array(repeating: 0.25, count: 15)
        XCTAssertGreaterThan(RobustStatistics.confidenceMedianAtLeast(above, 0.2), 0.999)
        XCTAssertLessThan(RobustStatistics.confidenceMedianAtLeast(above, 0.3), 0.001)
        let straddling = (0..<20).map { 0.15 + 0.1 * Double($0) / 19 }
        XCTAssertEqual(RobustStatistics.confidenceMedianAtLeast(straddling, 0.2), 0.5, accuracy: 1e-9)
    }

    func testIntervalArithmetic() {
        let a = LatencyInterval(value: 10, low: 9, high: 12)
        XCTAssertEqual(a.relativeHalfWidth, 0.15, accuracy: 1e-12)
        XCTAssertEqual(a.widened(toRelative: 0.05), a)
        XCTAssertEqual(LatencyInterval(exact: 10).widened(toRelative: 0.05), LatencyInterval(value: 10, low: 9.5, high: 10.5))
        XCTAssertEqual(LatencyInterval(value: 0.8, low: 0.75, high: 0.9).complement.low, 0.1, accuracy: 1e-12)
        XCTAssertEqual((a + a).high, 24)
        XCTAssertTrue(a.overlaps(LatencyInterval(value: 12.5, low: 12, high: 13)))
        XCTAssertFalse(a.overlaps(LatencyInterval(exact: 12.5)))
        XCTAssertEqual(RobustStatistics.trimmedMean([1, 2, 3, 4, 100]), 3)
    }
}
