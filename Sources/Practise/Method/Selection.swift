import Foundation

/// How many blocks to drop.
public enum DropRule: Sendable, Equatable {
    /// The `k` lowest-scoring candidates.
    case count(Int)
    /// The fewest lowest-scoring candidates whose measured latency reduction reaches the fraction.
    case latencyTarget(Double)
}

public enum Selection {
    /// Latency reductions are compared at no finer than ±10% of their value, however narrow
    /// their measured intervals: blocks whose costs differ by less than about 20% cost the same.
    /// The same shape's share varied by 3–11% (coefficient of variation) between repeated
    /// measurements on a loaded 2-core machine (README, "Latency measurement"), so finer
    /// differences would let the machine's load, not the network, decide.
    public static let latencyResolution = 0.10

    /// The deterministic rule for candidates within noise of each other, as reports state it.
    public static let tieRule = "candidates whose score intervals overlap (latency reduction's 95% interval, widened to at least ±10%) are tied; ties are ranked by recoverability, then by block name"

    /// `recoverability / latency reduction` over the latency's interval widened to the resolution.
    public static func scoreInterval(_ c: CandidateScore) -> LatencyInterval {
        let l = c.latency.widened(toRelative: latencyResolution)
        func score(_ latency: Double) -> Double { latency > 0 ? c.recoverability / latency : .infinity }
        return LatencyInterval(value: c.score, low: score(l.high), high: score(l.low))
    }

    /// Whether two candidates' scores are within noise of each other.
    public static func tied(_ a: CandidateScore, _ b: CandidateScore) -> Bool { scoreInterval(a).overlaps(scoreInterval(b)) }

    /// Candidates ordered best-to-drop first: the fully measured ones (``rankedByScore(_:)``),
    /// then those a halving analysis eliminated early, latest-eliminated first and each rung's by
    /// score — their recoverabilities are of fewer iterations and never compete with full ones.
    public static func ranked(_ scores: [CandidateScore]) -> [CandidateScore] {
        let full = scores.filter(\.fullyMeasured)
        let byRung = Dictionary(grouping: scores.filter { !$0.fullyMeasured }, by: { $0.eliminatedAfter! })
        return rankedByScore(full) + byRung.keys.sorted(by: >).flatMap { rankedByScore(byRung[$0]!) }
    }

    /// Candidates ordered best-to-drop first: ascending score where scores are clearly apart;
    /// tied candidates (``tied(_:_:)``) by recoverability, then name (``tieRule``). Sorted by
    /// score first, then every adjacent tied pair out of tie order is swapped until none is, so
    /// the order never rests on a difference smaller than the latency's uncertainty.
    public static func rankedByScore(_ scores: [CandidateScore]) -> [CandidateScore] {
        func tieKey(_ c: CandidateScore) -> (Double, String) { (c.recoverability, c.block) }
        var order = scores.sorted { ($0.score, $0.recoverability, $0.block) < ($1.score, $1.recoverability, $1.block) }
        var swapped = true
        while swapped {  // each swap removes one tie-order inversion, so this ends
            swapped = false
            for i in order.indices.dropLast() where tied(order[i], order[i + 1]) && tieKey(order[i + 1]) < tieKey(order[i]) {
                order.swapAt(i, i + 1)
                swapped = true
            }
        }
        return order
    }

    /// Runs of consecutive candidates in `ranked` order that are tied with their neighbour: the
    /// places where the tie rule, not the score, decided the order.
    public static func ties(_ ranked: [CandidateScore]) -> [[String]] {
        var runs: [[String]] = [], current: [String] = []
        for (i, c) in ranked.enumerated() {
            if i > 0 && ranked[i - 1].eliminatedAfter == c.eliminatedAfter && tied(ranked[i - 1], c) { current.append(c.block) } else {
                if current.count > 1 { runs.append(current) }
                current = [c.block]
            }
        }
        if current.count > 1 { runs.append(current) }
        return runs
    }

    /// Length of the shortest prefix of `ranked` whose predicted latency reductions (sum of
    /// per-block percentages) reach `target` (a fraction); at least 1, at most `ranked.count`.
    public static func predictedPrefixLength(_ target: Double, of ranked: [CandidateScore]) -> Int {
        var predicted = 0.0, k = 0
        while k < ranked.count && predicted < target * 100 { predicted += ranked[k].latencyReduction; k += 1 }
        return max(k, 1)
    }

    /// The advice when a selection needs more blocks than a halving analysis measured fully.
    static func halvingAdvice(_ scores: [CandidateScore]) -> String {
        let eliminated = scores.count - scores.filter(\.fullyMeasured).count
        return eliminated == 0 ? "" : " (fully measured: the halving analysis eliminated \(eliminated) more early; raise --halving-margin or use --analysis-schedule full)"
    }

    /// The `k` best blocks to drop, among the fully measured candidates.
    public static func lowest(_ k: Int, of scores: [CandidateScore]) throws -> [String] {
        guard k >= 1 else { throw PractiseError("--drop must be at least 1") }
        let measured = scores.filter(\.fullyMeasured)
        guard k <= measured.count else {
            throw PractiseError("cannot drop \(k) blocks: the model has only \(measured.count) candidates" + halvingAdvice(scores))
        }
        return ranked(measured).prefix(k).map(\.block)
    }

    /// The fewest best-ranked blocks reaching `target` (a fraction, e.g. 0.22), checked with
    /// `measure(blocks) -> reduction fraction with its interval`; a set reaches the target when
    /// the median does. Starts from the smallest prefix whose predicted reductions (sum of
    /// per-block percentages) reach the target; if the measurement falls short it adds blocks
    /// until it agrees, and if it already reaches the target it removes blocks while the
    /// measurement still does (per-block shares of a small network can under-predict the
    /// whole). Throws when even dropping every candidate falls short.
    public static func reaching(_ target: Double, of scores: [CandidateScore],
                                measure: ([String]) throws -> LatencyInterval) throws -> (blocks: [String], measured: LatencyInterval) {
        guard target > 0 && target < 1 else { throw PractiseError("--target-latency-reduction must be between 0 and 1, got \(target)") }
        let order = ranked(scores.filter(\.fullyMeasured))
        var k = predictedPrefixLength(target, of: order)
        func prefix(_ n: Int) -> [String] { order.prefix(n).map(\.block) }
        let start = k
        var lastMeasured = LatencyInterval(exact: 0)
        while k <= order.count {
            lastMeasured = try measure(prefix(k))
            if lastMeasured.value >= target { break }
            k += 1
        }
        guard k <= order.count else {
            throw PractiseError(String(format: "no selection reaches a %.1f%% latency reduction: dropping all %d candidates measured %.1f%%",
                                       target * 100, order.count, lastMeasured.value * 100) + halvingAdvice(scores))
        }
        var best = (blocks: prefix(k), measured: lastMeasured)
        // Only when the first measurement already reached the target (after adding blocks,
        // k − 1 is known to fall short).
        if k == start {
            while k > 1 {
                let fewer = try measure(prefix(k - 1))
                if fewer.value < target { break }
                k -= 1
                best = (prefix(k), fewer)
            }
        }
        return best
    }
}
