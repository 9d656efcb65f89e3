#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import FuzzSupport
import Testing
@testable import ONNX

/// Seeded mutation fuzzing of the ONNX reader and graph checks: every mutated model either
/// decodes or throws ``ONNXReadError``; nothing traps. Runs ~2 s by default with the shared
/// mutator (``MutationFuzzer``).
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

    /// `PRACTISE_FUZZ_SECONDS` / `PRACTISE_FUZZ_SEED` set a longer run or another sequence.
    @Test func mutatedModelsNeverTrap() {
        let corpus = Self.corpus()
        for c in corpus { #expect(Self.run(c)) }
        var decoded = 0
        let r = MutationFuzzer.run(corpus: corpus, defaultSeconds: 2, defaultSeed: 0x0_11e5) { if Self.run($0) { decoded += 1 } }
        print("ONNX reader fuzz: \(r.iterations) mutated models in \(r.seconds) s (seed \(r.seed)), \(decoded) decoded, no trap")
    }
}
