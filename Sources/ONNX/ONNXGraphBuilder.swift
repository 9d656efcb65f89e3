/// One dimension of a graph input/output shape.
public enum ONNXDim: Hashable, Sendable {
    /// A known extent (`dim_value`).
    case fixed(Int)
    /// A named, run-time extent such as a dynamic batch (`dim_param`).
    case symbolic(String)
}

/// Builds an ONNX inference graph for a plain CNN (float32 only) and serializes it as a
/// `ModelProto` (IR version 7, default-domain opset 13, or 14 once a `HardSwish` is added), with
/// no dependency on protobuf libraries.
///
/// Every op method takes the names of existing values and returns the name of the value it
/// produces. Weights are Float32, row-major, in PyTorch layouts (which are also ONNX's layouts).
/// Weights are stored as initializers only (not repeated as graph inputs, which IR >= 4 allows).
/// Misuse (unknown value names, weight counts that don't match shapes) is a programming error
/// and traps.
public struct ONNXGraphBuilder: Sendable {
    public static let irVersion: Int64 = 7
    /// The opset of a graph without ops newer than opset 13.
    public static let baseOpsetVersion: Int64 = 13
    /// The default-domain opset the model declares: the newest any added op needs.
    public private(set) var opsetVersion: Int64 = baseOpsetVersion

    public let name: String
    public let inputName: String
    public let inputShape: [ONNXDim]

    private var nodes: [Node] = []
    private var initializers: [Tensor] = []
    private var outputs: [(name: String, shape: [ONNXDim])] = []
    private var valueNames: Set<String> = []
    private var nodeNames: Set<String> = []
    private var aliases: [String: String] = [:]
    private var opCounters: [String: Int] = [:]
    private var relu6Bounds: (min: String, max: String)?
    /// Names kept free for a later ``output(_:name:shape:)``: generated names avoid them.
    private var reserved: Set<String> = []

    public init(name: String, inputName: String = "input", inputShape: [ONNXDim]) {
        precondition(!inputName.isEmpty, "ONNXGraphBuilder: empty input name")
        self.name = name
        self.inputName = inputName
        self.inputShape = inputShape
        valueNames.insert(inputName)
    }

    // MARK: Ops

    /// 2-D convolution (`Conv`) with symmetric padding. `weightShape` is `[O, I/groups, kH, kW]`;
    /// `bias` has `O` elements. Initializers are named `<name>.weight` and `<name>.bias`.
    public mutating func conv(
        _ x: String, weight: [Float], weightShape: [Int], bias: [Float]?,
        stride: Int, padding: Int, groups: Int, name: String
    ) -> String {
        conv(x, weight: weight, weightShape: weightShape, bias: bias, stride: stride,
             pads: Array(repeating: padding, count: 4), dilation: 1, groups: groups, name: name)
    }

    /// 2-D convolution (`Conv`) with `pads` `[top, left, bottom, right]` (ONNX's
    /// `[x1_begin, x2_begin, x1_end, x2_end]`) and a dilation of both axes.
    public mutating func conv(
        _ x: String, weight: [Float], weightShape: [Int], bias: [Float]?,
        stride: Int, pads: [Int], dilation: Int, groups: Int, name: String
    ) -> String {
        precondition(weightShape.count == 4, "conv \(name): weightShape must be [O, I/groups, kH, kW]")
        precondition(weightShape.allSatisfy { $0 > 0 }, "conv \(name): non-positive weight dimension")
        precondition(weight.count == weightShape.reduce(1, *), "conv \(name): weight count \(weight.count) != product of \(weightShape)")
        precondition(groups >= 1 && weightShape[0] % groups == 0, "conv \(name): output channels \(weightShape[0]) not divisible by groups \(groups)")
        precondition(stride >= 1 && dilation >= 1 && pads.count == 4 && pads.allSatisfy { $0 >= 0 }, "conv \(name): bad stride/pads/dilation")
        let input = resolve(x)
        let nodeName = uniqueNodeName(name)
        var inputs = [input, addInitializer("\(nodeName).weight", dims: weightShape, data: weight)]
        if let bias {
            precondition(bias.count == weightShape[0], "conv \(name): bias count \(bias.count) != \(weightShape[0])")
            inputs.append(addInitializer("\(nodeName).bias", dims: [weightShape[0]], data: bias))
        }
        var attributes = [
            Attribute(name: "group", value: .int(Int64(groups))),
            Attribute(name: "kernel_shape", value: .ints([Int64(weightShape[2]), Int64(weightShape[3])])),
            Attribute(name: "pads", value: .ints(pads.map(Int64.init))),
            Attribute(name: "strides", value: .ints([Int64(stride), Int64(stride)])),
        ]
        if dilation != 1 { attributes.append(Attribute(name: "dilations", value: .ints([Int64(dilation), Int64(dilation)]))) }
        let output = uniqueValueName("\(nodeName)_out")
        nodes.append(Node(inputs: inputs, outputs: [output], name: nodeName, opType: "Conv", attributes: attributes))
        return output
    }

