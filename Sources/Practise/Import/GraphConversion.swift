import Engine
import NN
import ONNX

/// The ops ``GraphConversion`` accepts, for messages and the README.
public let supportedONNXOps = [
    "Conv", "BatchNormalization", "Relu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Mul", "Add",
    "MaxPool", "AveragePool", "GlobalAveragePool", "ReduceMean", "Flatten", "Reshape", "Gemm", "MatMul",
    "Identity", "Dropout", "Constant", "Pad",
]

/// Converts the nodes of an ONNX graph, in dependency order, to ``GraphStep``s of our engine,
/// creating a layer (with the initializers as its parameters and buffers) for every node that
/// has weights, and inferring every value's shape for a given input shape, so a graph that would
/// not compute is rejected here with the node named, never when it runs.
struct GraphConversion {
    /// The most elements an activation of one image may hold (1 GiB of float32).
    static let maxActivationElements = 1 << 28
    /// The largest kernel side, stride, dilation or pad a node may declare (far beyond any
    /// network's; it keeps the shape arithmetic of a damaged file from overflowing).
    static let maxSpatialAttribute = 4096
    let model: ONNXModel
    var steps: [GraphStep] = []
    /// The layer created for step `i`, if it has weights.
    var layers: [Int: Module] = [:]
    /// Shape of every value, for one image batch of the input shape.
    var shapes: [String: [Int]] = [:]
    var inputName = "", outputName = ""
    var inputShape: [Int] = []
    private var constants: [String: ONNXTensor] = [:]

    init(_ model: ONNXModel, imageSize: (h: Int, w: Int)?) throws {
        self.model = model
        let g = model.graph
        let opset = model.opsetVersion
        guard (7...21).contains(opset) else {
            throw ONNXImportError("the model declares opset \(opset); opsets 7–21 are read (torch.onnx.export writes 11–17)")
        }
        let runtime = g.runtimeInputs
        guard runtime.count == 1 else {
            throw ONNXImportError("the graph has \(runtime.count) inputs (\(runtime.map(\.name))); an image classifier has one, [N, C, H, W]")
        }
        guard g.outputs.count == 1 else {
            throw ONNXImportError("the graph has \(g.outputs.count) outputs (\(g.outputs.map(\.name))); an image classifier has one, the logits")
        }
        inputName = runtime[0].name
        outputName = g.outputs[0].name
        guard let s = runtime[0].shape, s.count == 4 else {
            throw ONNXImportError("graph input '\(inputName)' should be [N, C, H, W], found shape \(runtime[0].shape.map { "\($0)" } ?? "unknown")")
        }
        guard let c = s[1] else { throw ONNXImportError("graph input '\(inputName)': the channel count is not fixed") }
        let h = imageSize?.h ?? s[2], w = imageSize?.w ?? s[3]
        guard let h, let w, h > 0, w > 0 else {
            throw ONNXImportError("graph input '\(inputName)': height and width are not fixed in the model; give the image size")
        }
        guard ModelSpec.inChannelsRange.contains(c), ModelSpec.inputSideRange.contains(h), ModelSpec.inputSideRange.contains(w) else {
            throw ONNXImportError("graph input '\(inputName)' is [N, \(c), \(h), \(w)]; practise takes \(ModelSpec.inChannelsRange.lowerBound)–\(ModelSpec.inChannelsRange.upperBound) channels and sides of \(ModelSpec.inputSideRange.lowerBound)–\(ModelSpec.inputSideRange.upperBound) pixels")
        }
        inputShape = [1, c, h, w]
        shapes[inputName] = inputShape
        constants = g.initializers
        let order = try g.topologicalOrder()
        var skipped = Set<Int>()
        for k in order where !skipped.contains(k) {
            try convert(g.nodes[k], index: k, opset: opset, order: order, skipped: &skipped)
        }
        guard shapes[outputName] != nil else {
            throw ONNXImportError("graph output '\(outputName)' is a constant, not computed from '\(inputName)'")
        }
    }

    // MARK: Nodes

