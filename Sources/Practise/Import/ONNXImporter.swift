import Engine
import NN
import ONNX

/// Turns an ONNX CNN into a ``GraphNetwork``, the description the zoo's networks have too.
///
/// 1. The nodes become engine steps with shapes checked (``GraphConversion``).
/// 2. The **features** are the input of the last global pooling; what computes them is the body,
///    the rest (pooling, flatten, classifier) the head.
/// 3. The body is cut wherever the network's whole state is one value (every later node reads
///    only that value); the pieces between cuts are grouped into **units** by the PyTorch module
///    path that the exporter records in node names (all pieces of `layer1.0` form one unit), or,
///    without module paths, each piece is a unit.
/// 4. A unit is **residual** when it contains an Add of two computed values, with an **identity
///    skip** when one Add operand is the unit's own input. Blocks run from the first residual
///    unit to the last (with module paths: from the first to the last unit that is a sibling of
///    a residual one, so MobileNet-style blocks without a skip are blocks too); units before are
///    the stem, after the tail.
/// 5. Stages are runs of blocks with the same output shape, as for the zoo.
public enum ONNXImporter {
    /// Reads and imports the model at `path`; `imageSize` overrides the input's height and width.
    public static func load(path: String, imageSize: (h: Int, w: Int)? = nil) throws -> GraphNetwork {
        let model = try ONNXReader.read(path: path)
        return try naming(path) { try build(model, imageSize: imageSize) }
    }