    /// Inference-mode `BatchNormalization` of `[N, C, H, W]` with per-channel `scale`, `bias`,
    /// running `mean` and `variance` (initializers `<name>.weight`, `.bias`, `.running_mean`, `.running_var`).
    public mutating func batchNormalization(_ x: String, scale: [Float], bias: [Float], mean: [Float], variance: [Float],
                                            epsilon: Float, name: String) -> String {
        let c = scale.count
        precondition(c > 0 && bias.count == c && mean.count == c && variance.count == c, "batchNormalization \(name): \(c) channels expected in every tensor")
        let input = resolve(x)
        let nodeName = uniqueNodeName(name)
        let inputs = [input] + [("weight", scale), ("bias", bias), ("running_mean", mean), ("running_var", variance)].map {
            addInitializer("\(nodeName).\($0.0)", dims: [c], data: $0.1)
        }
        let output = uniqueValueName("\(nodeName)_out")
        nodes.append(Node(inputs: inputs, outputs: [output], name: nodeName, opType: "BatchNormalization", attributes: [
            Attribute(name: "epsilon", value: .float(epsilon)),
        ]))
        return output
    }

    /// `Relu`.
    public mutating func relu(_ x: String, name: String? = nil) -> String {
        simpleOp("Relu", inputs: [resolve(x)], name: name)
    }

    /// ReLU6 as `Clip(x, 0, 6)`; opset 13 takes min/max as (scalar) inputs, shared initializers
    /// `relu6.min` / `relu6.max`.
    public mutating func relu6(_ x: String, name: String? = nil) -> String {
        let input = resolve(x)
        let bounds: (min: String, max: String)
        if let relu6Bounds {
            bounds = relu6Bounds
        } else {
            bounds = (addInitializer("relu6.min", dims: [], data: [0]),
                      addInitializer("relu6.max", dims: [], data: [6]))
            relu6Bounds = bounds
        }
        return simpleOp("Clip", inputs: [input, bounds.min, bounds.max], name: name)
    }

    /// Element-wise `Add` (numpy broadcasting).
    public mutating func add(_ a: String, _ b: String, name: String? = nil) -> String {
        simpleOp("Add", inputs: [resolve(a), resolve(b)], name: name)
    }

    /// 2-D `MaxPool` with a square kernel; padding is symmetric and never wins the max, as in PyTorch.
    public mutating func maxPool(_ x: String, kernel: Int, stride: Int, padding: Int, name: String? = nil) -> String {
        precondition(kernel >= 1 && stride >= 1 && padding >= 0 && padding <= kernel / 2,
                     "maxPool: bad kernel/stride/padding (\(kernel), \(stride), \(padding))")
        return simpleOp("MaxPool", inputs: [resolve(x)], name: name, attributes: [
            Attribute(name: "kernel_shape", value: .ints([Int64(kernel), Int64(kernel)])),
            Attribute(name: "pads", value: .ints(Array(repeating: Int64(padding), count: 4))),
            Attribute(name: "strides", value: .ints([Int64(stride), Int64(stride)])),
        ])
    }

