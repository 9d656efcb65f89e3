import Engine

/// Weight initialisers drawing from the project's seeded generator.
public enum Initializers {
    /// Normal with std `√(2/fan)` (Kaiming, ReLU gain).
    public static func kaimingNormal(_ shape: [Int], fan: Int, generator: inout SeededGenerator) -> Tensor {
        let std = (2 / Float(max(fan, 1))).squareRoot()
        return normal(shape, std: std, generator: &generator)
    }

    public static func normal(_ shape: [Int], std: Float, generator: inout SeededGenerator) -> Tensor {
        let t = Tensor(uninitialized: shape)
        for i in 0..<t.count { t.pointer[i] = generator.nextGaussian() * std }
        return t
    }

    /// Uniform in `[−bound, bound)`.
    public static func uniform(_ shape: [Int], bound: Float, generator: inout SeededGenerator) -> Tensor {
        let t = Tensor(uninitialized: shape)
        for i in 0..<t.count { t.pointer[i] = (generator.nextFloat() * 2 - 1) * bound }
        return t
    }
}
