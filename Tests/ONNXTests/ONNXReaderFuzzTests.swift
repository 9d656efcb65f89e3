#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Testing
@testable import ONNX

/// Seeded mutation fuzzing of the ONNX reader and graph checks: every mutated model either
/// decodes or throws ``ONNXReadError``; nothing traps. Runs ~2 s by default;
/// `PRACTISE_ONNX_FUZZ_SECONDS` and `PRACTISE_ONNX_FUZZ_SEED` set a longer run or another sequence.
struct ONNXReaderFuzzTests {
    /// The models mutated: our writer's CNN, plus versions with float_data and opaque fields.
    static func corpus() -> [[UInt8]] {
        var out = [E2ENet(seed: 1).onnxModel().serialize(producerVersion: "fuzz", metadata: [:])]
        var w = ProtobufWriter()
        w.writeInt64Field(1, 8)
        w.writeMessageField(7) { g in
            g.writeMessageField(1) { n in
                n.writeStringField(1, "x"); n.writeStringField(1, "w"); n.writeStringField(2, "y")
                n.writeStringField(3, "/layer1/layer1.0/conv1/Conv"); n.writeStringField(4, "Conv")
                n.writeMessageField(5) { a in a.writeStringField(1, "pads"); a.writeRepeatedInt64Field(8, [1, 1, 1, 1]); a.writeInt64Field(20, 7) }
                n.writeMessageField(5) { a in a.writeStringField(1, "alpha"); a.writeFloatField(2, 0.5); a.writeInt64Field(20, 1) }
            }
            g.writeMessageField(5) { t in
                t.writeRepeatedInt64Field(1, [2, 1, 1, 1]); t.writeInt64Field(2, 1); t.writeStringField(8, "w")
                t.writeRepeatedFloatField(4, [1, 2])
            }
            g.writeMessageField(11) { v in v.writeStringField(1, "x") }
            g.writeMessageField(12) { v in v.writeStringField(1, "y") }
        }
        w.writeMessageField(8) { o in o.writeStringField(1, ""); o.writeInt64Field(2, 17) }
        out.append(w.bytes)
        return out
    }

    static func run(_ bytes: [UInt8]) -> Bool {
        do {
            let m = try ONNXReader.decode(bytes)
            _ = try m.graph.topologicalOrder()
            return true
        } catch is ONNXReadError {
            return false
        } catch {
            Issue.record("unexpected error type: \(error)")
            return false
        }
    }

    @Test func mutatedModelsNeverTrap() {
        let env = ProcessInfo.processInfo.environment
        let seconds = env["PRACTISE_ONNX_FUZZ_SECONDS"].flatMap(Double.init) ?? 2
        var rng = SplitMix64(seed: env["PRACTISE_ONNX_FUZZ_SEED"].flatMap(UInt64.init) ?? 0x0_11e5)
        let corpus = Self.corpus()
        for c in corpus { #expect(Self.run(c)) }
        let deadline = Date().addingTimeInterval(seconds)
        var iterations = 0, decoded = 0
        while Date() < deadline || iterations < 500 {
            var b = corpus[iterations % corpus.count]
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let p = b.isEmpty ? 0 : Int.random(in: 0..<b.count, using: &rng)
                switch Int.random(in: 0..<6, using: &rng) {
                case 0 where !b.isEmpty: b[p] ^= 1 << UInt8.random(in: 0...7, using: &rng)
                case 1 where !b.isEmpty: b[p] = UInt8.random(in: 0...255, using: &rng)
                case 2: b.insert(contentsOf: (0..<Int.random(in: 1...8, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }, at: p)
                case 3 where !b.isEmpty: b.removeSubrange(p..<min(b.count, p + Int.random(in: 1...32, using: &rng)))
                case 4: b.removeSubrange(p...)
                case 5 where !b.isEmpty:  // a large varint where a length or dim may be
                    b.replaceSubrange(p..<min(b.count, p + 1), with: [0xff, 0xff, 0xff, 0xff, 0x0f])
                default: break
                }
            }
            if Self.run(b) { decoded += 1 }
            iterations += 1
        }
        print("ONNX reader fuzz: \(iterations) mutated models in \(seconds) s, \(decoded) decoded, no trap")
    }
}