    /// `Sigmoid`.
    public mutating func sigmoid(_ x: String, name: String? = nil) -> String {
        simpleOp("Sigmoid", inputs: [resolve(x)], name: name)
    }

    /// `HardSigmoid`: `max(0, min(1, alpha·x + beta))`.
    public mutating func hardSigmoid(_ x: String, alpha: Float, beta: Float, name: String? = nil) -> String {
        simpleOp("HardSigmoid", inputs: [resolve(x)], name: name, attributes: [
            Attribute(name: "alpha", value: .float(alpha)),
            Attribute(name: "beta", value: .float(beta)),
        ])
    }

    /// `HardSwish` (opset 14; the model's opset is raised to it).
    public mutating func hardSwish(_ x: String, name: String? = nil) -> String {
        opsetVersion = max(opsetVersion, 14)
        return simpleOp("HardSwish", inputs: [resolve(x)], name: name)
    }

    /// `Clip(x, min, max)`; an infinite bound is an omitted input.
    public mutating func clip(_ x: String, min lo: Float, max hi: Float, name: String? = nil) -> String {
        let input = resolve(x)
        let base = name ?? "Clip_\(opCounters["Clip", default: 0])"
        var inputs = [input, lo.isFinite ? addInitializer("\(base).min", dims: [], data: [lo]) : ""]
        if hi.isFinite { inputs.append(addInitializer("\(base).max", dims: [], data: [hi])) }
        return simpleOp("Clip", inputs: inputs, name: name)
    }

    /// Element-wise `Mul` (numpy broadcasting, e.g. `[N, C, H, W] · [N, C, 1, 1]`).
    public mutating func mul(_ a: String, _ b: String, name: String? = nil) -> String {
        simpleOp("Mul", inputs: [resolve(a), resolve(b)], name: name)
    }

    /// `x · factor` as `Mul` by a scalar initializer.
    public mutating func scale(_ x: String, by factor: Float, name: String? = nil) -> String {
        let input = resolve(x)
        let base = name ?? "Mul_\(opCounters["Mul", default: 0])"
        return simpleOp("Mul", inputs: [input, addInitializer("\(base).factor", dims: [], data: [factor])], name: name)
    }

    /// `Identity`.
    public mutating func identity(_ x: String, name: String? = nil) -> String {
        simpleOp("Identity", inputs: [resolve(x)], name: name)
    }

    /// 2-D `AveragePool` with a square kernel and symmetric padding counted in the mean
    /// (`count_include_pad = 1`, PyTorch's default).
    public mutating func averagePool(_ x: String, kernel: Int, stride: Int, padding: Int, name: String? = nil) -> String {
        precondition(kernel >= 1 && stride >= 1 && padding >= 0 && padding <= kernel / 2,
                     "averagePool: bad kernel/stride/padding (\(kernel), \(stride), \(padding))")
        return simpleOp("AveragePool", inputs: [resolve(x)], name: name, attributes: [
            Attribute(name: "count_include_pad", value: .int(1)),
            Attribute(name: "kernel_shape", value: .ints([Int64(kernel), Int64(kernel)])),
            Attribute(name: "pads", value: .ints(Array(repeating: Int64(padding), count: 4))),
            Attribute(name: "strides", value: .ints([Int64(stride), Int64(stride)])),
        ])
    }

    /// `ReduceMean` over H and W (axes 2, 3) of `[N, C, H, W]`: `[N, C, 1, 1]` or, without
    /// `keepDims`, `[N, C]`.
    public mutating func spatialMean(_ x: String, keepDims: Bool, name: String? = nil) -> String {
        simpleOp("ReduceMean", inputs: [resolve(x)], name: name, attributes: [
            Attribute(name: "axes", value: .ints([2, 3])),
            Attribute(name: "keepdims", value: .int(keepDims ? 1 : 0)),
        ])
    }

