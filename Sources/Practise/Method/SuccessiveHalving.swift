import Foundation

/// An early-stopped analysis by successive halving (opt-in: it changes the algorithm).
///
/// The full analysis trains every candidate's adaptors for `I` iterations. Successive halving
/// trains all candidates in lockstep to the first budget `⌊I/η^R⌋`, measures their
/// recoverability there, ranks them by score (``Selection/ranked(_:)`` on these partial
/// recoverabilities and the same latency figures) and stops training the worst; the rest go on
/// to `⌊I/η^(R−1)⌋`, and so on, until the survivors reach `I`:
///
///     budgets  ⌊I/η^R⌋ < ⌊I/η^(R−1)⌋ < … < ⌊I/η⌋ < I        (R early rungs, then the full budget)
///     kept at a rung of n candidates  min(n, max(⌈n/η⌉, need + margin))
///
/// `need` is what the selection takes from the top of the ranking: `K` for ``DropRule/count(_:)``;
/// for ``DropRule/latencyTarget(_:)`` the shortest ranked prefix whose predicted latency
/// reductions reach the target (where ``Selection/reaching(_:of:measure:)`` starts). `margin`
/// more candidates are kept on top, because partial recoverabilities rank only approximately and
/// the latency-target selection may add blocks when its measurement falls short of the prediction.
/// Elimination is a prediction, not a proof: the experiment (README, "Early-stopped analysis")
/// measures how often it keeps the blocks the full analysis chooses.
///
/// What is exact: every survivor is trained the same iterations, on the same batches, with the
/// same learning-rate schedule (decays at 40% and 80% of `I`, not of a rung's budget) as in the
/// full analysis, so its recoverability is bit-identical to the full analysis's (same threads).
/// A candidate stopped at a rung keeps the recoverability measured there and the iterations it
/// got, and is marked eliminated (``CandidateScore/eliminatedAfter``); it is never ranked
/// among, nor selected as, a fully measured one.
public struct SuccessiveHalving: Codable, Sendable, Equatable {
    /// η: budgets grow by this factor from rung to rung, and about `1/η` of the candidates go on.
    public var factor: Int
    /// R: rungs before the full budget.
    public var rounds: Int
    /// Candidates kept beyond what the selection needs.
    public var margin: Int
    /// The selection the ranking must serve (what `need` is computed from).
    public var selection: DropRule

    public static let defaultFactor = 2, defaultRounds = 2, defaultMargin = 3
    public static let factorRange = 2...16, roundsRange = 1...16, marginRange = 0...100_000

    public init(factor: Int = defaultFactor, rounds: Int = defaultRounds, margin: Int = defaultMargin, selection: DropRule) {
        self.factor = factor; self.rounds = rounds; self.margin = margin; self.selection = selection
    }

    /// The iterations every rung trains to, increasing and ending with `iterations`:
    /// `⌊I/η^R⌋, …, ⌊I/η⌋, I`. Valid (strictly increasing, first at least 1) when
    /// ``problem(iterations:)`` is nil.
    public func budgets(iterations: Int) -> [Int] {
        (0..<rounds).map { k in iterations / Self.power(factor, rounds - k) } + [iterations]
    }

    /// `base^exponent`, saturating at `Int.max`.
    static func power(_ base: Int, _ exponent: Int) -> Int {
        var out = 1
        for _ in 0..<exponent {
            let (next, overflow) = out.multipliedReportingOverflow(by: base)
            if overflow { return .max }
            out = next
        }
        return out
    }

    /// Why these settings cannot run `iterations` iterations (nil when they can). Names the CLI
    /// options, which are the only way to set them.
    public func problem(iterations: Int) -> String? {
        if !Self.factorRange.contains(factor) { return "--halving-factor must be in \(Self.factorRange.lowerBound)...\(Self.factorRange.upperBound), got \(factor)" }
        if !Self.roundsRange.contains(rounds) { return "--halving-rounds must be in \(Self.roundsRange.lowerBound)...\(Self.roundsRange.upperBound), got \(rounds)" }
        if !Self.marginRange.contains(margin) { return "--halving-margin must be in \(Self.marginRange.lowerBound)...\(Self.marginRange.upperBound), got \(margin)" }
        let first = budgets(iterations: iterations)[0]
        if first < 1 {
            return "--analysis-schedule halving with --halving-factor \(factor) and --halving-rounds \(rounds) needs at least \(factor)^\(rounds) analysis iterations "
                + "(its first rung trains --analysis-iterations / \(factor)^\(rounds)); got --analysis-iterations \(iterations): give more iterations or fewer rounds"
        }
        return nil
    }

    /// How many of the best-ranked candidates the selection takes (see the type's comment).
    public func need(ranked: [CandidateScore]) -> Int {
        switch selection {
        case .count(let k): return k
        case .latencyTarget(let target): return Selection.predictedPrefixLength(target, of: ranked)
        }
    }

    /// How many of `n` candidates go on from a rung where the selection needs `need`.
    public func survivorCount(of n: Int, need: Int) -> Int {
        let halved = (n + factor - 1) / factor
        return min(n, max(halved, need + margin))
    }

    /// The candidates that go on (best-ranked first) and those stopped at a rung, from the
    /// scores of the candidates still training there.
    public func split(_ partial: [CandidateScore]) -> (kept: [String], eliminated: [String]) {
        let order = Selection.ranked(partial)
        let n = survivorCount(of: order.count, need: need(ranked: order))
        return (order.prefix(n).map(\.block), order.dropFirst(n).map(\.block))
    }
}

/// One rung of a halving analysis: the iterations trained, the recoverability of every candidate
/// still training there, and the ones that went on.
public struct HalvingRung: Codable, Sendable, Equatable {
    public var iterations: Int
    public var recoverabilities: [String: Double]
    public var kept: [String]
    public var eliminated: [String] { recoverabilities.keys.filter { !kept.contains($0) }.sorted() }

    public init(iterations: Int, recoverabilities: [String: Double], kept: [String]) {
        self.iterations = iterations; self.recoverabilities = recoverabilities; self.kept = kept
    }
}

extension DropRule: Codable {
    enum CodingKeys: String, CodingKey { case drop, latencyTarget = "latency_target" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let k = try c.decodeIfPresent(Int.self, forKey: .drop) { self = .count(k) }
        else { self = .latencyTarget(try c.decode(Double.self, forKey: .latencyTarget)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .count(let k): try c.encode(k, forKey: .drop)
        case .latencyTarget(let t): try c.encode(t, forKey: .latencyTarget)
        }
    }
}
