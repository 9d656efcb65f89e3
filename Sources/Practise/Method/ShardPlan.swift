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
        let order = candidates.enumerated().sorted { a, b in
            (costs[a.element.path]!, -a.offset) > (costs[b.element.path]!, -b.offset)
        }
        var totals = [Int](repeating: 0, count: count)
        var members = [[Int]](repeating: [], count: count)
        for (index, c) in order {
            let shard = totals.indices.min { (totals[$0], $0) < (totals[$1], $1) }!
            totals[shard] += costs[c.path]!
            members[shard].append(index)
        }
        shards = members.map { $0.sorted().map { candidates[$0].path } }
        self.costs = costs
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
