import Engine
import Foundation
import NN

/// Top-1 / top-5 accuracy in percent over `count` images. An image whose logits hold a NaN or
/// an infinity counts as wrong (a comparison with NaN is always false, so it would otherwise
/// rank first) and is counted in `nonFinite`; JSON holds `top1`, `top5`, `count` (and
/// `non_finite` when it is not zero).
public struct Accuracy: Sendable, Codable, Equatable {
    public var top1: Double, top5: Double, count: Int
    /// Images whose logits were not all finite.
    public var nonFinite: Int = 0

    public init(top1: Double, top5: Double, count: Int, nonFinite: Int = 0) {
        self.top1 = top1; self.top5 = top5; self.count = count; self.nonFinite = nonFinite
    }

    enum CodingKeys: String, CodingKey { case top1, top5, count, nonFinite = "non_finite" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        top1 = try c.decode(Double.self, forKey: .top1)
        top5 = try c.decode(Double.self, forKey: .top5)
        count = try c.decode(Int.self, forKey: .count)
        nonFinite = try c.decodeIfPresent(Int.self, forKey: .nonFinite) ?? 0
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(top1, forKey: .top1)
        try c.encode(top5, forKey: .top5)
        try c.encode(count, forKey: .count)
        if nonFinite > 0 { try c.encode(nonFinite, forKey: .nonFinite) }
    }

    /// A sentence saying that `what` produced non-finite logits, or nil when it did not.
    public func nonFiniteProblem(of what: String) -> String? {
        guard nonFinite > 0 else { return nil }
        return "\(what) produced non-finite logits (NaN or infinity) for \(nonFinite) of \(count) images, so it has no meaningful accuracy "
            + "(weights holding NaN/infinity, a diverged training, or a normalisation that overflows)"
    }
}

public enum Evaluation {
    /// Evaluates `model` in eval mode over the batches `next()` returns until nil.
    public static func accuracy(_ model: ClassifierModel, next: () throws -> LabelledBatch?,
                                progress: (Int) -> Void = { _ in }) throws -> Accuracy {
        model.prepareForInference()
        var c1 = 0, c5 = 0, n = 0, bad = 0
        while let batch = try next() {
            let logits = Autograd.noGrad { model(batch.images) }
            let k = logits.shape[1]
            for r in 0..<batch.labels.count {
                let rank = rankOfTarget(logits.pointer + r * k, classes: k, target: batch.labels[r])
                guard let rank else { bad += 1; continue }
                if rank == 0 { c1 += 1 }
                if rank < 5 { c5 += 1 }
            }
            n += batch.labels.count
            progress(n)
        }
        return Accuracy(top1: 100 * Double(c1) / Double(max(n, 1)), top5: 100 * Double(c5) / Double(max(n, 1)), count: n, nonFinite: bad)
    }

    /// How many classes rank above `target` in one row of `classes` logits (ties go to the lower
    /// index), or nil when any logit is NaN or infinite.
    public static func rankOfTarget(_ row: UnsafePointer<Float>, classes: Int, target: Int) -> Int? {
        let t = row[target]
        var higher = 0
        for j in 0..<classes {
            guard row[j].isFinite else { return nil }
            if row[j] > t || (row[j] == t && j < target) { higher += 1 }
        }
        return higher
    }
}
