import Engine

/// Why a state dict does not fit a model: every problem at once, so one run shows them all.
public struct StateDictMismatch: Error, CustomStringConvertible, Sendable {
    public var missing: [String] = []
    public var unexpected: [String] = []
    /// (key, expected shape, found shape)
    public var shapeMismatches: [(String, [Int], [Int])] = []

    public var isEmpty: Bool { missing.isEmpty && unexpected.isEmpty && shapeMismatches.isEmpty }

    public var description: String {
        var lines = ["weights do not fit the architecture:"]
        if !missing.isEmpty { lines.append("  missing keys (\(missing.count)): " + missing.joined(separator: ", ")) }
        if !unexpected.isEmpty { lines.append("  unexpected keys (\(unexpected.count)): " + unexpected.joined(separator: ", ")) }
        for (k, e, f) in shapeMismatches { lines.append("  shape mismatch for \(k): expected \(e), found \(f)") }
        return lines.joined(separator: "\n")
    }
}

extension Module {
    /// Copies `tensors` (keyed like `state_dict`) into the parameters and buffers.
    ///
    /// Strict by default: any missing key, unexpected key or shape mismatch throws one
    /// ``StateDictMismatch`` listing all of them, and nothing is modified. `num_batches_tracked`
    /// may be absent. Values are copied, so the source can be released afterwards.
    public func load(stateDict tensors: [String: Tensor], strict: Bool = true) throws {
        var problems = StateDictMismatch()
        let own = stateDict()
        var ownKeys = Set<String>()
        for (key, target) in own {
            ownKeys.insert(key)
            guard let source = tensors[key] else {
                if !key.hasSuffix("num_batches_tracked") { problems.missing.append(key) }
                continue
            }
            // A scalar buffer may arrive as [] or [1].
            if source.shape != target.shape && !(source.count == 1 && target.count == 1) {
                problems.shapeMismatches.append((key, target.shape, source.shape))
            }
        }
        problems.unexpected = tensors.keys.filter { !ownKeys.contains($0) }.sorted()
        if strict && !problems.isEmpty { throw problems }
        if !strict && !problems.shapeMismatches.isEmpty { throw problems }
        for (key, target) in own {
            guard let source = tensors[key] else { continue }
            target.pointer.update(from: source.pointer, count: target.count)
            target.storage.markModified()
        }
    }
}