    /// `Reshape` to `shape` (ONNX semantics: 0 copies the input extent, −1 is inferred), the
    /// shape an int64 initializer.
    public mutating func reshape(_ x: String, shape: [Int64], name: String? = nil) -> String {
        let input = resolve(x)
        let base = name ?? "Reshape_\(opCounters["Reshape", default: 0])"
        return simpleOp("Reshape", inputs: [input, addInitializer("\(base).shape", dims: [shape.count], int64s: shape)], name: name)
    }

    /// Zero `Pad` of H and W of `[N, C, H, W]` by `[top, left, bottom, right]`.
    public mutating func pad(_ x: String, _ p: [Int], name: String? = nil) -> String {
        precondition(p.count == 4 && p.allSatisfy { $0 >= 0 }, "pad: pads must be [top, left, bottom, right], got \(p)")
        let input = resolve(x)
        let base = name ?? "Pad_\(opCounters["Pad", default: 0])"
        let pads: [Int64] = [0, 0, Int64(p[0]), Int64(p[1]), 0, 0, Int64(p[2]), Int64(p[3])]
        return simpleOp("Pad", inputs: [input, addInitializer("\(base).pads", dims: [8], int64s: pads)], name: name, attributes: [
            Attribute(name: "mode", value: .string("constant")),
        ])
    }

    /// Keeps `name` free for a later ``output(_:name:shape:)``: no generated value takes it.
    public mutating func reserve(_ name: String) {
        precondition(!valueNames.contains(name), "reserve: \(name) is already a value")
        reserved.insert(name)
    }

    /// `GlobalAveragePool`: `[N, C, H, W] -> [N, C, 1, 1]`.
    public mutating func globalAveragePool(_ x: String, name: String? = nil) -> String {
        simpleOp("GlobalAveragePool", inputs: [resolve(x)], name: name)
    }

    /// `Flatten`: `[d0, …, dk, …] -> [d0·…·d(axis−1), dk·…]`; axis 1 gives `[N, prod(...)]`.
    public mutating func flatten(_ x: String, axis: Int = 1, name: String? = nil) -> String {
        simpleOp("Flatten", inputs: [resolve(x)], name: name, attributes: [
            Attribute(name: "axis", value: .int(Int64(axis))),
        ])
    }

    /// Fully connected layer as `Gemm(x, W, b, transB=1)`, i.e. `x · Wᵀ + b` with PyTorch's
    /// `[out, in]` weight layout. Initializers are named `<name>.weight` and `<name>.bias`.
    public mutating func gemm(_ x: String, weight: [Float], weightShape: [Int], bias: [Float], name: String) -> String {
        precondition(weightShape.count == 2 && weightShape.allSatisfy { $0 > 0 }, "gemm \(name): weightShape must be [out, in]")
        precondition(weight.count == weightShape[0] * weightShape[1], "gemm \(name): weight count \(weight.count) != product of \(weightShape)")
        precondition(bias.count == weightShape[0], "gemm \(name): bias count \(bias.count) != \(weightShape[0])")
        let input = resolve(x)
        let nodeName = uniqueNodeName(name)
        let w = addInitializer("\(nodeName).weight", dims: weightShape, data: weight)
        let b = addInitializer("\(nodeName).bias", dims: [weightShape[0]], data: bias)
        let output = uniqueValueName("\(nodeName)_out")
        nodes.append(Node(inputs: [input, w, b], outputs: [output], name: nodeName, opType: "Gemm", attributes: [
            Attribute(name: "alpha", value: .float(1)),
            Attribute(name: "beta", value: .float(1)),
            Attribute(name: "transB", value: .int(1)),
        ]))
        return output
    }

