/// Finds the state dict inside an unpickled `.pth` object.
///
/// Accepted shapes of the top-level object:
/// - a state dict: (Ordered)dict of name → tensor;
/// - a dict wrapping one under `"state_dict"` or `"model"` (checked in that
///   order); the wrapper's other scalar entries (`epoch`, `arch`, ...)
///   become metadata, and an `rm_blocks` list of strings is surfaced.
///
/// A `module.` prefix (from `nn.DataParallel`) is stripped from names.
struct ExtractedCheckpoint {
    var tensors: [(name: String, tensor: TensorRef)] = []
    var metadata: [String: String] = [:]
    var rmBlocks: [String]?
}

enum StateDictExtraction {
    static let wrapperKeys = ["state_dict", "model"]
    static let modulePrefix = "module."

    static func extract(_ root: PickleValue) throws -> ExtractedCheckpoint {
        guard case .dict(let top) = root else {
            throw fail("top-level object is a \(root.kind), expected a state dict (a dict of tensors)")
        }
        var result = ExtractedCheckpoint()
        var stateDict = top
        if let key = wrapperKeys.first(where: { if case .dict = top[$0] { return true } else { return false } }),
           case .dict(let inner) = top[key] {
            stateDict = inner
            try readWrapper(top, skipping: key, into: &result)
        }
        var seen: [String: String] = [:]
        for (key, value) in zip(stateDict.keys, stateDict.values) {
            guard case .string(let original) = key else {
                throw fail("state dict key of type \(key.kind) is not a string")
            }
            guard case .tensor(let tensor) = value else {
                throw fail("entry '\(original)' is a \(value.kind), not a tensor; expected a state dict or a dict holding one under 'state_dict' or 'model'")
            }
            let name = original.hasPrefix(modulePrefix) ? String(original.dropFirst(modulePrefix.count)) : original
            if let other = seen[name] {
                throw fail("entries '\(other)' and '\(original)' both become '\(name)' after removing the '\(modulePrefix)' prefix")
            }
            seen[name] = original
            result.tensors.append((name, tensor))
        }
        return result
    }

    /// Collects `rm_blocks` and scalar metadata from a wrapper dict.
    private static func readWrapper(_ top: PickleDict, skipping stateKey: String, into result: inout ExtractedCheckpoint) throws {
        for (key, value) in zip(top.keys, top.values) {
            guard case .string(let name) = key, name != stateKey else { continue }
            if name == "rm_blocks" {
                result.rmBlocks = try stringList(value)
                continue
            }
            switch value {
            case .string(let s): result.metadata[name] = s
            case .int(let i): result.metadata[name] = String(i)
            case .float(let d): result.metadata[name] = String(d)
            case .bool(let b): result.metadata[name] = b ? "true" : "false"
            default: continue
            }
        }
    }

    private static func stringList(_ value: PickleValue) throws -> [String] {
        let items: [PickleValue]
        switch value {
        case .list(let l), .tuple(let l), .set(let l): items = l.items
        case .none: return []
        default: throw fail("'rm_blocks' is a \(value.kind), expected a list of strings")
        }
        return try items.map { item in
            guard case .string(let s) = item else {
                throw fail("'rm_blocks' contains a \(item.kind), expected only strings")
            }
            return s
        }
    }
}
