#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Decodes ONNX `ModelProto` bytes (field numbers from `onnx.proto`, IR 3–10) into ``ONNXModel``.
///
/// Hostile input gives ``ONNXReadError`` naming the part that is wrong: truncated or malformed
/// protobuf, wrong wire types, tensors whose dims disagree with their data or exceed
/// ``Limits``, external-data references (not supported: the weights must be inside the file),
/// data types other than float/double/integers/bool. Graph structure (dangling inputs, cycles,
/// duplicate outputs) is checked by ``ONNXGraph/topologicalOrder()``.
public enum ONNXReader {
    /// Bounds on what a file may declare, so a few hostile bytes cannot ask for huge allocations.
    public enum Limits {
        public static let maxFileBytes = 4 << 30
        public static let maxRank = 8
        public static let maxDim = 1 << 31
        public static let maxElements = 1 << 30
        public static let maxNodes = 1 << 20
        public static let maxListElements = 1 << 24
    }

    /// Reads and decodes the ONNX file at `path`.
    public static func read(path: String) throws -> ONNXModel {
        let url = URL(fileURLWithPath: path)
        let data: Data
        do { data = try Data(contentsOf: url, options: .mappedIfSafe) } catch {
            throw ONNXReadError("\(path): cannot read the file (\(error))")
        }
        guard data.count <= Limits.maxFileBytes else { throw ONNXReadError("\(path): \(data.count) bytes is larger than the \(Limits.maxFileBytes)-byte limit") }
        do {
            return try data.withUnsafeBytes { try decode($0) }
        } catch let e as ONNXReadError {
            throw ONNXReadError("\(path): \(e.description)")
        }
    }

    public static func decode(_ bytes: [UInt8]) throws -> ONNXModel {
        try bytes.withUnsafeBytes { try decode($0) }
    }

    public static func decode(_ bytes: UnsafeRawBufferPointer) throws -> ONNXModel {
        var r = ProtobufReader(bytes, context: "model")
        var ir: Int64 = 0
        var opsets: [String: Int64] = [:]
        var producer = "", producerVersion = ""
        var graph: ONNXGraph?
        var metadata: [String: String] = [:]
        while let f = try r.nextField() {
            switch f.number {
            case 1: ir = try f.int64("ir_version", in: r)
            case 2: producer = try f.string("producer_name", in: r)
            case 3: producerVersion = try f.string("producer_version", in: r)
            case 7:
                guard graph == nil else { throw r.error("more than one graph") }
                graph = try decodeGraph(r.sub(try f.range("graph", in: r), context: "graph"))
            case 8:
                let (domain, version) = try decodeOpset(r.sub(try f.range("opset_import", in: r), context: "model.opset_import"))
                opsets[domain] = version
            case 14:
                let (key, value) = try decodeStringEntry(r.sub(try f.range("metadata_props", in: r), context: "model.metadata_props"))
                metadata[key] = value
            default: break
            }
        }
        guard let graph else {
            throw ONNXReadError("model: no graph (field 7); this is not an ONNX model, or the file is truncated")
        }
        return ONNXModel(irVersion: ir, opsets: opsets, producerName: producer, producerVersion: producerVersion, graph: graph,
                         metadata: metadata)
    }

    static func decodeStringEntry(_ reader: ProtobufReader) throws -> (String, String) {
        var r = reader
        var key = "", value = ""
        while let f = try r.nextField() {
            switch f.number {
            case 1: key = try f.string("key", in: r)
            case 2: value = try f.string("value", in: r)
            default: break
            }
        }
        return (key, value)
    }

    static func decodeOpset(_ reader: ProtobufReader) throws -> (String, Int64) {
        var r = reader
        var domain = "", version: Int64 = 0
        while let f = try r.nextField() {
            switch f.number {
            case 1: domain = try f.string("domain", in: r)
            case 2: version = try f.int64("version", in: r)
            default: break
            }
        }
        return (domain, version)
    }

    static func decodeGraph(_ reader: ProtobufReader) throws -> ONNXGraph {
        var r = reader
        var g = ONNXGraph(name: "", nodes: [], initializers: [:], initializerOrder: [], inputs: [], outputs: [])
        while let f = try r.nextField() {
            switch f.number {
            case 1:
                guard g.nodes.count < Limits.maxNodes else { throw r.error("more than \(Limits.maxNodes) nodes") }
                g.nodes.append(try decodeNode(r.sub(try f.range("node", in: r), context: "graph.node[\(g.nodes.count)]")))
            case 2: g.name = try f.string("name", in: r)
            case 5:
                let t = try decodeTensor(r.sub(try f.range("initializer", in: r), context: "graph.initializer[\(g.initializerOrder.count)]"))
                guard g.initializers[t.name] == nil else { throw r.error("initializer '\(t.name)' is defined twice") }
                g.initializers[t.name] = t
                g.initializerOrder.append(t.name)
            case 15: throw r.error("sparse initializers are not supported")
            case 11: g.inputs.append(try decodeValueInfo(r.sub(try f.range("input", in: r), context: "graph.input[\(g.inputs.count)]")))
            case 12: g.outputs.append(try decodeValueInfo(r.sub(try f.range("output", in: r), context: "graph.output[\(g.outputs.count)]")))
            default: break
            }
        }
        return g
    }

