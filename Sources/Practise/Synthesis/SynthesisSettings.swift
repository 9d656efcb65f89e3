import Foundation

/// Hyper-parameters of data-free synthesis. Two variants:
///
/// * **DeepInversion** (Yin et al., CVPR 2020): loss = cross-entropy to balanced target labels
///   + `bnWeight · Σ_l r_l · (‖μ_l − μ*_l‖₂ + ‖σ²_l − σ*²_l‖₂)` (r = `firstBNMultiplier` for the
///   first batch norm, 1 for the others) + `tvWeight · TV-ℓ2` + `l2Weight · ℓ2`; random roll by
///   up to `jitter` pixels and flips each step; Adam (β 0.5, 0.9, ε 1e-8) with `warmup`
///   iterations of linear warm-up, then cosine decay to 0; the lowest-loss images of each batch
///   are kept. Reference (ImageNet, 224 px): lr 0.25, BN weight 0.01, TV-ℓ2 1e-4, ℓ2 1e-5,
///   jitter 30, 2000 iterations, batch 64 (84 in its README example).
/// * **ZeroQ** (label-free): only the batch-norm term, no jitter or flips, lr 0.5,
///   500 iterations.
///
/// The defaults here are for 28×28 inputs (Fashion-MNIST), chosen by measurement (README).
public struct SynthesisSettings: Codable, Sendable, Equatable {
    public enum Variant: String, Codable, Sendable, CaseIterable {
        case deepInversion = "deepinversion"
        case zeroQ = "zeroq"
    }

    public var variant: Variant = .deepInversion
    public var iterations: Int = 500
    public var batchSize: Int = 64
    public var learningRate: Float = 0.25
    public var warmup: Int = 50
    public var bnWeight: Float = 0.05
    public var firstBNMultiplier: Float = 10
    public var tvWeight: Float = 1e-4
    public var l2Weight: Float = 1e-5
    public var jitter: Int = 2
    public var flips = true
    public var seed: UInt64 = 2021

    public init() {}

    /// The label-free ZeroQ preset.
    public static var zeroQ: SynthesisSettings {
        var s = SynthesisSettings()
        s.variant = .zeroQ
        s.learningRate = 0.5
        s.iterations = 500
        s.warmup = 0
        s.bnWeight = 1
        s.firstBNMultiplier = 1
        s.tvWeight = 0
        s.l2Weight = 0
        s.jitter = 0
        s.flips = false
        return s
    }

    /// Whether target labels (and the cross-entropy term) are used.
    public var usesLabels: Bool { variant == .deepInversion }

    /// DeepInversion's `lr_cosine_policy`: `lr·(i+1)/warmup` during the warm-up, then
    /// `lr·(1 + cos(π·e/E))/2` with `e = i − warmup`, `E = iterations − warmup`.
    public func rate(at i: Int) -> Float {
        if i < warmup { return learningRate * Float(i + 1) / Float(warmup) }
        let e = Double(i - warmup), total = Double(max(1, iterations - warmup))
        return Float(0.5 * (1 + cos(Double.pi * e / total))) * learningRate
    }

    /// Checks ranges; the message names the setting.
    public func validate() throws {
        guard iterations > 0 else { throw PractiseError("synthesis iterations must be positive, got \(iterations)") }
        guard batchSize > 1 else { throw PractiseError("synthesis batch size must be at least 2 (batch statistics), got \(batchSize)") }
        guard learningRate > 0, learningRate.isFinite else { throw PractiseError("synthesis learning rate must be positive, got \(learningRate)") }
        guard warmup >= 0 else { throw PractiseError("synthesis warm-up must be ≥ 0 iterations, got \(warmup)") }
        guard jitter >= 0 else { throw PractiseError("synthesis jitter must be ≥ 0 pixels, got \(jitter)") }
        for (name, v) in [("BN weight", bnWeight), ("first-BN multiplier", firstBNMultiplier), ("TV weight", tvWeight), ("l2 weight", l2Weight)] {
            guard v >= 0, v.isFinite else { throw PractiseError("synthesis \(name) must be ≥ 0, got \(v)") }
        }
        if variant == .zeroQ && bnWeight == 0 {
            throw PractiseError("ZeroQ optimises the batch-norm term alone: its BN weight must be > 0, got \(bnWeight)")
        }
    }
}
