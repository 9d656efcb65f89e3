import Foundation
import ImageData
import NN

/// A `practise.*` metadata value of a weights file that cannot be used.
public struct MetadataError: Error, CustomStringConvertible, Sendable {
    /// The weights file.
    public var file: String
    /// The metadata key (``MetadataKey``).
    public var key: String
    /// What a valid value is.
    public var expected: String
    /// The value found (shortened to 80 characters).
    public var found: String

    public init(file: String, key: String, expected: String, found: String) {
        self.file = file; self.key = key; self.expected = expected
        self.found = found.count > 80 ? String(found.prefix(77)) + "..." : found
    }

    public var description: String { "\(file): metadata \(key) must be \(expected); found \(found.isEmpty ? "nothing" : "'\(found)'")" }
}

/// What a weights file's metadata says about its model, as typed values: the one place where
/// `practise.*` metadata is read. ``init(parsing:file:)`` checks each value on its own (numbers,
/// ranges, lists, JSON); ``check(against:spec:)`` checks what needs the network (blocks that
/// exist and may be dropped, inner-channel sites and widths, normalisation per input channel).
/// Keys this tool does not write are ignored.
public struct WeightsMetadata: Sendable {
    /// The weights file the metadata was read from (named by every error).
    public var file: String
    /// The metadata as stored (every key, as text).
    public var raw: [String: String]
    public var architecture: Architecture?
    public var inChannels: Int?
    public var numClasses: Int?
    /// Side of the square input the model was trained or compressed at.
    public var imageSize: Int?
    /// Blocks dropped from the base architecture (empty: none).
    public var droppedBlocks: [String] = []
    /// Normalisation recorded at training/compression time.
    public var normalization: Normalization?
    /// Filter-pruned models: inner-channel site (conv path) → channels kept.
    public var innerWidths: [String: Int] = [:]
    /// Filter-pruned models: inner-channel site → the teacher's filter indices kept.
    public var keptChannels: [String: [Int]] = [:]