    private func label(_ n: ONNXNode, _ index: Int) -> String {
        "node '\(n.name.isEmpty ? "#\(index)" : n.name)' (\(n.opType), opset \(model.opsetVersion))"
    }

    private mutating func convert(_ n: ONNXNode, index: Int, opset: Int64, order: [Int], skipped: inout Set<Int>) throws {
        let where_ = label(n, index)
        func fail(_ m: String) -> ONNXImportError { ONNXImportError("\(where_): \(m)") }
        guard n.domain.isEmpty || n.domain == "ai.onnx" else { throw fail("domain '\(n.domain)' is not supported") }
        func int(_ a: String, _ d: Int64) throws -> Int64 {
            switch n.attributes[a] { case nil: return d; case .int(let v)?: return v; default: throw fail("attribute '\(a)' should be an int") }
        }
        func float(_ a: String, _ d: Float) throws -> Float {
            switch n.attributes[a] { case nil: return d; case .float(let v)?: return v; default: throw fail("attribute '\(a)' should be a float") }
        }
        func ints(_ a: String) throws -> [Int]? {
            switch n.attributes[a] {
            case nil: return nil
            case .ints(let v)?:
                guard v.allSatisfy({ $0 >= -(1 << 20) && $0 <= 1 << 20 }) else { throw fail("attribute '\(a)' = \(v) out of range") }
                return v.map(Int.init)
            default: throw fail("attribute '\(a)' should be a list of ints")
            }
        }
        func constant(_ i: Int) throws -> ONNXTensor? {
            guard i < n.inputs.count, !n.inputs[i].isEmpty else { return nil }
            return constants[n.inputs[i]]
        }
        func weight(_ i: Int, _ role: String, rank: Int? = nil) throws -> ONNXTensor {
            guard i < n.inputs.count, let t = constants[n.inputs[i]] else {
                throw fail("input \(i) (\(role)) must be an initializer; a weight computed in the graph is not supported")
            }
            guard t.isFloatingPoint else { throw fail("\(role) '\(t.name)' is not a float tensor") }
            if let rank, t.dims.count != rank { throw fail("\(role) '\(t.name)' should have rank \(rank), has dims \(t.dims)") }
            // An initializer read by several layers (exporters deduplicate equal tensors) gives each
            // layer its own copy: the layers train independently.
            return t
        }
        func dynamicInput(_ i: Int) throws -> (String, [Int]) {
            guard i < n.inputs.count, let s = shapes[n.inputs[i]] else {
                let what = i < n.inputs.count ? "'\(n.inputs[i])'" : "missing"
                throw fail("input \(i) \(what) is not computed from the image input (constant operands are not supported here)")
            }
            return (n.inputs[i], s)
        }
        func emit(_ op: GraphOp, _ inputs: [String], shape: [Int], output: String? = nil, layer: Module? = nil) throws {
            guard shape.allSatisfy({ $0 >= 1 }) else { throw fail("output shape \(shape) is empty for input \(inputs.compactMap { shapes[$0] })") }
            // Sizes multiply without overflow here: every input is bounded, and each op grows a dimension by a bounded amount.
            guard shape.reduce(1, { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }) <= Self.maxActivationElements else {
                throw fail("output shape \(shape) is larger than the \(Self.maxActivationElements) elements an activation of one image may hold (check the node's pads and sizes)")
            }
            let out = output ?? n.outputs.first ?? ""
            guard !out.isEmpty else { throw fail("no output") }
            if let layer { layers[steps.count] = layer }
            steps.append(GraphStep(op: op, inputs: inputs, output: out, nodeName: n.name.isEmpty ? "#\(index)" : n.name,
                                   opType: n.opType, modulePath: ModulePath.from(nodeName: n.name)))
            shapes[out] = shape
        }
        func singleOutput() throws {
            if n.outputs.count > 1, n.outputs[1...].contains(where: { !$0.isEmpty && isConsumed($0, order: order) }) {
                throw fail("only the first output is supported (the others are used)")
            }
        }
        func spatial(_ kernel: [Int]?, _ strides: [Int]?, _ pads: [Int]?, _ dilations: [Int]?) throws -> (k: Int, s: Int, pads: [Int], d: Int) {
            if case .string(let autoPad)? = n.attributes["auto_pad"], autoPad != "NOTSET", autoPad != "VALID" {
                throw fail("auto_pad \(autoPad) is not supported (export with explicit pads)")
            }
            guard let kernel, kernel.count == 2, kernel[0] == kernel[1], kernel[0] >= 1 else {
                throw fail("kernel_shape \(kernel.map { "\($0)" } ?? "missing") is not supported (square 2-D kernels only)")
            }
            let st = strides ?? [1, 1]
            guard st.count == 2, st[0] == st[1], st[0] >= 1 else { throw fail("strides \(st) are not supported (equal, ≥ 1)") }
            let dl = dilations ?? [1, 1]
            guard dl.count == 2, dl[0] == dl[1], dl[0] >= 1 else { throw fail("dilations \(dl) are not supported (equal, ≥ 1)") }
            let p = pads ?? [0, 0, 0, 0]
            guard p.count == 4, p.allSatisfy({ $0 >= 0 }) else { throw fail("pads \(p) are not supported") }
            let limit = Self.maxSpatialAttribute
            guard ([kernel[0], st[0], dl[0]] + p).allSatisfy({ $0 <= limit }) else {
                throw fail("kernel_shape \(kernel), strides \(st), dilations \(dl) or pads \(p) exceed \(limit)")
            }
            // ONNX pads are [top, left, bottom, right] (x1_begin, x2_begin, x1_end, x2_end).
            return (kernel[0], st[0], p, dl[0])
        }

        switch n.opType {
        case "Constant":
            guard let out = n.outputs.first else { throw fail("no output") }
            switch n.attributes["value"] ?? n.attributes["value_float"] ?? n.attributes["value_ints"] ?? n.attributes["value_int"] {
            case .tensor(let t)?: constants[out] = t
            case .float(let f)?: constants[out] = ONNXTensor(name: out, dims: [], floats: [f])
            case .int(let i)?: constants[out] = ONNXTensor(name: out, dims: [], ints: [i])
            case .ints(let v)?: constants[out] = ONNXTensor(name: out, dims: [v.count], ints: v)
            default: throw fail("only tensor, float and int constants are supported")
            }

        case "Conv":
            let (x, xs) = try dynamicInput(0)
            let w = try weight(1, "weight", rank: 4)
            let b = n.inputs.count > 2 && !n.inputs[2].isEmpty ? try weight(2, "bias", rank: 1) : nil
            let group = try int("group", 1)
            let sp = try spatial(try ints("kernel_shape") ?? Array(w.dims[2...]), try ints("strides"), try ints("pads"), try ints("dilations"))
            guard xs.count == 4 else { throw fail("input should be [N, C, H, W], is \(xs)") }
            guard w.dims[2] == sp.k, w.dims[3] == sp.k else { throw fail("weight dims \(w.dims) disagree with kernel_shape \(sp.k)") }
            guard group >= 1, group <= 1 << 20, xs[1] % Int(group) == 0, w.dims[0] % Int(group) == 0, w.dims[1] * Int(group) == xs[1] else {
                throw fail("weight \(w.dims) with group \(group) does not fit \(xs[1]) input channels")
            }
            if let b, b.count != w.dims[0] { throw fail("bias has \(b.count) elements, the conv has \(w.dims[0]) outputs") }
            let symmetric = sp.pads.allSatisfy { $0 == sp.pads[0] }
            let pad = symmetric ? sp.pads[0] : 0
            let wt = Tensor(w.floats, shape: w.dims)
            let layer: Module
            if sp.d == 1 {
                var gen = SeededGenerator(seed: 0)
                let conv = Conv2d(xs[1], w.dims[0], kernelSize: sp.k, stride: sp.s, padding: pad, groups: Int(group), bias: b != nil, generator: &gen)
                conv.weight.value = wt
                if let b { conv.bias!.value = Tensor(b.floats, shape: [b.count]) }
                layer = conv
            } else {
                layer = DilatedConv2d(weight: wt, bias: b.map { Tensor($0.floats, shape: [$0.count]) }, stride: sp.s, padding: pad,
                                      groups: Int(group), dilation: sp.d)
            }
            let span = (sp.k - 1) * sp.d + 1
            let oh = (xs[2] + sp.pads[0] + sp.pads[2] - span) / sp.s + 1
            let ow = (xs[3] + sp.pads[1] + sp.pads[3] - span) / sp.s + 1
            guard xs[2] + sp.pads[0] + sp.pads[2] >= span, xs[3] + sp.pads[1] + sp.pads[3] >= span else {
                throw fail("a \(span)×\(span) kernel does not fit the \(xs[2])×\(xs[3]) input")
            }
            try emit(.conv(layer: "", extraPads: symmetric ? nil : sp.pads), [x], shape: [xs[0], w.dims[0], oh, ow], layer: layer)

        case "BatchNormalization":
            let (x, xs) = try dynamicInput(0)
            guard try int("training_mode", 0) == 0 else { throw fail("training_mode 1 is not supported (export in eval mode)") }
            try singleOutput()
            let gamma = try weight(1, "scale", rank: 1), beta = try weight(2, "B", rank: 1)
            let mean = try weight(3, "input_mean", rank: 1), variance = try weight(4, "input_var", rank: 1)
            guard xs.count == 4 || xs.count == 2 else { throw fail("input should be [N, C, H, W], is \(xs)") }
            let c = xs[1]
            for t in [gamma, beta, mean, variance] where t.count != c {
                throw fail("'\(t.name)' has \(t.count) elements, the input has \(c) channels")
            }
            guard xs.count == 4 else { throw fail("BatchNormalization over [N, C] is not supported, only [N, C, H, W]") }
            let momentum = try float("momentum", 0.9), eps = try float("epsilon", 1e-5)
            guard eps > 0, momentum >= 0, momentum <= 1 else { throw fail("epsilon \(eps) / momentum \(momentum) out of range") }
            let bn = BatchNorm2d(c, momentum: 1 - momentum, eps: eps)
            bn.weight.value = Tensor(gamma.floats, shape: [c])
            bn.bias.value = Tensor(beta.floats, shape: [c])
            bn.setBuffer("running_mean", Tensor(mean.floats, shape: [c]))
            bn.setBuffer("running_var", Tensor(variance.floats, shape: [c]))
            guard variance.floats.allSatisfy({ $0 >= 0 }) else { throw fail("'\(variance.name)' has negative variances") }
            try emit(.batchNorm(layer: ""), [x], shape: xs, layer: bn)

        case "Gemm", "MatMul":
            let (x, xs) = try dynamicInput(0)
            guard xs.count == 2 else { throw fail("input should be [N, features], is \(xs) (flatten it first)") }
            let isGemm = n.opType == "Gemm"
            if isGemm {
                guard try int("transA", 0) == 0 else { throw fail("transA 1 is not supported") }
            }
            let w = try weight(1, "B", rank: 2)
            let transB = isGemm ? try int("transB", 0) != 0 : false
            let (inF, outF) = transB ? (w.dims[1], w.dims[0]) : (w.dims[0], w.dims[1])
            guard inF == xs[1] else { throw fail("weight \(w.dims)\(transB ? " (transposed)" : "") takes \(inF) features, the input has \(xs[1])") }
            let alpha = isGemm ? try float("alpha", 1) : 1, beta = isGemm ? try float("beta", 1) : 1
            var wv = [Float](repeating: 0, count: inF * outF)   // [out, in]
            for o in 0..<outF { for i in 0..<inF { wv[o * inF + i] = alpha * (transB ? w.floats[o * inF + i] : w.floats[i * outF + o]) } }
            var bias = [Float](repeating: 0, count: outF)
            var output = n.outputs.first ?? ""
            if isGemm, let c = try constant(2) {
                guard c.isFloatingPoint, c.count == outF || c.count == 1 else { throw fail("C '\(c.name)' \(c.dims) does not broadcast to [N, \(outF)]") }
                _ = try weight(2, "C")
                bias = (0..<outF).map { beta * c.floats[c.count == 1 ? 0 : $0] }
            } else if isGemm, n.inputs.count > 2, !n.inputs[2].isEmpty {
                throw fail("C must be an initializer")
            } else if !isGemm, let (addIndex, add, c) = try biasAdd(following: output, order: order) {
                // MatMul followed by the Add of its bias: one linear layer.
                guard c.count == outF else { throw fail("the bias '\(c.name)' added by '\(add.name)' has \(c.count) elements, expected \(outF)") }
                bias = c.floats
                output = add.outputs[0]
                skipped.insert(addIndex)
            }
            var gen = SeededGenerator(seed: 0)
            let lin = Linear(inF, outF, generator: &gen)
            lin.weight.value = Tensor(wv, shape: [outF, inF])
            lin.bias.value = Tensor(bias, shape: [outF])
            try emit(.linear(layer: ""), [x], shape: [xs[0], outF], output: output, layer: lin)

        case "Identity" where shapes[n.inputs.first ?? ""] == nil && constants[n.inputs.first ?? ""] != nil:
            // An alias of a constant (exporters write shared initializers this way).
            guard let out = n.outputs.first, !out.isEmpty else { throw fail("no output") }
            constants[out] = constants[n.inputs[0]]

        case "Relu", "Sigmoid", "HardSwish", "Identity":
            let (x, xs) = try dynamicInput(0)
            let op: GraphOp = ["Relu": .relu, "Sigmoid": .sigmoid, "HardSwish": .hardSwish, "Identity": .identity][n.opType]!
            try emit(op, [x], shape: xs)

        case "Dropout":
            let (x, xs) = try dynamicInput(0)
            try singleOutput()
            try emit(.identity, [x], shape: xs)

        case "HardSigmoid":
            let (x, xs) = try dynamicInput(0)
            try emit(.hardSigmoid(alpha: try float("alpha", 0.2), beta: try float("beta", 0.5)), [x], shape: xs)

        case "Clip":
            let (x, xs) = try dynamicInput(0)
            var lo = -Float.infinity, hi = Float.infinity
            if opset < 11 {
                lo = try float("min", lo); hi = try float("max", hi)
            } else {
                for (i, name) in [(1, "min"), (2, "max")] where i < n.inputs.count && !n.inputs[i].isEmpty {
                    guard let t = try constant(i), t.count == 1, t.isFloatingPoint else { throw fail("\(name) must be a constant scalar") }
                    if i == 1 { lo = t.floats[0] } else { hi = t.floats[0] }
                }
            }
            let op: GraphOp = lo == 0 && hi == 6 ? .relu6 : (lo == 0 && hi == .infinity ? .relu : .clip(min: lo, max: hi))
            try emit(op, [x], shape: xs)

        case "Add", "Mul":
            let isAdd = n.opType == "Add"
            guard n.inputs.count == 2 else { throw fail("expects 2 inputs") }
            let dynamic = (0..<2).filter { shapes[n.inputs[$0]] != nil }
            if dynamic.count == 1, !isAdd, let c = try constant(1 - dynamic[0]), c.count == 1, c.isFloatingPoint {
                let (x, xs) = try dynamicInput(dynamic[0])
                try emit(.scale(c.floats[0]), [x], shape: xs)
                return
            }
            guard dynamic.count == 2 else {
                throw fail("one operand is a constant; only \(isAdd ? "Add of two computed values" : "Mul by a scalar constant or of two computed values") is supported")
            }
            let (a, sa) = try dynamicInput(0), (b, sb) = try dynamicInput(1)
            if isAdd {
                guard sa == sb else { throw fail("operand shapes \(sa) and \(sb) differ (broadcasting Add is not supported)") }
                try emit(.add, [a, b], shape: sa)
            } else {
                let big = sa.reduce(1, *) >= sb.reduce(1, *) ? sa : sb, small = big == sa ? sb : sa
                guard sa == sb || (big.count == 4 && small == [big[0], big[1], 1, 1]) else {
                    throw fail("operand shapes \(sa) and \(sb): only equal shapes or [N, C, H, W] · [N, C, 1, 1] are supported")
                }
                try emit(.mul, [a, b], shape: big)
            }

        case "MaxPool", "AveragePool":
            let (x, xs) = try dynamicInput(0)
            try singleOutput()
            guard xs.count == 4 else { throw fail("input should be [N, C, H, W], is \(xs)") }
            guard try int("ceil_mode", 0) == 0 else { throw fail("ceil_mode 1 is not supported") }
            let sp = try spatial(try ints("kernel_shape"), try ints("strides"), try ints("pads"), try ints("dilations"))
            guard sp.d == 1 else { throw fail("dilated pooling is not supported") }
            guard sp.pads.allSatisfy({ $0 == sp.pads[0] }), sp.pads[0] * 2 <= sp.k else {
                throw fail("pads \(sp.pads) are not supported (equal, at most half the kernel \(sp.k))")
            }
            let p = sp.pads[0]
            if n.opType == "AveragePool", p > 0, try int("count_include_pad", 0) == 0 {
                throw fail("padding with count_include_pad 0 is not supported (PyTorch's default count_include_pad=True is)")
            }
            guard xs[2] + 2 * p >= sp.k, xs[3] + 2 * p >= sp.k else { throw fail("a \(sp.k)×\(sp.k) window does not fit the \(xs[2])×\(xs[3]) input") }
            let shape = [xs[0], xs[1], (xs[2] + 2 * p - sp.k) / sp.s + 1, (xs[3] + 2 * p - sp.k) / sp.s + 1]
            try emit(n.opType == "MaxPool" ? .maxPool(kernel: sp.k, stride: sp.s, padding: p) : .avgPool(kernel: sp.k, stride: sp.s, padding: p),
                     [x], shape: shape)

        case "GlobalAveragePool":
            let (x, xs) = try dynamicInput(0)
            guard xs.count == 4 else { throw fail("input should be [N, C, H, W], is \(xs)") }
            try emit(.globalMean(keepDims: true), [x], shape: [xs[0], xs[1], 1, 1])

        case "ReduceMean":
            let (x, xs) = try dynamicInput(0)
            var axes = try ints("axes")
            if axes == nil, let t = try constant(1) { axes = t.ints.map(Int.init) }
            let keep = try int("keepdims", 1) != 0
            let normalized = Set((axes ?? []).map { $0 < 0 ? $0 + xs.count : $0 })
            guard xs.count == 4, normalized == [2, 3] else { throw fail("only the mean over H and W (axes [2, 3]) of [N, C, H, W] is supported, got axes \(axes ?? []) of \(xs)") }
            try emit(.globalMean(keepDims: keep), [x], shape: keep ? [xs[0], xs[1], 1, 1] : [xs[0], xs[1]])

        case "Flatten":
            let (x, xs) = try dynamicInput(0)
            var axis = Int(try int("axis", 1))
            if axis < 0 { axis += xs.count }
            guard axis >= 1, axis <= xs.count else { throw fail("axis \(axis) is not supported for input \(xs) (the batch must stay first)") }
            let lead = xs[..<axis].reduce(1, *)
            try emit(.flatten(axis: axis), [x], shape: [lead, xs.reduce(1, *) / lead])

        case "Reshape":
            let (x, xs) = try dynamicInput(0)
            guard let t = try constant(1), !t.isFloatingPoint, t.dims.count == 1 else { throw fail("the shape must be a constant 1-D int tensor") }
            var spec = t.ints
            guard spec.allSatisfy({ $0 >= -1 && $0 <= 1 << 31 }), spec.filter({ $0 == -1 }).count <= 1, !spec.isEmpty else {
                throw fail("shape \(spec) is not supported")
            }
            // An export traced with batch 1 may write the batch as 1: keep the batch dimension.
            if spec[0] == Int64(xs[0]) { spec[0] = 0 }
            guard spec[0] == 0 || spec[0] == -1 else { throw fail("shape \(t.ints) does not keep the batch dimension first") }
            let target = GraphStep.reshapeTarget(spec, input: xs)
            guard target.reduce(1, *) == xs.reduce(1, *), target.allSatisfy({ $0 >= 1 }) else {
                throw fail("cannot reshape \(xs) to \(t.ints)")
            }
            try emit(.reshape(spec), [x], shape: target)

        case "Pad":
            let (x, xs) = try dynamicInput(0)
            if case .string(let mode)? = n.attributes["mode"], mode != "constant" { throw fail("mode \(mode) is not supported (constant zero padding only)") }
            let pads: [Int]
            if opset < 11 { pads = try ints("pads") ?? [] } else {
                guard let t = try constant(1), !t.isFloatingPoint else { throw fail("pads must be a constant int tensor") }
                guard t.ints.allSatisfy({ $0 >= 0 && $0 <= 1 << 16 }) else { throw fail("pads \(t.ints) are not supported (0...65536)") }
                pads = t.ints.map(Int.init)
            }
            let value: Float = opset < 11 ? try float("value", 0) : (try constant(2)?.floats.first ?? 0)
            guard xs.count == 4, pads.count == 8, pads[0] == 0, pads[1] == 0, pads[4] == 0, pads[5] == 0, value == 0 else {
                throw fail("only zero padding of H and W of [N, C, H, W] is supported, got pads \(pads), value \(value)")
            }
            // ONNX order: [x1_begin…x4_begin, x1_end…x4_end] → top, left, bottom, right.
            let p = [pads[2], pads[3], pads[6], pads[7]]
            try emit(.pad(p), [x], shape: [xs[0], xs[1], xs[2] + p[0] + p[2], xs[3] + p[1] + p[3]])

        default:
            throw fail("op \(n.opType) is not supported; supported ops: \(supportedONNXOps.joined(separator: ", "))")
        }
    }