    static func decodeNode(_ reader: ProtobufReader) throws -> ONNXNode {
        var r = reader
        var n = ONNXNode(name: "", opType: "", domain: "", inputs: [], outputs: [], attributes: [:])
        var attributes: [ProtobufReader] = []
        while let f = try r.nextField() {
            switch f.number {
            case 1: n.inputs.append(try f.string("input", in: r))
            case 2: n.outputs.append(try f.string("output", in: r))
            case 3: n.name = try f.string("name", in: r)
            case 4: n.opType = try f.string("op_type", in: r)
            case 7: n.domain = try f.string("domain", in: r)
            case 5: attributes.append(r.sub(try f.range("attribute", in: r), context: ""))
            default: break
            }
        }
        let label = "\(r.context) '\(n.name)' (\(n.opType.isEmpty ? "no op_type" : n.opType))"
        guard !n.opType.isEmpty else { throw ONNXReadError("\(label): missing op_type") }
        for (i, a) in attributes.enumerated() {
            let (name, value) = try decodeAttribute(a.sub(a.position..<a.end, context: "\(label).attribute[\(i)]"))
            guard n.attributes[name] == nil else { throw ONNXReadError("\(label): attribute '\(name)' given twice") }
            n.attributes[name] = value
        }
        return n
    }

    static func decodeAttribute(_ reader: ProtobufReader) throws -> (String, ONNXAttribute) {
        var r = reader
        var name = "", type: Int64 = 0
        var f32: Float?, i64: Int64?, s: String?, t: ONNXTensor?
        var floats: [Float] = [], ints: [Int64] = [], strings: [String] = []
        while let f = try r.nextField() {
            switch f.number {
            case 1: name = try f.string("name", in: r)
            case 20: type = try f.int64("type", in: r)
            case 2: f32 = try f.float("f", in: r)
            case 3: i64 = try f.int64("i", in: r)
            case 4: s = try f.string("s", in: r)
            case 5: t = try decodeTensor(r.sub(try f.range("t", in: r), context: "\(r.context).t"))
            case 7: try f.appendFloats("floats", to: &floats, in: r)
            case 8: try f.appendInt64s("ints", to: &ints, limit: Limits.maxListElements, in: r)
            case 9: strings.append(try f.string("strings", in: r))
            default: break
            }
            guard floats.count <= Limits.maxListElements, strings.count <= Limits.maxListElements else {
                throw r.error("attribute list longer than \(Limits.maxListElements)")
            }
        }
        let label = "\(r.context) '\(name)'"
        func missing(_ field: String) -> ONNXReadError { ONNXReadError("\(label): type says \(field) but the value is missing") }
        switch type {
        case 1: guard let f32 else { throw missing("FLOAT") }; return (name, .float(f32))
        case 2: guard let i64 else { throw missing("INT") }; return (name, .int(i64))
        case 3: guard let s else { throw missing("STRING") }; return (name, .string(s))
        case 4: guard let t else { throw missing("TENSOR") }; return (name, .tensor(t))
        case 6: return (name, .floats(floats))
        case 7: return (name, .ints(ints))
        case 8: return (name, .strings(strings))
        case 0:
            // IR < 3 files may omit the type; infer it from the one value present.
            if let f32 { return (name, .float(f32)) }
            if let i64 { return (name, .int(i64)) }
            if let s { return (name, .string(s)) }
            if let t { return (name, .tensor(t)) }
            if !floats.isEmpty { return (name, .floats(floats)) }
            if !ints.isEmpty { return (name, .ints(ints)) }
            throw ONNXReadError("\(label): attribute without type or value")
        default: return (name, .unsupported(type))
        }
    }

