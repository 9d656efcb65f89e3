import Engine
import Foundation
import NN

/// Filter (channel) pruning of residual blocks' inner channels by the L1 norm of the filters
/// (Li et al., ICLR 2017), producing a genuinely slimmer network: smaller convs and BatchNorms,
/// the residual stream's width unchanged (see ``InnerChannelSite``).
public enum ChannelPruning {
    /// Indices of the `keep` filters of `weight` `[O, I, kH, kW]` with the largest L1 norm
    /// (sum of absolute values over `I·kH·kW`), ascending. Ties go to the lower index.
    public static func keptFilters(weight: Tensor, keep: Int) -> [Int] {
        let o = weight.shape[0], per = weight.count / max(o, 1)
        precondition((1...o).contains(keep), "keep \(keep) of \(o) filters")
        let p = weight.pointer
        let norms = (0..<o).map { f in (0..<per).reduce(Float(0)) { $0 + abs(p[f * per + $1]) } }
        let ranked = (0..<o).sorted { norms[$0] != norms[$1] ? norms[$0] > norms[$1] : $0 < $1 }
        return ranked.prefix(keep).sorted()
    }

    /// Channels kept at a site of `channels` for a pruning ratio: `round(channels·(1 − ratio))`, at least 1.
    public static func keptCount(channels: Int, ratio: Double) -> Int {
        max(1, min(channels, Int((Double(channels) * (1 - ratio)).rounded())))
    }

    /// The kept filters of every inner-channel site of `teacher` at one pruning ratio for all blocks.
    public static func keptChannels(_ teacher: ClassifierModel, ratio: Double) -> [String: [Int]] {
        var out: [String: [Int]] = [:]
        for site in teacher.innerChannelSites {
            let conv = teacher.module(at: site.conv) as! Conv2d
            out[site.conv] = keptFilters(weight: conv.weight.value, keep: keptCount(channels: site.channels, ratio: ratio))
        }
        return out
    }

    /// The slim network keeping `kept` channels at each site (site conv path → kept indices),
    /// with the teacher's weights sliced into it: the kept filters of each pruned conv, the same
    /// entries of the BatchNorms (and depthwise convs) after it, and the same input channels of
    /// the conv that reads them. Sites not in `kept` stay whole.
    public static func slim(_ teacher: ClassifierModel, spec: ModelSpec, kept: [String: [Int]], seed: UInt64 = 0) -> (ClassifierModel, ModelSpec) {
        var s = spec
        s.innerWidths = kept.mapValues(\.count)
        let student = s.build(seed: seed)
        var dim0: [String: [Int]] = [:], dim1: [String: [Int]] = [:]
        for site in teacher.innerChannelSites {
            guard let k = kept[site.conv] else { continue }
            for m in [site.conv] + site.outputFollowers { dim0[m] = k }
            dim1[site.consumer] = k
        }
        let source = Dictionary(uniqueKeysWithValues: teacher.stateDict().map { ($0.key, $0.tensor) })
        var sliced: [String: Tensor] = [:]
        for (key, target) in student.stateDict() {
            let t = source[key]!
            let module = key.split(separator: ".").dropLast().joined(separator: ".")
            let isDepthwise = (teacher.module(at: module) as? Conv2d).map { $0.groups > 1 } ?? false
            let rows = dim0[module], cols = isDepthwise ? nil : dim1[module]
            // Scalars (`num_batches_tracked`) are copied; a 1-wide tensor of a site keeping one channel is sliced like any other.
            sliced[key] = (target.shape == t.shape || target.rank == 0) ? t : slice(t, rows: rows, columns: cols)
        }
        try! student.load(stateDict: sliced)
        return (student, s)
    }

    /// `t` `[d0, d1, rest…]` (or `[d0]`) restricted to `rows` of dimension 0 and `columns` of dimension 1.
    public static func slice(_ t: Tensor, rows: [Int]?, columns: [Int]?) -> Tensor {
        let d0 = t.shape[0], d1 = t.rank > 1 ? t.shape[1] : 1
        let inner = t.count / max(d0 * d1, 1)
        let r = rows ?? Array(0..<d0), c = columns ?? Array(0..<d1)
        var out = [Float](); out.reserveCapacity(r.count * c.count * inner)
        let p = t.pointer
        for i in r { for j in c { let base = (i * d1 + j) * inner; for k in 0..<inner { out.append(p[base + k]) } } }
        var shape = t.shape
        shape[0] = r.count
        if t.rank > 1 { shape[1] = c.count }
        return Tensor(out, shape: shape)
    }

    /// One trial of the ratio search: a ratio and the latency reduction (fraction) measured for it.
    public struct Trial: Sendable, Codable, Equatable {
        public var ratio: Double
        public var reduction: Double
    }

    /// The smallest pruning ratio in `[0, maxRatio]` (to `tolerance`) whose measured latency
    /// reduction `measure(ratio)` reaches `target`, by bisection (latency falls as the ratio
    /// grows). Returns the ratio, its measured reduction and every trial; throws when even
    /// `maxRatio` falls short.
    public static func searchRatio(target: Double, maxRatio: Double = 0.9, tolerance: Double = 0.01,
                                   measure: (Double) throws -> Double) throws -> (ratio: Double, reduction: Double, trials: [Trial]) {
        var trials: [Trial] = []
        func m(_ r: Double) throws -> Double { let v = try measure(r); trials.append(Trial(ratio: r, reduction: v)); return v }
        var hi = maxRatio, hiValue = try m(maxRatio)
        guard hiValue >= target else {
            throw PractiseError(String(format: "pruning %.0f%% of every block's inner channels reduces latency by only %.1f%%, short of the %.1f%% target", maxRatio * 100, hiValue * 100, target * 100))
        }
        var lo = 0.0
        while hi - lo > tolerance {
            let mid = (lo + hi) / 2
            let v = try m(mid)
            if v >= target { hi = mid; hiValue = v } else { lo = mid }
        }
        return (hi, hiValue, trials)
    }
}
