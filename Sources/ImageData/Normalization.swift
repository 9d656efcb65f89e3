/// Per-channel normalisation `(x - mean[c]) / std[c]`, applied after
/// ToTensor (so `x` is in [0, 1]). A single mean/std is broadcast to every
/// channel. The defaults below are the ones the project uses; callers may
/// build their own.
public struct Normalization: Sendable, Equatable, CustomStringConvertible {
    public var mean: [Float]
    public var std: [Float]

    public init(mean: [Float], std: [Float]) {
        precondition(!mean.isEmpty && mean.count == std.count, "mean and std need equal, non-zero lengths")
        precondition(std.allSatisfy { $0 > 0 }, "std must be positive")
        self.mean = mean
        self.std = std
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
