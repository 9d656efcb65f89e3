import Foundation

/// Latency of a model's candidate blocks on a deployment machine: what `practise latency-table`
/// writes, and what `analyze`/`compress --latency-table` select by instead of measuring here.
/// Any runtime can produce it (`Scripts/latency-table-onnxruntime.py`); README, "Latency tables".
///
/// ```json
/// {"format": "practise-latency-table/1", "model": "resnet20", "image_shape": [1, 28, 28],
///  "batch": 64, "threads": 2, "cpu": "AMD EPYC", "engine": "practise 0.1.0 (avx512)",
///  "whole_model_ms": 24.1,
///  "blocks": [{"block": "layer1.1", "latency_reduction": 5.2, "low": 4.9, "high": 5.5}, …]}
/// ```
/// `latency_reduction` is the percentage of the whole model's latency removed by dropping that
/// block alone; `low`/`high` (optional) its 95% interval.
public struct LatencyTable: Sendable, Codable, Equatable {
    public static let formatTag = "practise-latency-table/1"

    public struct Entry: Sendable, Codable, Equatable {
        public var block: String
        /// Percent of the whole model's latency removed by dropping this block alone.
        public var latencyReduction: Double
        public var low: Double?
        public var high: Double?

        public init(block: String, latency: LatencyInterval) {
            self.block = block; latencyReduction = latency.value; low = latency.low; high = latency.high
        }

        public var interval: LatencyInterval { LatencyInterval(value: latencyReduction, low: low ?? latencyReduction, high: high ?? latencyReduction) }

        enum CodingKeys: String, CodingKey { case block, latencyReduction = "latency_reduction", low, high }
    }

    public var format: String = LatencyTable.formatTag
    public var model: String
    /// `[C, H, W]` of the images the table was measured on (optional).
    public var imageShape: [Int]?
    public var batch: Int
    public var threads: Int
    public var cpu: String
    public var engine: String
    public var wholeModelMs: Double?
    public var blocks: [Entry]

    public init(model: String, imageShape: [Int]?, origin: LatencyOrigin, wholeModelMs: Double?, blocks: [Entry]) {
        self.model = model; self.imageShape = imageShape; batch = origin.batch; threads = origin.threads
        cpu = origin.cpu; engine = origin.engine; self.wholeModelMs = wholeModelMs; self.blocks = blocks
    }

    enum CodingKeys: String, CodingKey {
        case format, model, imageShape = "image_shape", batch, threads, cpu, engine, wholeModelMs = "whole_model_ms", blocks
    }

    /// Reads and checks a table file; errors name the file and what was expected.
    public static func load(_ path: String) throws -> LatencyTable {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw PractiseError("--latency-table \(path) is a folder; give the table's JSON file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PractiseError("--latency-table \(path): cannot read the file (\(FileManager.default.fileExists(atPath: path) ? "no permission" : "it does not exist"))")
        }
        let table: LatencyTable
        do { table = try JSONDecoder().decode(LatencyTable.self, from: data) } catch {
            throw PractiseError("--latency-table \(path): not a latency table (expected JSON with format, model, batch, threads, cpu, engine, blocks; see the README): \(JSONInput.describe(error, data: data))")
        }
        guard table.format == formatTag else {
            throw PractiseError("--latency-table \(path): format '\(table.format)', expected '\(formatTag)'")
        }
        for e in table.blocks {
            let v = e.interval
            guard [v.value, e.low ?? v.value, e.high ?? v.value].allSatisfy({ $0.isFinite && $0 >= 0 && $0 < 100 }) else {
                throw PractiseError("--latency-table \(path): block \(e.block) has latency_reduction \(e.latencyReduction) (low \(e.low.map { "\($0)" } ?? "–"), high \(e.high.map { "\($0)" } ?? "–")); expected percentages in [0, 100)")
            }
            guard (e.low ?? v.value) <= v.value && v.value <= (e.high ?? v.value) else {
                throw PractiseError("--latency-table \(path): block \(e.block) has low \(e.low ?? v.value) > latency_reduction \(e.latencyReduction) or high \(e.high ?? v.value) below it")
            }
        }
        guard table.batch >= 1, table.threads >= 1 else {
            throw PractiseError("--latency-table \(path): batch \(table.batch) and threads \(table.threads) must be at least 1")
        }
        // Blocks are disjoint parts of the network: together they are less than all of it.
        let total = table.blocks.reduce(0) { $0 + $1.latencyReduction }
        guard total < 100 else {
            throw PractiseError("--latency-table \(path): its blocks' latency reductions add up to \(String(format: "%.1f", total))%; blocks are disjoint parts of the network, so together they must be under 100%")
        }
        if let ms = table.wholeModelMs, !(ms.isFinite && ms > 0) {
            throw PractiseError("--latency-table \(path): whole_model_ms is \(ms); expected a latency in milliseconds > 0")
        }
        return table
    }

    public func origin(path: String) -> LatencyOrigin {
        LatencyOrigin(source: "table \(path)", cpu: cpu, threads: threads, batch: batch, engine: engine)
    }

    /// Each candidate's latency reduction (percent). The table must be for `model` and name
    /// every one of `candidates` (a subset of the model's, e.g. one shard's, is fine).
    public func reductions(for candidates: [BlockCandidate], model: String, path: String) throws -> [String: LatencyInterval] {
        guard self.model == model else {
            throw PractiseError("--latency-table \(path) is for model \(self.model), expected \(model)")
        }
        var byBlock: [String: LatencyInterval] = [:]
        for e in blocks {
            guard byBlock[e.block] == nil else { throw PractiseError("--latency-table \(path) lists block \(e.block) twice") }
            byBlock[e.block] = e.interval
        }
        let wanted = candidates.map(\.path)
        let missing = wanted.filter { byBlock[$0] == nil }
        guard missing.isEmpty else {
            throw PractiseError("--latency-table \(path) lacks candidate blocks \(missing.joined(separator: ", ")) of \(model); expected all of \(wanted.joined(separator: ", "))")
        }
        return byBlock
    }
}
