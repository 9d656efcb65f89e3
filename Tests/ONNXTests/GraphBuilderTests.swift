import Testing
@testable import ONNX

@Suite struct GraphBuilderTests {
    /// ValueInfoProto for a float tensor of shape [N, 2] (hand-encoded).
    private func valueInfo(_ name: UInt8) -> [UInt8] {
        [0x0A, 0x01, name,                     // name
         0x12, 0x0F,                           // type: TypeProto (15 bytes)
         0x0A, 0x0D,                           //   tensor_type (13 bytes)
         0x08, 0x01,                           //     elem_type = FLOAT
         0x12, 0x09,                           //     shape (9 bytes)
         0x0A, 0x03, 0x12, 0x01, 0x4E,         //       dim { dim_param: "N" }
         0x0A, 0x02, 0x08, 0x02]               //       dim { dim_value: 2 }
    }

    @Test func tinyModelMatchesHandEncodedBytes() {
        var b = ONNXGraphBuilder(name: "g", inputName: "x", inputShape: [.symbolic("N"), .fixed(2)])
        let r = b.relu("x")
        #expect(r == "Relu_0_out")
        b.output(r, name: "y", shape: [.symbolic("N"), .fixed(2)])
        let bytes = b.serialize(producerVersion: "1.0", metadata: ["k": "v"])

        let node: [UInt8] = [0x0A, 0x01, 0x78,                       // input: "x"
                             0x12, 0x01, 0x79,                       // output: "y" (renamed by output())
                             0x1A, 0x06] + Array("Relu_0".utf8)      // name
                            + [0x22, 0x04] + Array("Relu".utf8)      // op_type
        #expect(node.count == 20)
        let graph: [UInt8] = [0x0A, 0x14] + node                     // node
            + [0x12, 0x01, 0x67]                                     // name: "g"
            + [0x5A, 0x14] + valueInfo(0x78)                         // input (field 11)
            + [0x62, 0x14] + valueInfo(0x79)                         // output (field 12)
        #expect(graph.count == 69)
        let model: [UInt8] = [0x08, 0x07]                            // ir_version = 7
            + [0x12, 0x08] + Array("practise".utf8)                  // producer_name
            + [0x1A, 0x03] + Array("1.0".utf8)                       // producer_version
            + [0x3A, 0x45] + graph                                   // graph (field 7, 69 bytes)
            + [0x42, 0x04, 0x0A, 0x00, 0x10, 0x0D]                   // opset_import { domain "", version 13 }
            + [0x72, 0x06, 0x0A, 0x01, 0x6B, 0x12, 0x01, 0x76]       // metadata_props { "k": "v" }
        #expect(bytes == model)
    }

    @Test func convNodeAndInitializerBytes() {
        var b = ONNXGraphBuilder(name: "g", inputName: "x", inputShape: [.fixed(1), .fixed(1), .fixed(1), .fixed(1)])
        let y = b.conv("x", weight: [2], weightShape: [1, 1, 1, 1], bias: nil, stride: 1, padding: 0, groups: 1, name: "c")
        #expect(y == "c_out")
        b.output(y, name: "y", shape: [.fixed(1), .fixed(1), .fixed(1), .fixed(1)])
        let bytes = b.serialize(producerVersion: "", metadata: [:])

        let tensor: [UInt8] = [0x08, 0x01, 0x08, 0x01, 0x08, 0x01, 0x08, 0x01,   // dims 1,1,1,1 (unpacked)
                               0x10, 0x01,                                       // data_type FLOAT
                               0x42, 0x08] + Array("c.weight".utf8)              // name (field 8)
                              + [0x4A, 0x04, 0x00, 0x00, 0x00, 0x40]             // raw_data: 2.0f LE
        let initializer = [0x2A, UInt8(tensor.count)] + tensor
        #expect(bytes.contains(subsequence: initializer))

        let groupAttr: [UInt8] = [0x2A, 0x0C, 0x0A, 0x05] + Array("group".utf8) + [0x18, 0x01, 0xA0, 0x01, 0x02]
        #expect(bytes.contains(subsequence: groupAttr))
        let padsAttr: [UInt8] = [0x2A, 0x11, 0x0A, 0x04] + Array("pads".utf8)
            + [0x40, 0x00, 0x40, 0x00, 0x40, 0x00, 0x40, 0x00, 0xA0, 0x01, 0x07]
        #expect(bytes.contains(subsequence: padsAttr))
        // Initializers are not graph inputs: "c.weight" appears exactly once (in the initializer),
        // apart from the node's input list.
        #expect(bytes.occurrences(of: Array("c.weight".utf8)) == 2)
    }

