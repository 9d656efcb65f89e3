/// Per-channel normalisation `(x - mean[c]) / std[c]`, applied after
/// ToTensor (so `x` is in [0, 1]). A single mean/std is broadcast to every
/// channel. The defaults below are the ones the project uses; callers may
/// build their own.
public struct Normalization: Sendable, Equatable, CustomStringConvertible {
    public var mean: [Float]
    public var std: [Float]

    /// Smallest std accepted from a user or a file: a pixel step of 1/255 then moves the input
    /// by at most about 4 (a smaller one makes inputs, and soon logits, overflow).
    public static let minStd: Float = 1e-3

    /// Values known to be valid (the presets below, or values that passed ``problem(mean:std:)``).
    public init(mean: [Float], std: [Float]) {
        precondition(Normalization.problem(mean: mean, std: std) == nil, Normalization.problem(mean: mean, std: std) ?? "")
        self.mean = mean
        self.std = std
    }

    /// Values from a user or a file: throws ``NormalizationError`` saying what is wrong.
    public init(checkedMean mean: [Float], std: [Float]) throws {
        if let p = Normalization.problem(mean: mean, std: std) { throw NormalizationError(description: p) }
        self.mean = mean
        self.std = std
    }

    /// Why `mean`/`std` cannot be a normalisation (empty, unequal counts, a non-finite value, a
    /// std below ``minStd``), or nil when they can.
    public static func problem(mean: [Float], std: [Float]) -> String? {
        if mean.isEmpty || std.isEmpty { return "mean and std need at least one value each" }
        if mean.count != std.count { return "\(mean.count) mean values but \(std.count) std values (one of each per channel, or one for all)" }
        if let bad = mean.first(where: { !$0.isFinite }) { return "mean value \(bad) is not a finite number" }
        if let bad = std.first(where: { !($0.isFinite && $0 >= minStd) }) { return "std value \(bad) is not a finite number of at least \(minStd)" }
        return nil
    }

    /// Fashion-MNIST: mean 0.2860, std 0.3530 (grey).
    public static let fashionMNIST = Normalization(mean: [0.2860], std: [0.3530])
    /// MNIST: mean 0.1307, std 0.3081 (grey).
    public static let mnist = Normalization(mean: [0.1307], std: [0.3081])
    /// ImageNet statistics, used for CIFAR and ImageFolder data.
    public static let imageNet = Normalization(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
    /// Mean 0, std 1: ToTensor output unchanged.
    public static let identity = Normalization(mean: [0], std: [1])

    /// Mean and std for `channels` channels (broadcasting a single value),
    /// or nil when the counts are incompatible.
    public func perChannel(_ channels: Int) -> (mean: [Float], std: [Float])? {
        if mean.count == channels { return (mean, std) }
        if mean.count == 1 {
            return ([Float](repeating: mean[0], count: channels), [Float](repeating: std[0], count: channels))
        }
        return nil
    }

    public var description: String { "mean \(mean) std \(std)" }
}

/// A mean/std pair that cannot normalise images (``Normalization/problem(mean:std:)``).
public struct NormalizationError: Error, CustomStringConvertible, Sendable {
    public var description: String
}