    /// Parses and checks every `practise.*` key of `raw`; throws a ``MetadataError`` naming
    /// `file`, the key, what was expected and what was found.
    public init(parsing raw: [String: String], file: String) throws {
        self.file = file
        self.raw = raw
        func fail(_ key: String, _ expected: String) -> MetadataError {
            MetadataError(file: file, key: key, expected: expected, found: raw[key] ?? "")
        }
        if let text = raw[MetadataKey.architecture] {
            guard let a = Architecture(rawValue: text) else {
                throw fail(MetadataKey.architecture, "one of \(Architecture.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            architecture = a
        }
        func count(_ key: String, _ valid: ClosedRange<Int>) throws -> Int? {
            guard let text = raw[key] else { return nil }
            guard let n = Int(text.trimmingCharacters(in: .whitespaces)), valid.contains(n) else {
                throw fail(key, "an integer in \(valid.lowerBound)...\(valid.upperBound)")
            }
            return n
        }
        inChannels = try count(MetadataKey.inChannels, ModelSpec.inChannelsRange)
        numClasses = try count(MetadataKey.numClasses, ModelSpec.numClassesRange)
        imageSize = try count(MetadataKey.imageSize, ModelSpec.inputSideRange)

        if let text = raw[MetadataKey.droppedBlocks], !text.isEmpty {
            let blocks = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard !blocks.contains(where: \.isEmpty), Set(blocks).count == blocks.count else {
                throw fail(MetadataKey.droppedBlocks, "distinct block paths, comma-separated (e.g. layer1.1,layer2.1)")
            }
            droppedBlocks = blocks
        }

        switch (raw[MetadataKey.mean], raw[MetadataKey.std]) {
        case (nil, nil): break
        case (nil, _): throw fail(MetadataKey.mean, "given with \(MetadataKey.std) (one value per channel)")
        case (_, nil): throw fail(MetadataKey.std, "given with \(MetadataKey.mean) (one value per channel)")
        case let (m?, s?):
            func numbers(_ key: String, _ text: String) throws -> [Float] {
                let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { Float($0.trimmingCharacters(in: .whitespaces)) }
                guard !parts.isEmpty, !parts.contains(nil) else { throw fail(key, "comma-separated numbers, one per channel") }
                return parts.map { $0! }
            }
            let mean = try numbers(MetadataKey.mean, m), std = try numbers(MetadataKey.std, s)
            guard mean.allSatisfy(\.isFinite) else { throw fail(MetadataKey.mean, "finite numbers") }
            guard std.allSatisfy({ $0.isFinite && $0 >= Normalization.minStd }) else {
                throw fail(MetadataKey.std, "finite numbers of at least \(Normalization.minStd)")
            }
            guard std.count == mean.count else {
                throw fail(MetadataKey.std, "as many values as \(MetadataKey.mean) (\(mean.count))")
            }
            normalization = try Normalization(checkedMean: mean, std: std)
        }

        func json<T: Decodable>(_ key: String, _ type: T.Type, _ expected: String) throws -> T? {
            guard let text = raw[key], !text.isEmpty else { return nil }
            guard let value = try? JSONDecoder().decode(T.self, from: Data(text.utf8)) else { throw fail(key, expected) }
            return value
        }
        innerWidths = try json(MetadataKey.innerWidths, [String: Int].self,
                               "a JSON object of inner-channel site → width, e.g. {\"layer1.0.conv1\":9}") ?? [:]
        keptChannels = try json(MetadataKey.keptChannels, [String: [Int]].self,
                                "a JSON object of inner-channel site → kept filter indices, e.g. {\"layer1.0.conv1\":[0,3,5]}") ?? [:]
    }

    /// Checks the values that need the network: `base` is the architecture built with `spec`'s
    /// channels and classes, before anything is dropped or resized.
    public func check(against base: ClassifierModel, spec: ModelSpec) throws {
        func fail(_ key: String, _ expected: String, _ found: String? = nil) -> MetadataError {
            MetadataError(file: file, key: key, expected: expected, found: found ?? raw[key] ?? "")
        }
        let droppable = base.droppableBlockPaths
        if let bad = droppedBlocks.first(where: { !droppable.contains($0) }) {
            throw fail(MetadataKey.droppedBlocks, "droppable blocks of \(spec.architecture.rawValue) (\(droppable.joined(separator: ", ")))", bad)
        }
        if let n = normalization, n.mean.count != 1, n.mean.count != spec.inChannels {
            let counts = spec.inChannels == 1 ? "1 value" : "1 or \(spec.inChannels) values"
            throw fail(MetadataKey.mean, "\(counts) (the model takes \(spec.inChannels)-channel images)")
        }
        let sites = Dictionary(uniqueKeysWithValues: base.innerChannelSites.map { ($0.conv, $0.channels) })
        let siteList = "inner-channel sites of \(spec.architecture.rawValue) (e.g. \(base.innerChannelSites.prefix(3).map(\.conv).joined(separator: ", ")))"
        for (site, width) in innerWidths.sorted(by: { $0.key < $1.key }) {
            guard let full = sites[site] else { throw fail(MetadataKey.innerWidths, siteList, site) }
            guard (1...full).contains(width) else {
                throw fail(MetadataKey.innerWidths, "a width in 1...\(full) for \(site)", "\(site): \(width)")
            }
        }
        for (site, kept) in keptChannels.sorted(by: { $0.key < $1.key }) {
            guard let full = sites[site] else { throw fail(MetadataKey.keptChannels, siteList, site) }
            let width = innerWidths[site] ?? full
            let shown = "\(site): \(kept.count) indices \(kept.prefix(8).map(String.init).joined(separator: ","))\(kept.count > 8 ? ",..." : "")"
            guard kept.count == width, Set(kept).count == kept.count, kept.allSatisfy({ (0..<full).contains($0) }) else {
                throw fail(MetadataKey.keptChannels, "\(width) distinct filter indices in 0..<\(full) for \(site) (its width in \(MetadataKey.innerWidths))", shown)
            }
        }
    }
}
