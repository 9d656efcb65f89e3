import NN

/// Which candidates each of `count` shards analyses: a deterministic assignment that balances
/// the shards' training cost.
///
/// A candidate's student starts from the teacher's activation at the first block of the dropped
/// block's stage and runs, forward and backward, to the end of the network, so its cost per
/// iteration is the multiply-accumulates of the blocks from there on, less the dropped block
/// (``cost(of:blockMACs:)``; early-stage candidates cost the most). Candidates are taken in
/// order of decreasing cost (ties: network order) and each goes to the shard with the smallest
/// total so far (ties: the lowest index) — the longest-processing-time rule, whose largest
/// shard is within 4/3 of the best possible. The plan depends only on the network and the
/// count, so every shard computes the same one without talking to the others.
public struct ShardPlan: Sendable, Equatable {
    /// Candidate paths of each shard, in network order.
    public let shards: [[String]]
    /// Estimated cost of each candidate (multiply-accumulates per image and iteration).
    public let costs: [String: Int]

    public init(candidates: [BlockCandidate], blockMACs: [Int], count: Int) {
        precondition(count >= 1)
        var costs: [String: Int] = [:]
        for c in candidates { costs[c.path] = Self.cost(of: c, blockMACs: blockMACs) }
        let members = Self.longestProcessingTime(candidates.map { Double(costs[$0.path]!) }, count: count)
        shards = members.map { $0.map { candidates[$0].path } }
        self.costs = costs
    }

    /// The longest-processing-time assignment of items of `costs` to `count` bins: items in
    /// order of decreasing cost (ties: item order), each to the bin with the smallest total so
    /// far (ties: the lowest bin). Item indices of each bin, ascending.
    public static func longestProcessingTime(_ costs: [Double], count: Int) -> [[Int]] {
        precondition(count >= 1)
        let order = costs.indices.sorted { a, b in (costs[a], -a) > (costs[b], -b) }
        var totals = [Double](repeating: 0, count: count)
        var members = [[Int]](repeating: [], count: count)
        for index in order {
            let bin = totals.indices.min { (totals[$0], $0) < (totals[$1], $1) }!
            totals[bin] += costs[index]
            members[bin].append(index)
        }
        return members.map { $0.sorted() }
    }

    /// Plan for `model`'s candidates on images `[C, H, W]`.
    public init(model: ClassifierModel, candidates: [BlockCandidate], imageShape: [Int], count: Int) {
        self.init(candidates: candidates, blockMACs: Self.blockMACs(model, imageShape: imageShape), count: count)
    }

    /// Per-image multiply-accumulates of every block of `model`, in network order.
    public static func blockMACs(_ model: ClassifierModel, imageShape: [Int]) -> [Int] {
        let shapes = Candidates.blockInputShapes(model, imageShape: imageShape)
        return model.blockPaths.enumerated().map { i, p in Candidates.countMACs(model.module(at: p)!, input: shapes[i]) }
    }

    /// Blocks from the first block of the candidate's stage to the end, without the candidate.
    public static func cost(of c: BlockCandidate, blockMACs: [Int]) -> Int {
        let first = c.blockIndex - c.indexInStage
        return blockMACs[first...].reduce(0, +) - blockMACs[c.blockIndex]
    }

    /// Estimated share of the total cost that shard `index` carries.
    public func share(of index: Int) -> Double {
        let total = costs.values.reduce(0, +)
        return total > 0 ? Double(shards[index].map { costs[$0]! }.reduce(0, +)) / Double(total) : 0
    }
}

/// What a sharded analysis would take with `shards` shards, from measured per-iteration costs:
/// the plan's assignment (by estimated cost, as ``ShardPlan`` makes it) timed with the measured
/// seconds; every shard also runs the teacher's pass once per iteration.
public struct ShardProjection: Sendable, Equatable, Codable {
    public var shards: Int
    /// Seconds per iteration of the slowest shard (its students and one teacher pass).
    public var largestShardSeconds: Double
    /// One process's seconds per iteration (every student and one teacher pass) over the above.
    public var speedUp: Double

    enum CodingKeys: String, CodingKey { case shards, largestShardSeconds = "largest_shard_seconds_per_iteration", speedUp = "speed_up" }

    /// Projections for each count in `counts`. `candidates` in network order; `estimated` and
    /// `measured` hold a value for each.
    public static func project(candidates: [String], estimated: [String: Int], measured: [String: Double], teacher: Double,
                               counts: [Int]) -> [ShardProjection] {
        let single = candidates.map { measured[$0]! }.reduce(teacher, +)
        return counts.map { n in
            let bins = ShardPlan.longestProcessingTime(candidates.map { Double(estimated[$0]!) }, count: n)
            let largest = bins.map { $0.map { measured[candidates[$0]]! }.reduce(teacher, +) }.max() ?? teacher
            return ShardProjection(shards: n, largestShardSeconds: largest, speedUp: single / largest)
        }
    }
}
