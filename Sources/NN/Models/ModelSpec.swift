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

    /// Input channels a network may take.
    public static let inChannelsRange = 1...1024
    /// Classes a network may have.
    public static let numClassesRange = 1...100_000
    /// Sides of the square input a network is built, measured or exported for.
    public static let inputSideRange = 8...1024

    /// ``build(seed:)`` that throws a ``ModelSpecError`` naming a bad channel or class count,
    /// dropped block, inner width or site.
    public func buildChecked(seed: UInt64 = 0) throws -> ClassifierModel {
        let model = try makeBase(seed: seed)
        try apply(to: model, seed: seed)
        return model
    }

    /// The base architecture with this spec's channels and classes, nothing dropped or resized
    /// (what a file's metadata is checked against before ``apply(to:seed:)``).
    public func makeBase(seed: UInt64 = 0) throws -> ClassifierModel {
        guard Self.inChannelsRange.contains(inChannels) else {
            throw ModelSpecError("in_channels must be in \(Self.inChannelsRange.lowerBound)...\(Self.inChannelsRange.upperBound), got \(inChannels)")
        }
        guard Self.numClassesRange.contains(numClasses) else {
            throw ModelSpecError("num_classes must be in \(Self.numClassesRange.lowerBound)...\(Self.numClassesRange.upperBound), got \(numClasses)")
        }
        return architecture.make(inChannels: inChannels, numClasses: numClasses, seed: seed)
    }

    /// Drops `droppedBlocks` from `base` (made by ``makeBase(seed:)``) and applies `innerWidths`.
    /// Throws for a block that is not a droppable block of the architecture.
    public func apply(to base: ClassifierModel, seed: UInt64 = 0) throws {
        let droppable = base.droppableBlockPaths
        for path in droppedBlocks where !droppable.contains(path) {
            throw ModelSpecError("'\(path)' is not a droppable block of \(architecture.rawValue) (droppable: \(droppable.joined(separator: ", ")))")
        }
        for path in droppedBlocks { base.replace(at: path, with: Identity()) }
        if !innerWidths.isEmpty { try base.resizeInnerChannels(innerWidths, seed: seed &+ 1) }
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
