import Engine

/// Everything needed to rebuild a network before loading its weights: base architecture, input
/// channels, class count and the blocks dropped from it. A compressed model is its base
/// architecture with `droppedBlocks` replaced by ``Identity`` (remaining blocks keep their names).
public struct ModelSpec: Codable, Sendable, Equatable {
    public var architecture: Architecture
    public var inChannels: Int
    public var numClasses: Int
    public var droppedBlocks: [String]

    public init(architecture: Architecture, inChannels: Int? = nil, numClasses: Int? = nil, droppedBlocks: [String] = []) {
        self.architecture = architecture
        self.inChannels = inChannels ?? architecture.defaultInChannels
        self.numClasses = numClasses ?? architecture.defaultNumClasses
        self.droppedBlocks = droppedBlocks
    }

    /// Builds the network with seeded initialisation and the dropped blocks removed.
    public func build(seed: UInt64 = 0) -> ClassifierModel {
        let model = architecture.make(inChannels: inChannels, numClasses: numClasses, seed: seed)
        for path in droppedBlocks { model.replace(at: path, with: Identity()) }
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
