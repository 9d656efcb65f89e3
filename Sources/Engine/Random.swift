import Foundation

/// The project's deterministic random number generator: xoshiro256** seeded
/// through SplitMix64. Same seed, same stream, on every platform and Swift
/// version (unlike `SystemRandomNumberGenerator` or the standard library's
/// shuffling algorithms, which this project never relies on for results).
///
/// Value type: copying a generator forks the stream.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    /// Creates a generator whose whole state is derived from `seed`.
    public init(seed: UInt64) {
        var sm = seed
        s0 = SeededGenerator.splitMix64(&sm)
        s1 = SeededGenerator.splitMix64(&sm)
        s2 = SeededGenerator.splitMix64(&sm)
        s3 = SeededGenerator.splitMix64(&sm)
        if s0 | s1 | s2 | s3 == 0 { s0 = 0x9E37_79B9_7F4A_7C15 } // never all-zero
    }

    /// Creates an independent stream for a tuple of integers, e.g.
    /// `(seed, epoch, sampleIndex)`: each component is mixed in turn, so
    /// `(1, 2)` and `(2, 1)` give unrelated streams.
    public init(seed: UInt64, stream components: Int...) {
        self.init(seed: SeededGenerator.mix(seed, components.map { UInt64(bitPattern: Int64($0)) }))
    }

    /// Hashes `seed` and `components` into one 64-bit seed.
    public static func mix(_ seed: UInt64, _ components: [UInt64]) -> UInt64 {
        var h = seed
        var state = seed ^ 0x6A09_E667_F3BC_C909
        h = splitMix64(&state)
        for c in components {
            state = h ^ (c &* 0x9E37_79B9_7F4A_7C15) ^ 0xBB67_AE85_84CA_A73B
            h = splitMix64(&state)
        }
        return h
    }

    @inline(__always)
    static func splitMix64(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 - k))
    }

    /// Next 64 random bits (xoshiro256**).
    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = SeededGenerator.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = SeededGenerator.rotl(s3, 45)
        return result
    }

    /// Uniform in [0, 1) with 24 random bits.
    public mutating func nextFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextDouble() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Uniform in `0..<bound` without modulo bias (Lemire's method).
    /// `bound` must be positive.
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "nextInt(below:) needs a positive bound")
        let b = UInt64(bound)
        var m = next().multipliedFullWidth(by: b)
        if m.low < b {
            let threshold = (0 &- b) % b
            while m.low < threshold {
                m = next().multipliedFullWidth(by: b)
            }
        }
        return Int(m.high)
    }

    /// Uniform in `range` (inclusive bounds), like `torch.randint(lo, hi + 1)`.
    public mutating func nextInt(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + nextInt(below: range.upperBound - range.lowerBound + 1)
    }

    /// Uniform in [lower, upper), like `torch.empty(1).uniform_(lower, upper)`.
    public mutating func nextDouble(from lower: Double, to upper: Double) -> Double {
        lower + (upper - lower) * nextDouble()
    }

    /// Fisher–Yates shuffle with a fixed, documented algorithm (for i from
    /// the end, swap with `nextInt(below: i + 1)`).
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            let j = nextInt(below: i + 1)
            if i != j { array.swapAt(i, j) }
        }
    }

    /// Standard normal by the Box–Muller transform.
    public mutating func nextGaussian() -> Float {
        let u1 = max(nextDouble(), 1e-300), u2 = nextDouble()
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
    }
}
