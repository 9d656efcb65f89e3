import Engine
/// Chooses the few training images a run uses. Deterministic for a seed.
///
/// Two rules:
/// * `.random(n, balanced: false)` — the reference's rule: repeat { draw a
///   class uniformly (among classes that have images), then one of its
///   images uniformly; keep it unless already chosen } until `n` are chosen.
///   Result in draw order.
/// * `.random(n, balanced: true)` — when `n` is a multiple of the class
///   count, exactly `n / classes` per class (as `.perClass`); otherwise the
///   unbalanced rule above.
/// * `.perClass(k)` — for each class in label order, `k` distinct images
///   drawn uniformly (partial Fisher–Yates). Result grouped by class.
public enum FewShotSampler {
    public enum Rule: Sendable, Equatable {
        case random(count: Int, balanced: Bool)
        case perClass(Int)
    }

    /// Sample indices into `dataset` by `rule` and `seed`.
    /// An unlabelled dataset is one group: `.random` draws uniformly without replacement,
    /// `.perClass` is an error.
    public static func sample(_ dataset: any Dataset, rule: Rule, seed: UInt64) throws -> [Int] {
        if !dataset.isLabelled {
            if case .perClass = rule {
                throw DataError.invalidArgument("\(dataset.name) has no labels: images per class cannot be drawn (use a sample count)")
            }
            return try sample(groups: [Array(0..<dataset.count)], rule: rule, seed: seed)
        }
        return try sample(groups: dataset.indicesByClass(), classNames: dataset.classes, rule: rule, seed: seed)
    }

    /// Same, from indices grouped by class (`groups[label]`).
    public static func sample(groups: [[Int]], classNames: [String]? = nil,
                              rule: Rule, seed: UInt64) throws -> [Int] {
        var rng = SeededGenerator(seed: seed)
        let total = groups.reduce(0) { $0 + $1.count }
        switch rule {
        case .perClass(let k):
            return try perClass(groups, k: k, classNames: classNames, rng: &rng)
        case .random(let n, let balanced):
            guard n > 0 else { throw DataError.invalidArgument("sample count must be positive, got \(n)") }
            guard n <= total else {
                throw DataError.notEnoughSamples(requested: n, available: total, context: "whole dataset")
            }
            if balanced && !groups.isEmpty && n >= groups.count && n % groups.count == 0 {
                return try perClass(groups, k: n / groups.count, classNames: classNames, rng: &rng)
            }
            let nonEmpty = groups.indices.filter { !groups[$0].isEmpty }
            var chosen = [Int]()
            chosen.reserveCapacity(n)
            var taken = Set<Int>()
            while chosen.count < n {
                let cls = nonEmpty[rng.nextInt(below: nonEmpty.count)]
                let members = groups[cls]
                let index = members[rng.nextInt(below: members.count)]
                if taken.insert(index).inserted { chosen.append(index) }
            }
            return chosen
        }
    }

    private static func perClass(_ groups: [[Int]], k: Int, classNames: [String]?,
                                 rng: inout SeededGenerator) throws -> [Int] {
        guard k > 0 else { throw DataError.invalidArgument("images per class must be positive, got \(k)") }
        var result = [Int]()
        for (label, members) in groups.enumerated() {
            guard members.count >= k else {
                let name = classNames.flatMap { label < $0.count ? $0[label] : nil } ?? String(label)
                throw DataError.notEnoughSamples(requested: k, available: members.count,
                                                 context: "class \(label) '\(name)'")
            }
            var pool = members
            for i in 0..<k {
                let j = i + rng.nextInt(below: pool.count - i)
                pool.swapAt(i, j)
            }
            result += pool[0..<k]
        }
        return result
    }
}
