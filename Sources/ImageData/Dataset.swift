import Foundation

/// Which part of a dataset to open.
public enum Split: String, Sendable, CaseIterable {
    case train
    case test
}

/// A labelled image dataset. Implementations are immutable and thread-safe:
/// `image(at:)` may be called from several loader threads at once.
public protocol Dataset: Sendable {
    /// A short human-readable name (a path or "fashion-mnist train").
    var name: String { get }
    /// Number of samples; valid indices are `0..<count`.
    var count: Int { get }
    /// Class names; label `l` names `classes[l]`.
    var classes: [String] { get }
    /// Channels of every decoded image (1 grey, 3 RGB).
    var channels: Int { get }
    /// The normalisation this kind of data uses by default.
    var defaultNormalization: Normalization { get }
    /// Decodes sample `index` (HWC UInt8). Throws `DataError` naming the file.
    func image(at index: Int) throws -> Image
    /// Label of sample `index`, in `0..<classes.count`. Cheap (in memory).
    func label(at index: Int) -> Int
    /// How sample `index` is written in a sample list: a path relative to
    /// the root for folders of files, the decimal index otherwise.
    func sampleKey(at index: Int) -> String
    /// The index a sample-list key names, or nil when there is none.
    func index(forSampleKey key: String) -> Int?
    /// Files left out because they did not decode (folders opened with `skipBadImages`),
    /// relative to the root, with the reason; empty for the others.
    var skippedFiles: [(path: String, reason: String)] { get }
}

extension Dataset {
    public var skippedFiles: [(path: String, reason: String)] { [] }

    /// `classes.count`.
    public var classCount: Int { classes.count }

    /// Whether samples carry labels (an ``UnlabelledFolder`` has no classes).
    public var isLabelled: Bool { !classes.isEmpty }

    /// All labels, in index order.
    public var labels: [Int] { (0..<count).map { label(at: $0) } }

    /// Sample indices grouped by label: `result[l]` lists the indices of class `l`, ascending.
    public func indicesByClass() -> [[Int]] {
        var groups = [[Int]](repeating: [], count: classCount)
        for i in 0..<count {
            let l = label(at: i)
            if l >= 0 && l < groups.count { groups[l].append(i) }
        }
        return groups
    }

    public func sampleKey(at index: Int) -> String { String(index) }

    public func index(forSampleKey key: String) -> Int? {
        guard let i = Int(key.trimmingCharacters(in: .whitespaces)), i >= 0, i < count else { return nil }
        return i
    }

    /// Throws `DataError.indexOutOfRange` unless `0 <= index < count`.
    public func checkIndex(_ index: Int) throws {
        guard index >= 0 && index < count else {
            throw DataError.indexOutOfRange(index: index, count: count, dataset: name)
        }
    }
}
