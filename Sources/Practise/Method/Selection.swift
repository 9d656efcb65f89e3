import Foundation

/// How many blocks to drop.
public enum DropRule: Sendable, Equatable {
    /// The `k` lowest-scoring candidates.
    case count(Int)
    /// The fewest lowest-scoring candidates whose measured latency reduction reaches the fraction.
    case latencyTarget(Double)
}

public enum Selection {
    /// Candidates ordered best-to-drop first (ascending score; ties by path for stability).
    public static func ranked(_ scores: [CandidateScore]) -> [CandidateScore] {
        scores.sorted { ($0.score, $0.block) < ($1.score, $1.block) }
    }

    /// The `k` best blocks to drop.
    public static func lowest(_ k: Int, of scores: [CandidateScore]) throws -> [String] {
        guard k >= 1 else { throw PractiseError("--drop must be at least 1") }
        guard k <= scores.count else {
            throw PractiseError("cannot drop \(k) blocks: the model has only \(scores.count) candidates")
        }
        return ranked(scores).prefix(k).map(\.block)
    }

    /// The fewest best-ranked blocks reaching `target` (a fraction, e.g. 0.22), checked with
    /// `measure(blocks) -> measured reduction fraction`. Starts from the smallest prefix whose
    /// predicted reductions (sum of per-block percentages) reach the target; if the measurement
    /// falls short it adds blocks until it agrees, and if it already reaches the target it
    /// removes blocks while the measurement still does (per-block shares of a small network can
    /// under-predict the whole). Throws when even dropping every candidate falls short.
    public static func reaching(_ target: Double, of scores: [CandidateScore],
                                measure: ([String]) throws -> Double) throws -> (blocks: [String], measured: Double) {
        guard target > 0 && target < 1 else { throw PractiseError("--target-latency-reduction must be between 0 and 1, got \(target)") }
        let order = ranked(scores)
        var predicted = 0.0, k = 0
        while k < order.count && predicted < target * 100 { predicted += order[k].latencyReduction; k += 1 }
        k = max(k, 1)
        func prefix(_ n: Int) -> [String] { order.prefix(n).map(\.block) }
        let start = k
        var lastMeasured = 0.0
        while k <= order.count {
            lastMeasured = try measure(prefix(k))
            if lastMeasured >= target { break }
            k += 1
        }
        guard k <= order.count else {
            throw PractiseError(String(format: "no selection reaches a %.1f%% latency reduction: dropping all %d candidates measured %.1f%%",
                                       target * 100, order.count, lastMeasured * 100))
        }
        var best = (blocks: prefix(k), measured: lastMeasured)
        // Only when the first measurement already reached the target (after adding blocks,
        // k − 1 is known to fall short).
        if k == start {
            while k > 1 {
                let fewer = try measure(prefix(k - 1))
                if fewer < target { break }
                k -= 1
                best = (prefix(k), fewer)
            }
        }
        return best
    }
}