    /// Declares `x` a graph output called `name`, with the given (possibly symbolic) shape.
    /// A node's output is renamed in place (earlier names keep resolving to it); the graph input
    /// or an initializer is routed through an `Identity` node.
    public mutating func output(_ x: String, name: String = "logits", shape: [ONNXDim]) {
        let source = resolve(x)
        precondition(!outputs.contains { $0.name == name }, "output: \(name) is already a graph output")
        if source == name {
            outputs.append((name, shape))
            return
        }
        precondition(!valueNames.contains(name), "output: the name \(name) is already used by another value")
        reserved.remove(name)
        if nodes.contains(where: { $0.outputs.contains(source) }),
           !outputs.contains(where: { $0.name == source }) {
            for i in nodes.indices {
                nodes[i].outputs = nodes[i].outputs.map { $0 == source ? name : $0 }
                nodes[i].inputs = nodes[i].inputs.map { $0 == source ? name : $0 }
            }
            valueNames.remove(source)
            valueNames.insert(name)
            for (alias, target) in aliases where target == source { aliases[alias] = name }
            aliases[source] = name
        } else {
            valueNames.insert(name)
            nodes.append(Node(inputs: [source], outputs: [name], name: uniqueNodeName("\(name)_Identity"),
                              opType: "Identity", attributes: []))
        }
        outputs.append((name, shape))
    }

    // MARK: Serialization

    /// The `ModelProto` bytes. Deterministic: the same calls produce the same bytes
    /// (metadata is written sorted by key). Fields are written in field-number order with
    /// repeated scalars unpacked, matching the reference protobuf serializer's layout.
    public func serialize(producerName: String = "practise", producerVersion: String, metadata: [String: String]) -> [UInt8] {
        precondition(!outputs.isEmpty, "serialize: the graph has no output; call output(_:name:shape:)")
        var w = ProtobufWriter()
        w.writeInt64Field(1, Self.irVersion)                    // ModelProto.ir_version
        w.writeStringField(2, producerName)                      // producer_name
        w.writeStringField(3, producerVersion)                   // producer_version
        w.writeMessageField(7) { g in writeGraph(into: &g) }     // graph
        w.writeMessageField(8) { o in                            // opset_import
            o.writeStringField(1, "")                            // OperatorSetIdProto.domain
            o.writeInt64Field(2, opsetVersion)                   // version
        }
        for key in metadata.keys.sorted() {                      // metadata_props
            w.writeMessageField(14) { e in
                e.writeStringField(1, key)                       // StringStringEntryProto.key
                e.writeStringField(2, metadata[key]!)            // value
            }
        }
        return w.bytes
    }

    private func writeGraph(into g: inout ProtobufWriter) {
        for node in nodes {                                      // GraphProto.node
            g.writeMessageField(1) { n in Self.writeNode(node, into: &n) }
        }
        g.writeStringField(2, name)                              // name
        for tensor in initializers {                             // initializer
            g.writeMessageField(5) { t in Self.writeTensor(tensor, into: &t) }
        }
        g.writeMessageField(11) { v in Self.writeValueInfo(name: inputName, shape: inputShape, into: &v) }  // input
        for out in outputs {                                     // output
            g.writeMessageField(12) { v in Self.writeValueInfo(name: out.name, shape: out.shape, into: &v) }
        }
    }

    private static func writeNode(_ node: Node, into n: inout ProtobufWriter) {
        for input in node.inputs { n.writeStringField(1, input) }      // NodeProto.input
        for output in node.outputs { n.writeStringField(2, output) }   // output
        n.writeStringField(3, node.name)                               // name
        n.writeStringField(4, node.opType)                             // op_type
        for attribute in node.attributes.sorted(by: { $0.name < $1.name }) {   // attribute
            n.writeMessageField(5) { a in writeAttribute(attribute, into: &a) }
        }
    }

    private static func writeAttribute(_ attribute: Attribute, into a: inout ProtobufWriter) {
        a.writeStringField(1, attribute.name)                    // AttributeProto.name
        let type: Int64
        switch attribute.value {
        case .float(let f): a.writeFloatField(2, f); type = 1             // f, FLOAT
        case .int(let i): a.writeInt64Field(3, i); type = 2               // i, INT
        case .string(let s): a.writeStringField(4, s); type = 3           // s, STRING
        case .floats(let fs): a.writeRepeatedFloatField(7, fs); type = 6  // floats, FLOATS
        case .ints(let xs): a.writeRepeatedInt64Field(8, xs); type = 7    // ints, INTS
        }
        a.writeInt64Field(20, type)                              // type
    }