    /// `body`'s errors about the graph (unsupported, or inconsistent as the reader finds when
    /// ordering its nodes) prefixed with the file they concern.
    static func naming<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as ONNXImportError {
            throw ONNXImportError("\(path): \(e.description)")
        } catch let e as ONNXReadError {
            throw ONNXImportError("\(path): \(e.description)")
        }
    }

    struct Unit {
        var path: String?
        var pieces: [Range<Int>]
        var input: String, output: String
        var steps: Range<Int> { pieces.first!.lowerBound..<pieces.last!.upperBound }
    }

    public static func build(_ model: ONNXModel, imageSize: (h: Int, w: Int)? = nil) throws -> GraphNetwork {
        let conv = try GraphConversion(model, imageSize: imageSize)
        let steps = conv.steps
        guard let poolIndex = steps.lastIndex(where: { $0.op.isGlobalPool }) else {
            throw ONNXImportError("no global pooling (GlobalAveragePool or ReduceMean over H, W) found: the features before it are what PRACTISE mimics")
        }
        let features = steps[poolIndex].inputs[0]
        let outShape = conv.shapes[conv.outputName]!
        guard outShape.count == 2 else { throw ONNXImportError("the output '\(conv.outputName)' has shape \(outShape); logits [N, classes] expected") }

        // Body: the steps the features depend on; everything else must come after and read only
        // the features and head values.
        var needed = Set([features])
        var body = Set<Int>()
        for i in steps.indices.reversed() where needed.contains(steps[i].output) {
            body.insert(i)
            for v in steps[i].inputs { needed.insert(v) }
        }
        let bodySteps = steps.indices.filter { body.contains($0) }
        let headSteps = steps.indices.filter { !body.contains($0) }
        var headValues: Set<String> = [features]
        for i in headSteps {
            for v in steps[i].inputs where !headValues.contains(v) {
                throw ONNXImportError("node '\(steps[i].nodeName)' (\(steps[i].opType)) after the features reads '\(v)', computed before them; the head must depend on the features '\(features)' only")
            }
            headValues.insert(steps[i].output)
        }
        guard headValues.contains(conv.outputName) else { throw ONNXImportError("the output '\(conv.outputName)' does not depend on the features '\(features)'") }
        guard bodySteps == Array(0..<bodySteps.count) else {
            throw ONNXImportError("the graph interleaves the features' computation with the head's; not supported")
        }

        // Cuts: after step i the only live value is its output.
        var lastUse: [String: Int] = [features: Int.max]
        for i in bodySteps { for v in steps[i].inputs { lastUse[v] = max(lastUse[v] ?? -1, i) } }
        var pieces: [(range: Range<Int>, input: String, output: String)] = []
        var live: Set<String> = [conv.inputName]
        var start = 0, pieceInput = conv.inputName
        for i in bodySteps {
            for v in steps[i].inputs where (lastUse[v] ?? -1) <= i { live.remove(v) }
            if (lastUse[steps[i].output] ?? -1) > i { live.insert(steps[i].output) }
            if live == [steps[i].output] {
                pieces.append((start..<(i + 1), pieceInput, steps[i].output))
                start = i + 1
                pieceInput = steps[i].output
            }
        }
        guard pieces.last?.output == features else { throw ONNXImportError("internal: the body does not end at the features '\(features)'") }

        func isResidual(_ r: Range<Int>) -> Bool { r.contains { steps[$0].op == .add } }
        func commonPath(_ r: Range<Int>) -> String? {
            let paths = r.compactMap { steps[$0].modulePath }.filter { !$0.isEmpty }.map { $0.split(separator: ".").map(String.init) }
            guard var common = paths.first else { return nil }
            for p in paths.dropFirst() { common = Array(zip(common, p).prefix { $0 == $1 }.map(\.0)) }
            return common.isEmpty ? nil : common.joined(separator: ".")
        }

        // Units: with module paths, pieces under one child of a residual unit's parent merge.
        let residualPaths = pieces.filter { isResidual($0.range) }.compactMap { commonPath($0.range) }
        let parents = Set(residualPaths.map { parent($0) })
        func unitKey(_ r: Range<Int>) -> String? {
            guard let p = commonPath(r) else { return nil }
            let parts = p.split(separator: ".").map(String.init)
            for depth in stride(from: parts.count - 1, through: 0, by: -1) where parents.contains(parts[..<depth].joined(separator: ".")) {
                return parts[...depth].joined(separator: ".")
            }
            return nil
        }
        var units: [Unit] = []
        for p in pieces {
            let key = unitKey(p.range)
            if let key, let last = units.last, last.path == key {
                units[units.count - 1].pieces.append(p.range)
                units[units.count - 1].output = p.output
            } else {
                units.append(Unit(path: key, pieces: [p.range], input: p.input, output: p.output))
            }
        }
        let residual = units.indices.filter { units[$0].pieces.contains(where: isResidual) }
        guard let firstResidual = residual.first, let lastResidual = residual.last else {
            throw ONNXImportError("no residual block (an Add of a block's input and a branch computed from it) found: nothing to drop")
        }
        var first = firstResidual, last = lastResidual
        if let p = units[firstResidual].path {
            while first > 0, let q = units[first - 1].path, parent(q) == parent(p) { first -= 1 }
        }
        if let p = units[lastResidual].path {
            while last + 1 < units.count, let q = units[last + 1].path, parent(q) == parent(p) { last += 1 }
        }

        // Layers: blocks own theirs (relative paths); stem, tail and head layers hang off the root.
        var rootPaths = Set<String>()
        func sanitized(_ s: String) -> String {
            let t = String(s.map { $0 == "." || $0 == "/" || $0 == ":" ? "_" : $0 }.drop { $0 == "_" })
            return t.isEmpty ? "node" : t
        }
        func layerPath(_ i: Int, under prefix: String?, taken: inout Set<String>) -> String {
            var base: String
            if let m = steps[i].modulePath, !m.isEmpty, prefix == nil || m.hasPrefix(prefix! + ".") {
                base = prefix.map { String(m.dropFirst($0.count + 1)) } ?? m
            } else {
                base = sanitized(steps[i].nodeName)
            }
            var candidate = base, k = 1
            while taken.contains(candidate) || taken.contains(where: { $0.hasPrefix(candidate + ".") || candidate.hasPrefix($0 + ".") }) {
                candidate = "\(base)_\(k)"; k += 1
            }
            taken.insert(candidate)
            return candidate
        }
        func rootPiece(_ range: Range<Int>, input: String, output: String, paths: inout Set<String>, prefix: String? = nil) -> NetworkPiece {
            var lp: [Int: String] = [:]
            var layers: [(path: String, layer: Module)] = []
            for i in range where conv.layers[i] != nil {
                let p = layerPath(i, under: nil, taken: &paths)
                let full = prefix.map { "\($0).\(p)" } ?? p
                lp[i - range.lowerBound] = full
                layers.append((full, conv.layers[i]!))
            }
            return NetworkPiece(program: StepProgram(steps: Array(steps[range]), layerPaths: lp, input: input, output: output), layers: layers)
        }
        let stemRange = 0..<units[first].steps.lowerBound
        let stem = rootPiece(stemRange, input: conv.inputName, output: units[first].input, paths: &rootPaths)
        let tailRange = units[last].steps.upperBound..<bodySteps.count
        let tail = rootPiece(tailRange, input: units[last].output, output: features, paths: &rootPaths)

        // Blocks.
        var blocks: [(path: String, block: GraphBlock)] = []
        var stages: [[String]] = []
        var lastShape: [Int]?
        var blockPaths = Set<String>()
        for u in units[first...last] {
            let r = u.steps
            let lastAdd = r.last { steps[$0].op == .add }
            var path = u.path ?? sanitized(steps[lastAdd ?? r.last!].nodeName)
            if blockPaths.contains(path) || rootPaths.contains(path) { path = "\(path)_\(blocks.count)" }
            blockPaths.insert(path)
            var taken = Set<String>()
            var lp: [Int: String] = [:]
            var layerOfStep: [Int: String] = [:]
            for i in r where conv.layers[i] != nil {
                let p = layerPath(i, under: u.path, taken: &taken)
                lp[i - r.lowerBound] = p
                layerOfStep[i] = p
            }
            let program = StepProgram(steps: Array(steps[r]), layerPaths: lp, input: u.input, output: u.output)
            let block = try graphing { try GraphBlock(program: program, layers: r.filter { conv.layers[$0] != nil }.map { (layerOfStep[$0]!, conv.layers[$0]!) }) }
            blocks.append((path, block))
            // Stages: runs of blocks with the same output shape.
            let shape = conv.shapes[u.output]!
            if shape == lastShape { stages[stages.count - 1].append(path) } else { stages.append([path]) }
            lastShape = shape
        }

        // Head: layers under one prefix (frozen as a whole during MiR).
        var headPaths = rootPaths.union(blockPaths)
        let headRange = bodySteps.count..<steps.count
        let provisional = headRange.filter { conv.layers[$0] != nil }.map { i in
            (steps[i].modulePath.flatMap { $0.isEmpty ? nil : $0 } ?? sanitized(steps[i].nodeName)).split(separator: ".").first.map(String.init) ?? ""
        }
        let shared = provisional.first.flatMap { f in !f.isEmpty && provisional.allSatisfy({ $0 == f }) && !headPaths.contains(f) ? f : nil }
        let head = rootPiece(headRange, input: features, output: conv.outputName, paths: &headPaths, prefix: shared == nil ? "head" : nil)
        let headPrefix = shared ?? "head"

        return try graphing { try GraphNetwork(name: model.graph.name, stem: stem, blocks: blocks, stages: stages, tail: tail, head: head,
                                headPrefix: headPrefix, inputName: conv.inputName, outputName: conv.outputName,
                                fixedImageShape: Array(conv.inputShape.dropFirst()), numClasses: outShape[1], sourceOpset: model.opsetVersion) }
    }

    /// A failure to assemble the network, as an import error.
    private static func graphing<T>(_ make: () throws -> T) throws -> T {
        do { return try make() } catch let e as GraphError { throw ONNXImportError(e.description) }
    }

    private static func parent(_ path: String) -> String {
        guard let dot = path.lastIndex(of: ".") else { return "" }
        return String(path[..<dot])
    }
}

/// Internals exposed for tests.
public enum ONNXImporterTesting {
    /// The PyTorch module path in a node name (see ``ModulePath``).
    public static func modulePath(_ nodeName: String) -> String? { ModulePath.from(nodeName: nodeName) }
}
