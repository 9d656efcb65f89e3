import Foundation

/// Learning rate as a function of the iteration (0-based) out of `total`.
public enum LearningRateSchedule: Sendable, Equatable {
    /// Constant.
    case constant
    /// Multiply by `gamma` at each of the given fractions of training (the reference's ×0.1 at 40%).
    case step(milestones: [Double], gamma: Double)
    /// Cosine from the base rate to 0.
    case cosine
    /// Linear warm-up from 0 over `warmup` fraction, then cosine to 0.
    case warmupCosine(warmup: Double)
    /// PyTorch's OneCycleLR (cosine): from base/25 up to base over `pctStart`, then down to base/(25·10⁴).
    case oneCycle(pctStart: Double)

    /// The rate for `iteration` in `0..<total` given the base (peak) rate.
    public func rate(base: Float, iteration: Int, total: Int) -> Float {
        let total = max(total, 1)
        let progress = Double(iteration) / Double(total)
        switch self {
        case .constant:
            return base
        case let .step(milestones, gamma):
            let passed = milestones.filter { progress >= $0 }.count
            return base * Float(pow(gamma, Double(passed)))
        case .cosine:
            return base * Float(0.5 * (1 + cos(Double.pi * progress)))
        case let .warmupCosine(warmup):
            if progress < warmup { return base * Float((Double(iteration) + 1) / (warmup * Double(total))) }
            let p = (progress - warmup) / max(1 - warmup, 1e-9)
            return base * Float(0.5 * (1 + cos(Double.pi * p)))
        case let .oneCycle(pctStart):
            let initial = Double(base) / 25, final = initial / 1e4
            let up = pctStart * Double(total) - 1
            let step = Double(iteration)
            func anneal(_ from: Double, _ to: Double, _ pct: Double) -> Double { to + (from - to) / 2 * (1 + cos(Double.pi * pct)) }
            if step <= up { return Float(anneal(initial, Double(base), step / max(up, 1))) }
            return Float(anneal(Double(base), final, (step - up) / max(Double(total) - 1 - up, 1)))
        }
    }
}
