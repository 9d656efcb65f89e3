import Engine
import Foundation
import NN

/// Every candidate's latency reduction (percent of the whole network) with its 95% interval,
/// and where the figures came from.
public struct BlockLatencies: Sendable, Codable, Equatable {
    public var reductions: [String: LatencyInterval]
    public var origin: LatencyOrigin
    /// The widest relative half-width among the intervals (0.04: ±4%).
    public var spread: Double

    public init(reductions: [String: LatencyInterval], origin: LatencyOrigin) {
        self.reductions = reductions; self.origin = origin
        spread = reductions.values.map(\.relativeHalfWidth).max() ?? 0
    }

    /// Whether the spread stayed above ``LatencyMeter/noiseBound`` (the measurement budget was
    /// not enough to pin the figures down).
    public var noisy: Bool { spread > LatencyMeter.noiseBound }
}

/// Something that knows what dropping each candidate saves: a measurement on this machine or a
/// latency table from the deployment machine. Ask it for any subset of the candidates (one
/// shard's): each block's figure does not depend on which others are asked for.
public protocol LatencySource {
    /// What ``LatencyOrigin/source`` its figures carry (`measured here`, `table FILE`).
    var sourceLabel: String { get }
    func blockLatencies(for candidates: [BlockCandidate]) throws -> BlockLatencies
    /// Whether figures saved with `origin` are what this source gives now.
    func reuses(_ origin: LatencyOrigin) -> Bool
}

extension LatencySource {
    public func reuses(_ origin: LatencyOrigin) -> Bool { origin.source == sourceLabel }
}

extension LatencyInterval {
    /// Whether this can be a block's latency reduction in percent: finite, in 0...100, and
    /// an interval around its value.
    public var isPlausibleReduction: Bool {
        [value, low, high].allSatisfy(\.isFinite) && (0...100).contains(value) && low <= value && value <= high
    }
}

/// Times each distinct candidate shape on this machine (``LatencyMeter/candidateReductions(model:candidates:imageShape:batch:)``).
public struct MeasuredLatencySource: LatencySource {
    public var meter: LatencyMeter
    public let model: ClassifierModel
    /// `[C, H, W]`.
    public var imageShape: [Int]
    public var batch: Int

    public init(meter: LatencyMeter, model: ClassifierModel, imageShape: [Int], batch: Int) {
        self.meter = meter; self.model = model; self.imageShape = imageShape; self.batch = batch
    }

    public var sourceLabel: String { LatencyOrigin.here(threads: 1, batch: 1).source }

    /// Measured here at this batch and thread count, on this CPU and engine.
    public func reuses(_ origin: LatencyOrigin) -> Bool {
        origin == LatencyOrigin.here(threads: meter.threads ?? Threads.count, batch: batch)
    }

    public func blockLatencies(for candidates: [BlockCandidate]) throws -> BlockLatencies {
        let m = meter.candidateReductions(model: model, candidates: candidates, imageShape: imageShape, batch: batch)
        return BlockLatencies(reductions: m.reductions, origin: .here(threads: m.whole.threads, batch: batch))
    }
}

/// Reads the figures from a ``LatencyTable``.
public struct TableLatencySource: LatencySource, Sendable {
    public var table: LatencyTable
    /// The table's file, as the report names it.
    public var path: String
    /// The architecture the candidates belong to (the table must be for it).
    public var model: String

    public init(table: LatencyTable, path: String, model: String) { self.table = table; self.path = path; self.model = model }

    public var sourceLabel: String { table.origin(path: path).source }

    public func blockLatencies(for candidates: [BlockCandidate]) throws -> BlockLatencies {
        BlockLatencies(reductions: try table.reductions(for: candidates, model: model, path: path), origin: table.origin(path: path))
    }
}