    /// Whether any node (or the graph output) reads `value`.
    private func isConsumed(_ value: String, order: [Int]) -> Bool {
        model.graph.outputs.contains { $0.name == value } || model.graph.nodes.contains { $0.inputs.contains(value) }
    }

    /// The `Add` that is the only reader of `value` and adds a constant to it: MatMul's bias.
    private func biasAdd(following value: String, order: [Int]) throws -> (Int, ONNXNode, ONNXTensor)? {
        let readers = model.graph.nodes.enumerated().filter { $0.element.inputs.contains(value) }
        guard readers.count == 1, !model.graph.outputs.contains(where: { $0.name == value }) else { return nil }
        let (k, add) = readers[0]
        guard add.opType == "Add", add.inputs.count == 2, !add.outputs.isEmpty else { return nil }
        let other = add.inputs[0] == value ? add.inputs[1] : add.inputs[0]
        guard let c = constants[other], c.isFloatingPoint else { return nil }
        return (k, add, c)
    }
}

/// PyTorch module paths recorded by `torch.onnx.export` in node names.
enum ModulePath {
    /// `/layer2/layer2.0/downsample/downsample.0/Conv` → `layer2.0.downsample.0`;
    /// `/layer1/layer1.0/Add` → `layer1.0`; `/Flatten` → `""`; names not starting with `/` → nil.
    ///
    /// Each scope is a module's name in its parent, except that a container's children are
    /// written `parent.child` (`layer1.0`, `downsample.0`); both forms compose to the dotted path.
    static func from(nodeName: String) -> String? {
        guard nodeName.hasPrefix("/") else { return nil }
        let scopes = nodeName.split(separator: "/", omittingEmptySubsequences: true).dropLast().map(String.init)
        var path: [String] = []
        var previous = ""
        for s in scopes {
            if !previous.isEmpty, s.hasPrefix(previous + ".") {
                path.append(contentsOf: s.dropFirst(previous.count + 1).split(separator: ".").map(String.init))
            } else {
                path.append(contentsOf: s.split(separator: ".").map(String.init))
            }
            previous = s
        }
        return path.joined(separator: ".")
    }
}