    private static func writeTensor(_ tensor: Tensor, into t: inout ProtobufWriter) {
        t.writeRepeatedInt64Field(1, tensor.dims.map(Int64.init))   // TensorProto.dims
        if let ints = tensor.int64s {
            t.writeInt64Field(2, 7)                                  // data_type = INT64
            t.writeRepeatedInt64Field(7, ints)                       // int64_data
            t.writeStringField(8, tensor.name)                       // name
            return
        }
        t.writeInt64Field(2, 1)                                      // data_type = FLOAT
        t.writeStringField(8, tensor.name)                          // name
        t.writeFloat32RawDataField(9, tensor.data)                  // raw_data (little-endian)
    }

    private static func writeValueInfo(name: String, shape: [ONNXDim], into v: inout ProtobufWriter) {
        v.writeStringField(1, name)                              // ValueInfoProto.name
        v.writeMessageField(2) { type in                         // type: TypeProto
            type.writeMessageField(1) { tensor in                // tensor_type: TypeProto.Tensor
                tensor.writeInt64Field(1, 1)                     // elem_type = FLOAT
                tensor.writeMessageField(2) { s in               // shape: TensorShapeProto
                    for dim in shape {
                        s.writeMessageField(1) { d in            // dim: Dimension
                            switch dim {
                            case .fixed(let n): d.writeInt64Field(1, Int64(n))       // dim_value
                            case .symbolic(let p): d.writeStringField(2, p)          // dim_param
                            }
                        }
                    }
                }
            }
        }
    }

    // MARK: Internals

    private mutating func simpleOp(_ opType: String, inputs: [String], name: String?, attributes: [Attribute] = []) -> String {
        let nodeName: String
        if let name {
            nodeName = uniqueNodeName(name)
        } else {
            let n = opCounters[opType, default: 0]
            opCounters[opType] = n + 1
            nodeName = uniqueNodeName("\(opType)_\(n)")
        }
        let output = uniqueValueName("\(nodeName)_out")
        nodes.append(Node(inputs: inputs, outputs: [output], name: nodeName, opType: opType, attributes: attributes))
        return output
    }

    private func resolve(_ x: String) -> String {
        let name = aliases[x] ?? x
        precondition(valueNames.contains(name), "ONNXGraphBuilder: unknown value \(x)")
        return name
    }

    private mutating func addInitializer(_ base: String, dims: [Int], data: [Float]) -> String {
        let name = uniqueValueName(base)
        initializers.append(Tensor(name: name, dims: dims, data: data))
        return name
    }

    private mutating func addInitializer(_ base: String, dims: [Int], int64s: [Int64]) -> String {
        let name = uniqueValueName(base)
        initializers.append(Tensor(name: name, dims: dims, data: [], int64s: int64s))
        return name
    }

    private mutating func uniqueValueName(_ base: String) -> String {
        var name = base
        var k = 1
        while valueNames.contains(name) || reserved.contains(name) { name = "\(base)_\(k)"; k += 1 }
        valueNames.insert(name)
        return name
    }

    private mutating func uniqueNodeName(_ base: String) -> String {
        var name = base
        var k = 1
        while nodeNames.contains(name) { name = "\(base)_\(k)"; k += 1 }
        nodeNames.insert(name)
        return name
    }

    private struct Tensor: Sendable {
        var name: String
        var dims: [Int]
        var data: [Float]
        /// Set for an int64 tensor (shapes, pads); `data` is then empty.
        var int64s: [Int64]? = nil
    }

    private enum AttributeValue: Sendable {
        case float(Float)
        case int(Int64)
        case string(String)
        case floats([Float])
        case ints([Int64])
    }

    private struct Attribute: Sendable {
        var name: String
        var value: AttributeValue
    }

    private struct Node: Sendable {
        var inputs: [String]
        var outputs: [String]
        var name: String
        var opType: String
        var attributes: [Attribute]
    }
}