    static func decodeTensor(_ reader: ProtobufReader) throws -> ONNXTensor {
        var r = reader
        var dims: [Int64] = []
        var dataType: Int64 = 0
        var name = ""
        var raw: Range<Int>?
        var floats: [Float] = [], doubles: [Double] = [], int64s: [Int64] = [], int32s: [Int64] = []
        var external = false
        while let f = try r.nextField() {
            switch f.number {
            case 1: try f.appendInt64s("dims", to: &dims, limit: Limits.maxRank, in: r)
            case 2: dataType = try f.int64("data_type", in: r)
            case 8: name = try f.string("name", in: r)
            case 9: raw = try f.range("raw_data", in: r)
            case 4: try f.appendFloats("float_data", to: &floats, in: r)
            case 5: try f.appendInt64s("int32_data", to: &int32s, limit: Limits.maxElements, in: r)
            case 7: try f.appendInt64s("int64_data", to: &int64s, limit: Limits.maxElements, in: r)
            case 10: try f.appendDoubles("double_data", to: &doubles, in: r)
            case 13: external = true
            case 14: if try f.int64("data_location", in: r) == 1 { external = true }
            case 3: throw r.error("segmented tensors are not supported")
            default: break
            }
        }
        let label = "\(r.context) '\(name)'"
        if external {
            throw ONNXReadError("\(label): the data is stored in an external file, which is not supported; re-export with the weights inside the model (torch.onnx.export does so below 2 GB)")
        }
        var count = 1
        for d in dims {
            guard d >= 0, d <= Int64(Limits.maxDim) else { throw ONNXReadError("\(label): dimension \(d) out of range 0...\(Limits.maxDim) (dims \(dims))") }
            let (p, overflow) = count.multipliedReportingOverflow(by: Int(d))
            guard !overflow, p <= Limits.maxElements else { throw ONNXReadError("\(label): dims \(dims) exceed \(Limits.maxElements) elements") }
            count = p
        }
        guard let type = ONNXDataType(rawValue: dataType) else {
            throw ONNXReadError("\(label): data type \(dataType) is not supported (float, double, int8/uint8/int32/int64, bool)")
        }
        var t = ONNXTensor(name: name, dims: dims.map(Int.init), floats: [])
        t.dataType = type
        func mismatch(_ found: Int, _ what: String) -> ONNXReadError {
            ONNXReadError("\(label): dims \(dims) need \(count) elements, \(what) holds \(found)")
        }
        if let raw {
            let width: Int = [.float: 4, .double: 8, .int32: 4, .int64: 8, .int8: 1, .uint8: 1, .bool: 1][type]!
            guard raw.count == count * width else { throw mismatch(raw.count / width, "raw_data (\(raw.count) bytes)") }
            let base = r.bytes.baseAddress! + raw.lowerBound
            switch type {
            case .float:
                t.floats = [Float](unsafeUninitializedCapacity: count) { buf, n in
                    if count > 0 { UnsafeMutableRawPointer(buf.baseAddress!).copyMemory(from: base, byteCount: count * 4) }
                    n = count
                }
            case .double:
                t.floats = (0..<count).map { Float(base.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self)) }
            case .int64:
                t.ints = (0..<count).map { base.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self) }
            case .int32:
                t.ints = (0..<count).map { Int64(base.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) }
            case .int8:
                t.ints = (0..<count).map { Int64(base.load(fromByteOffset: $0, as: Int8.self)) }
            case .uint8, .bool:
                t.ints = (0..<count).map { Int64(base.load(fromByteOffset: $0, as: UInt8.self)) }
            }
            return t
        }
        switch type {
        case .float:
            guard floats.count == count else { throw mismatch(floats.count, "float_data") }
            t.floats = floats
        case .double:
            guard doubles.count == count else { throw mismatch(doubles.count, "double_data") }
            t.floats = doubles.map(Float.init)
        case .int64:
            guard int64s.count == count else { throw mismatch(int64s.count, "int64_data") }
            t.ints = int64s
        case .int32, .int8, .uint8, .bool:
            guard int32s.count == count else { throw mismatch(int32s.count, "int32_data") }
            t.ints = int32s
        }
        return t
    }

    static func decodeValueInfo(_ reader: ProtobufReader) throws -> ONNXValueInfo {
        var r = reader
        var v = ONNXValueInfo(name: "", elementType: nil, shape: nil)
        while let f = try r.nextField() {
            switch f.number {
            case 1: v.name = try f.string("name", in: r)
            case 2:
                // TypeProto: only tensor_type (1) is decoded.
                var tp = r.sub(try f.range("type", in: r), context: "\(r.context).type")
                while let tf = try tp.nextField() {
                    guard tf.number == 1 else { continue }
                    var tt = tp.sub(try tf.range("tensor_type", in: tp), context: "\(tp.context).tensor_type")
                    while let ef = try tt.nextField() {
                        if ef.number == 1 { v.elementType = try ef.int64("elem_type", in: tt) }
                        if ef.number == 2 { v.shape = try decodeShape(tt.sub(try ef.range("shape", in: tt), context: "\(tt.context).shape")) }
                    }
                }
            default: break
            }
        }
        return v
    }

    static func decodeShape(_ reader: ProtobufReader) throws -> [Int?] {
        var r = reader
        var dims: [Int?] = []
        while let f = try r.nextField() {
            guard f.number == 1 else { continue }
            guard dims.count < Limits.maxRank else { throw r.error("more than \(Limits.maxRank) dimensions") }
            var d = r.sub(try f.range("dim", in: r), context: "\(r.context).dim[\(dims.count)]")
            var value: Int?
            while let df = try d.nextField() {
                guard df.number == 1 else { continue }
                let x = try df.int64("dim_value", in: d)
                guard x >= 0, x <= Int64(Limits.maxDim) else { throw d.error("dim_value \(x) out of range") }
                value = Int(x)
            }
            dims.append(value)
        }
        return dims
    }
}