    @Test func serializationIsDeterministic() {
        func build() -> ONNXGraphBuilder {
            var rng = SplitMix64(seed: 7)
            var b = ONNXGraphBuilder(name: "det", inputShape: [.symbolic("batch"), .fixed(3), .fixed(8), .fixed(8)])
            var x = b.conv("input", weight: rng.uniform(4 * 3 * 9, -1, 1), weightShape: [4, 3, 3, 3],
                           bias: rng.uniform(4, -1, 1), stride: 1, padding: 1, groups: 1, name: "conv1")
            x = b.relu6(x)
            let p = b.maxPool(x, kernel: 2, stride: 2, padding: 0)
            x = b.relu6(b.relu(p))
            x = b.add(x, p)
            x = b.flatten(b.globalAveragePool(x))
            x = b.gemm(x, weight: rng.uniform(20, -1, 1), weightShape: [5, 4], bias: rng.uniform(5, -1, 1), name: "fc")
            b.output(x, shape: [.symbolic("batch"), .fixed(5)])
            return b
        }
        let meta1 = ["a": "1", "b": "2", "c": "3", "model": "det"]
        var meta2: [String: String] = [:]
        for key in meta1.keys.sorted().reversed() { meta2[key] = meta1[key] }
        let first = build().serialize(producerVersion: "0.1", metadata: meta1)
        let second = build().serialize(producerVersion: "0.1", metadata: meta2)
        #expect(first == second)
        #expect(first.occurrences(of: Array("relu6.min".utf8)) == 3)   // one shared initializer, used twice
    }

    @Test func namingAliasesAndIdentityOutputs() {
        var b = ONNXGraphBuilder(name: "n", inputShape: [.fixed(1), .fixed(4)])
        let r = b.relu("input")
        b.output(r, name: "logits", shape: [.fixed(1), .fixed(4)])
        // The pre-rename name still resolves, now to "logits".
        let a = b.add(r, "logits")
        #expect(a == "Add_0_out")
        // Exposing the graph input itself needs an Identity node.
        b.output("input", name: "passthrough", shape: [.fixed(1), .fixed(4)])
        // Exposing a value that is already an output under a second name also uses Identity.
        b.output("logits", name: "logits2", shape: [.fixed(1), .fixed(4)])
        let bytes = b.serialize(producerVersion: "", metadata: [:])
        #expect(bytes.occurrences(of: Array("Identity".utf8)) == 4)    // 2 node names + 2 op types
        #expect(bytes.occurrences(of: Array("Relu_0_out".utf8)) == 0)

        // Clashing explicit names get suffixes.
        var c = ONNXGraphBuilder(name: "n", inputShape: [.fixed(1), .fixed(1), .fixed(1), .fixed(1)])
        let c1 = c.conv("input", weight: [1], weightShape: [1, 1, 1, 1], bias: [0], stride: 1, padding: 0, groups: 1, name: "conv")
        let c2 = c.conv(c1, weight: [1], weightShape: [1, 1, 1, 1], bias: [0], stride: 1, padding: 0, groups: 1, name: "conv")
        #expect(c1 == "conv_out")
        #expect(c2 == "conv_1_out")
    }
}

extension Array where Element == UInt8 {
    func occurrences(of needle: [UInt8]) -> Int {
        guard !needle.isEmpty, needle.count <= count else { return 0 }
        var n = 0
        for start in 0...(count - needle.count) where self[start..<(start + needle.count)].elementsEqual(needle) {
            n += 1
        }
        return n
    }

    func contains(subsequence needle: [UInt8]) -> Bool {
        occurrences(of: needle) > 0
    }
}
