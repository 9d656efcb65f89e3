import Engine

/// Everything needed to rebuild a network before loading its weights: base architecture, input
/// channels, class count and the blocks dropped from it. A compressed model is its base
/// architecture with `droppedBlocks` replaced by ``Identity`` (remaining blocks keep their names).
/// A filter-pruned model also has `innerWidths`: the number of channels kept at each inner-channel
/// site (``InnerChannelSite``, named by its conv's path, e.g. `layer1.0.conv1` → 9).
public struct ModelSpec: Codable, Sendable, Equatable {
    public var architecture: Architecture
    public var inChannels: Int
    public var numClasses: Int
    public var droppedBlocks: [String]
    public var innerWidths: [String: Int] = [:]

    public init(architecture: Architecture, inChannels: Int? = nil, numClasses: Int? = nil, droppedBlocks: [String] = [],
                innerWidths: [String: Int] = [:]) {
        self.architecture = architecture
        self.inChannels = inChannels ?? architecture.defaultInChannels
        self.numClasses = numClasses ?? architecture.defaultNumClasses
        self.droppedBlocks = droppedBlocks
        self.innerWidths = innerWidths
    }

    /// Builds the network with seeded initialisation, the dropped blocks removed and the inner
    /// widths applied. `innerWidths` must be valid here (a spec made by the tool); use
    /// ``buildChecked(seed:)`` for widths read from a file.
    public func build(seed: UInt64 = 0) -> ClassifierModel {
        do { return try buildChecked(seed: seed) } catch { preconditionFailure("\(error)") }
    }

    /// ``build(seed:)`` that throws a ``ModelSpecError`` naming a bad inner width or site.
    public func buildChecked(seed: UInt64 = 0) throws -> ClassifierModel {
        let model = architecture.make(inChannels: inChannels, numClasses: numClasses, seed: seed)
        for path in droppedBlocks { model.replace(at: path, with: Identity()) }
        if !innerWidths.isEmpty { try model.resizeInnerChannels(innerWidths, seed: seed &+ 1) }
        return model
    }

    /// The same spec with more blocks dropped.
    public func dropping(_ blocks: [String]) -> ModelSpec {
        var s = self
        s.droppedBlocks = sortedBlockPaths(droppedBlocks + blocks)
        return s
    }
}

/// Block paths in network order (`layer1.9` before `layer1.10`, `features.3` before `features.12`).
public func sortedBlockPaths(_ paths: [String]) -> [String] {
    func key(_ p: String) -> [Int] { p.split(separator: ".").map { Int($0.filter(\.isNumber)) ?? 0 } }
    return Array(Set(paths)).sorted { key($0).lexicographicallyPrecedes(key($1)) }
}

extension Module {
    /// A deep copy of the parameters and buffers of `self` loaded into `other`, which must have
    /// the same keys (blocks replaced by ``Identity`` in `other` are skipped).
    public func copyWeights(into other: Module) {
        var dict: [String: Tensor] = [:]
        for (k, t) in stateDict() { dict[k] = t }
        let wanted = Set(other.stateDict().map(\.key))
        try! other.load(stateDict: dict.filter { wanted.contains($0.key) })
    }
}
