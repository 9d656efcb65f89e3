import Foundation

/// A value with its 95% confidence interval, e.g. a latency reduction of 5.1% in [4.8%, 5.4%].
///
/// `value` is a median; `low` and `high` bound it (distribution-free, see
/// ``RobustStatistics/medianInterval(_:confidence:)``). A value given without uncertainty (a
/// hand-written latency table) has `low == value == high`.
public struct LatencyInterval: Sendable, Codable, Equatable {
    public var value: Double
    public var low: Double
    public var high: Double

    public init(value: Double, low: Double, high: Double) {
        self.value = value; self.low = min(low, value); self.high = max(high, value)
    }

    /// A value known exactly.
    public init(exact value: Double) { self.init(value: value, low: value, high: value) }

    /// Half the interval's width relative to the value (0.05: ±5%); infinite for a zero value
    /// with a non-empty interval.
    public var relativeHalfWidth: Double {
        let half = (high - low) / 2
        if half == 0 { return 0 }
        return abs(value) > 0 ? half / abs(value) : .infinity
    }

    /// The interval widened to at least `±floor` of the value: the resolution below which two
    /// latencies are treated as equal, however narrow the measurement's own interval.
    public func widened(toRelative floor: Double) -> LatencyInterval {
        let f = abs(value) * floor
        return LatencyInterval(value: value, low: Swift.min(low, value - f), high: Swift.max(high, value + f))
    }

    /// Whether the two intervals share a point.
    public func overlaps(_ other: LatencyInterval) -> Bool { low <= other.high && other.low <= high }

    /// `1 − self`, for turning a latency ratio into a reduction (the bounds swap).
    public var complement: LatencyInterval { LatencyInterval(value: 1 - value, low: 1 - high, high: 1 - low) }

    /// Every bound times `factor` (≥ 0).
    public func scaled(_ factor: Double) -> LatencyInterval {
        LatencyInterval(value: value * factor, low: low * factor, high: high * factor)
    }

    /// The sum of independent estimates (bounds added: a conservative interval of the sum).
    public static func + (a: LatencyInterval, b: LatencyInterval) -> LatencyInterval {
        LatencyInterval(value: a.value + b.value, low: a.low + b.low, high: a.high + b.high)
    }
}

/// Distribution-free statistics of repeated timings: medians and order-statistic confidence
/// intervals, which a few preempted samples (a timing 3× the rest) cannot move far.
public enum RobustStatistics {
    /// The `p`-quantile (0…1) of `xs` by the nearest rank; `xs` non-empty.
    public static func quantile(_ xs: [Double], _ p: Double) -> Double {
        let s = xs.sorted()
        return s[min(s.count - 1, max(0, Int((p * Double(s.count - 1)).rounded())))]
    }

    /// The median (mean of the two middle values for an even count); `xs` non-empty.
    public static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted(), n = s.count
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
    }

    /// Mean after dropping the lowest and highest `trim` fraction of the values.
    public static func trimmedMean(_ xs: [Double], trim: Double = 0.2) -> Double {
        let s = xs.sorted(), cut = Int(Double(s.count) * trim)
        let kept = s[cut..<max(cut + 1, s.count - cut)]
        return kept.reduce(0, +) / Double(kept.count)
    }

    /// `P(X ≤ k)` for `X ~ Binomial(n, 1/2)`.
    public static func binomialCDF(_ k: Int, _ n: Int) -> Double {
        if k < 0 { return 0 }
        if k >= n { return 1 }
        var total = 0.0
        for i in 0...k { total += exp(logChoose(n, i) - Double(n) * log(2.0)) }
        return min(1, total)
    }

    static func logChoose(_ n: Int, _ k: Int) -> Double {
        lgamma(Double(n + 1)) - lgamma(Double(k + 1)) - lgamma(Double(n - k + 1))
    }

    /// Confidence interval of the median: the order statistics `x(l)` and `x(n+1−l)` with the
    /// largest `l` such that `P(Binomial(n, ½) < l) ≤ (1 − confidence) / 2` (the sign test).
    /// Distribution-free: it holds for skewed, heavy-tailed timings. With fewer than 6 values
    /// no 95% interval exists and the whole range is returned.
    public static func medianInterval(_ xs: [Double], confidence: Double = 0.95) -> LatencyInterval {
        let s = xs.sorted(), n = s.count
        let alpha = (1 - confidence) / 2
        // k: the largest rank with P(X ≤ k − 1) ≤ alpha; the interval is [x(k), x(n+1−k)], 1-based.
        var k = 0
        while k < n / 2 && binomialCDF(k, n) <= alpha { k += 1 }
        let cut = max(k, 1) - 1
        return LatencyInterval(value: median(xs), low: s[cut], high: s[n - 1 - cut])
    }

    /// One-sided confidence that the median of the population the values come from is at least
    /// `threshold`, by the sign test: `P(Binomial(n, ½) < k)` where `k` values are ≥ threshold.
    /// 0.5 means undecided; near 1, clearly above; near 0, clearly below.
    public static func confidenceMedianAtLeast(_ xs: [Double], _ threshold: Double) -> Double {
        let k = xs.filter { $0 >= threshold }.count
        // Mid-p: half the probability of exactly k, so that a balanced sample gives 0.5.
        let below = binomialCDF(k - 1, xs.count), at = binomialCDF(k, xs.count) - below
        return below + at / 2
    }
}
