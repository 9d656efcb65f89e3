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
    /// predicted reductions (sum of per-block percentages) reach the target, then adds blocks
    /// until the measurement agrees. Throws when even dropping every candidate falls short.
    public static func reaching(_ target: Double, of scores: [CandidateScore],
                                measure: ([String]) throws -> Double) throws -> (blocks: [String], measured: Double) {
        guard target > 0 && target < 1 else { throw PractiseError("--target-latency-reduction must be between 0 and 1, got \(target)") }
        let order = ranked(scores)
        var predicted = 0.0, k = 0
        while k < order.count && predicted < target * 100 { predicted += order[k].latencyReduction; k += 1 }
        k = max(k, 1)
        var lastMeasured = 0.0
        while k <= order.count {
            let blocks = order.prefix(k).map(\.block)
            lastMeasured = try measure(blocks)
            if lastMeasured >= target { return (blocks, lastMeasured) }
            k += 1
        }
        throw PractiseError(String(format: "no selection reaches a %.1f%% latency reduction: dropping all %d candidates measured %.1f%%",
                                   target * 100, order.count, lastMeasured * 100))
    }
}
