import Foundation

/// The seeded mutation loop's pieces, shared by the fuzz tests of the checkpoint, data and ONNX
/// readers: a reproducible generator and a mutator aimed at binary formats' length fields
/// (fixed-width little-endian and protobuf varints).
public enum MutationFuzzer {
    /// SplitMix64: small, fast, reproducible.
    public struct Generator: RandomNumberGenerator {
        public init(state: UInt64) { self.state = state }
        var state: UInt64
        public mutating func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
    }

    /// Values that tend to break length and offset fields.
    public static let interesting: [UInt64] = [
        0, 1, 2, 7, 8, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x1_0000,
        0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0x1_0000_0000, 100_000_000, 100_000_001,
        UInt64(Int64.max), UInt64.max, UInt64.max - 1,
    ]

    /// `input` with one to four random edits (bit flips, bytes, insertions, deletions,
    /// truncation, length-field values, a large varint, chunks spliced from another corpus entry).
    public static func mutate(_ input: [UInt8], corpus: [[UInt8]], rng: inout Generator) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<9, using: &rng) {
            case 0 where !bytes.isEmpty:  // bit flip
                bytes[position] ^= 1 << UInt8.random(in: 0...7, using: &rng)
            case 1 where !bytes.isEmpty:  // random byte
                bytes[position] = UInt8.random(in: 0...255, using: &rng)
            case 2:  // insertion
                let count = Int.random(in: 1...16, using: &rng)
                bytes.insert(contentsOf: (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }, at: position)
            case 3 where !bytes.isEmpty:  // deletion
                let count = min(Int.random(in: 1...64, using: &rng), bytes.count - position)
                bytes.removeSubrange(position..<(position + count))
            case 4:  // truncation
                bytes.removeSubrange(position...)
            case 5, 6:  // length-field corruption: 1, 2, 4 or 8 bytes, little-endian
                let width = [1, 2, 4, 8].randomElement(using: &rng)!
                var value = interesting.randomElement(using: &rng)!
                if Bool.random(using: &rng) { value = UInt64(bytes.count) &+ UInt64.random(in: 0...16, using: &rng) &- 8 }
                for i in 0..<width where position + i < bytes.count {
                    bytes[position + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))
                }
            case 7:  // splice in a chunk of another corpus file
                let other = corpus.randomElement(using: &rng)!
                guard !other.isEmpty else { break }
                let start = Int.random(in: 0..<other.count, using: &rng)
                let end = min(other.count, start + Int.random(in: 1...128, using: &rng))
                bytes.insert(contentsOf: other[start..<end], at: position)
            case 8 where !bytes.isEmpty:  // a large varint (2^35 - 1) where a protobuf length or dim may be
                bytes.replaceSubrange(position..<(position + 1), with: [0xff, 0xff, 0xff, 0xff, 0x0f])
            default:
                break
            }
        }
        return bytes
    }

    /// Runs `body` on every corpus entry, then on mutated entries for `seconds` (at least 200),
    /// with seed and duration from `PRACTISE_FUZZ_SEED` / `PRACTISE_FUZZ_SECONDS` when set.
    /// Returns the number of mutated inputs.
    public static func run(corpus: [[UInt8]], defaultSeconds: Double = 3, defaultSeed: UInt64,
                           _ body: ([UInt8]) -> Void) -> (iterations: Int, seconds: Double, seed: UInt64) {
        let environment = ProcessInfo.processInfo.environment
        let seconds = environment["PRACTISE_FUZZ_SECONDS"].flatMap(Double.init) ?? defaultSeconds
        let seed = environment["PRACTISE_FUZZ_SEED"].flatMap(UInt64.init) ?? defaultSeed
        var rng = Generator(state: seed)
        for input in corpus { body(input) }
        let deadline = Date().addingTimeInterval(seconds)
        var iterations = 0
        while Date() < deadline || iterations < 200 {
            body(mutate(corpus[iterations % corpus.count], corpus: corpus, rng: &rng))
            iterations += 1
        }
        return (iterations, seconds, seed)
    }
}
