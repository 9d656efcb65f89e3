import Testing
@testable import ONNX

/// The reader decodes what our writer produces, and hostile files get errors naming the part.
struct ONNXReaderTests {
    let net = E2ENet(seed: 7)
    var bytes: [UInt8] { net.onnxModel().serialize(producerVersion: "test", metadata: ["k": "v"]) }

    @Test func decodesWhatTheWriterWrites() throws {
        let model = try ONNXReader.decode(bytes)
        #expect(model.irVersion == 7)
        #expect(model.opsetVersion == 13)
        #expect(model.producerName == "practise")
        let g = model.graph
        #expect(g.nodes.map(\.opType) == ["Conv", "Relu", "MaxPool", "Conv", "Clip", "Add", "Conv", "Relu",
                                          "GlobalAveragePool", "Flatten", "Gemm"])
        #expect(g.inputs.map(\.name) == ["input"])
        #expect(g.inputs[0].shape == [nil, 3, 16, 16])
        #expect(g.outputs.map(\.name) == ["logits"])
        #expect(g.outputs[0].shape == [nil, 10])
        let conv = g.nodes[0]
        #expect(conv.attributes["pads"] == .ints([1, 1, 1, 1]))
        #expect(conv.attributes["group"] == .int(1))
        let w = try #require(g.initializers[conv.inputs[1]])
        #expect(w.dims == [8, 3, 3, 3])
        #expect(w.dataType == .float)
        #expect(w.floats.count == 8 * 27)
        let dw = try #require(g.initializers[g.nodes[3].inputs[1]])
        #expect(dw.floats == net.dwW)
        #expect(g.nodes[10].attributes["transB"] == .int(1))
        #expect(g.nodes[10].attributes["alpha"] == .float(1))
        #expect(try g.topologicalOrder() == Array(0..<11))
    }

    @Test func floatDataPackedAndUnpackedAndInt64s() throws {
        // TensorProto with float_data packed (field 4), then one with unpacked int64_data (field 7).
        var t = ProtobufWriter()
        t.writeRepeatedInt64Field(1, [2])
        t.writeInt64Field(2, 1)
        t.writeStringField(8, "f")
        t.writeTag(field: 4, wireType: .lengthDelimited)
        t.writeVarint(8)
        for v: Float in [1.5, -2] { t.writeFixed32(v.bitPattern) }
        let f = try ONNXReader.decodeTensor(ProtobufReader.testing(t.bytes))
        #expect(f.floats == [1.5, -2])
        var u = ProtobufWriter()
        u.writeRepeatedInt64Field(1, [3])
        u.writeInt64Field(2, 7)
        u.writeStringField(8, "shape")
        u.writeRepeatedInt64Field(7, [1, -1, 4])
        let i = try ONNXReader.decodeTensor(ProtobufReader.testing(u.bytes))
        #expect(i.ints == [1, -1, 4])
        #expect(i.dataType == .int64)
    }

    func expectError(_ bytes: [UInt8], containing parts: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let m = try ONNXReader.decode(bytes)
            _ = try m.graph.topologicalOrder()
            Issue.record("no error", sourceLocation: sourceLocation)
        } catch let e as ONNXReadError {
            for p in parts { #expect(e.description.contains(p), "\(e.description) lacks \(p)", sourceLocation: sourceLocation) }
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func truncatedFilesFailClearly() {
        let b = bytes
        for cut in [1, 2, 10, b.count / 3, b.count / 2, b.count - 1] {
            expectError(Array(b.prefix(cut)), containing: [])
        }
        expectError(Array(b.prefix(b.count / 2)), containing: ["truncated"])
        expectError([], containing: ["no graph"])
    }

    /// A model whose graph holds the given GraphProto fields.
    func model(_ graph: (inout ProtobufWriter) -> Void) -> [UInt8] {
        var w = ProtobufWriter()
        w.writeInt64Field(1, 7)
        w.writeMessageField(7, graph)
        w.writeMessageField(8) { o in o.writeInt64Field(2, 13) }
        return w.bytes
    }

    func node(_ g: inout ProtobufWriter, _ name: String, _ op: String, _ inputs: [String], _ outputs: [String]) {
        g.writeMessageField(1) { n in
            for i in inputs { n.writeStringField(1, i) }
            for o in outputs { n.writeStringField(2, o) }
            n.writeStringField(3, name)
            n.writeStringField(4, op)
        }
    }

    func input(_ g: inout ProtobufWriter, _ name: String) { g.writeMessageField(11) { v in v.writeStringField(1, name) } }
    func output(_ g: inout ProtobufWriter, _ name: String) { g.writeMessageField(12) { v in v.writeStringField(1, name) } }

    @Test func danglingInputsAndCyclesAndDuplicates() {
        expectError(model { g in input(&g, "x"); node(&g, "r", "Relu", ["y"], ["z"]); output(&g, "z") },
                    containing: ["'r'", "Relu", "'y'", "no node"])
        expectError(model { g in
            input(&g, "x")
            node(&g, "a", "Add", ["x", "c"], ["b"]); node(&g, "b", "Relu", ["b"], ["c"]); output(&g, "c")
        }, containing: ["cycle"])
        expectError(model { g in
            input(&g, "x"); node(&g, "a", "Relu", ["x"], ["y"]); node(&g, "b", "Relu", ["x"], ["y"]); output(&g, "y")
        }, containing: ["'b'", "'y'", "already produced"])
        expectError(model { g in input(&g, "x"); output(&g, "nothing") }, containing: ["output 'nothing'"])
    }

    func tensor(_ g: inout ProtobufWriter, dims: [Int64], type: Int64 = 1, raw: [Float]? = nil, external: Bool = false) {
        g.writeMessageField(5) { t in
            t.writeRepeatedInt64Field(1, dims)
            t.writeInt64Field(2, type)
            t.writeStringField(8, "w")
            if let raw { t.writeFloat32RawDataField(9, raw) }
            if external {
                t.writeMessageField(13) { e in e.writeStringField(1, "location"); e.writeStringField(2, "weights.bin") }
                t.writeInt64Field(14, 1)
            }
        }
    }

    @Test func hostileTensors() {
        expectError(model { g in tensor(&g, dims: [1 << 40, 1 << 40]) }, containing: ["'w'", "dimension"])
        expectError(model { g in tensor(&g, dims: [1 << 20, 1 << 20]) }, containing: ["'w'", "exceed"])
        expectError(model { g in tensor(&g, dims: [-1]) }, containing: ["'w'", "-1"])
        expectError(model { g in tensor(&g, dims: [100000, 1000]) }, containing: ["'w'", "need 100000000 elements", "holds 0"])
        expectError(model { g in tensor(&g, dims: [3], raw: [1, 2]) }, containing: ["'w'", "need 3 elements"])
        expectError(model { g in tensor(&g, dims: [2], external: true) }, containing: ["'w'", "external"])
        expectError(model { g in tensor(&g, dims: [2], type: 10, raw: [1]) }, containing: ["'w'", "data type 10"])
        expectError(model { g in tensor(&g, dims: [1, 1, 1, 1, 1, 1, 1, 1, 1], raw: [1]) }, containing: ["dims", "more than 8"])
    }

    @Test func wrongWireTypes() {
        // ir_version as a string; a node name as a varint; an attribute float as a varint.
        var w = ProtobufWriter()
        w.writeStringField(1, "seven")
        expectError(w.bytes, containing: ["ir_version", "varint"])
        expectError(model { g in g.writeMessageField(1) { n in n.writeStringField(4, "Relu"); n.writeInt64Field(3, 5) } },
                    containing: ["node[0]", "'name'"])
        expectError(model { g in g.writeMessageField(1) { n in
            n.writeStringField(3, "c"); n.writeStringField(4, "Conv")
            n.writeMessageField(5) { a in a.writeStringField(1, "alpha"); a.writeInt64Field(2, 3); a.writeInt64Field(20, 1) }
        } }, containing: ["'c' (Conv)", "'f'", "32-bit float"])
        expectError([0x0b, 0x00], containing: ["wire type 3"])
        expectError([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], containing: ["varint longer"])
    }
}

extension ProtobufReader {
    /// A reader over a copy of `bytes` that lives as long as the process (tests only).
    static func testing(_ bytes: [UInt8]) -> ProtobufReader {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 8)
        buffer.copyBytes(from: bytes)
        return ProtobufReader(UnsafeRawBufferPointer(buffer), range: 0..<bytes.count, context: "tensor")
    }
}
