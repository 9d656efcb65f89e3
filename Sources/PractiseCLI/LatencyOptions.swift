import ArgumentParser
import Foundation
import Practise

/// How candidate latencies are obtained: measured here at a batch and thread count, or read
/// from a latency table of the deployment machine.
struct LatencyOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Batch size of latency measurements, 1 to \(Limits.maxBatch) (reference: 64).")
    var latencyBatch: Int = 64

    @Option(parsing: .unconditional, help: "Threads of latency measurements (default: --threads).")
    var latencyThreads: Int?

    @Option(parsing: .unconditional, help: "Wall-time budget of each latency measurement in seconds, 0.1 to 3600 (default 20); it stops earlier once every interval is within ±2%.")
    var latencyBudget: Double = 20

    @Option(help: "Select by this latency table (from `practise latency-table` or Scripts/latency-table-onnxruntime.py on the deployment machine) instead of measuring candidates here.")
    var latencyTable: String?

    func validate() throws {
        try Check.range("--latency-batch", latencyBatch, 1...Limits.maxBatch)
        try Check.range("--latency-threads", latencyThreads, Limits.threads, unit: " (\(Limits.threadsPerCore) × \(Limits.cores) cores)")
        guard latencyBudget.isFinite, (0.1...3600).contains(latencyBudget) else {
            throw ValidationError("--latency-budget must be between 0.1 and 3600 seconds, got \(latencyBudget)")
        }
    }

    /// Refuses a measurement batch of more than ``Limits/maxLatencyPixels`` on images
    /// `[C, H, W]` (a forward pass alone would need gigabytes), before any work; nothing is
    /// measured with `--latency-table`.
    func checkBatch(imageShape: [Int]) throws {
        guard latencyTable == nil, imageShape.count == 3 else { return }
        try ImageSizeCheck.validate(imageSize: max(imageShape[1], imageShape[2]), batch: latencyBatch, batchOption: "--latency-batch")
    }

    /// The meter with `--latency-threads` and `--latency-budget`.
    var meter: LatencyMeter {
        var m = LatencyMeter(budgetSeconds: latencyBudget)
        m.threads = latencyThreads
        return m
    }

    /// The table as a latency source for `model` on images `[C, H, W]`, or nil without
    /// `--latency-table`.
    func tableSource(model: String, imageShape: [Int]) throws -> TableLatencySource? {
        guard let path = latencyTable else { return nil }
        let table = try LatencyTable.load(path)
        if let shape = table.imageShape, shape != imageShape {
            throw PractiseError("--latency-table \(path) was measured on images \(shape), the data's are \(imageShape)")
        }
        return TableLatencySource(table: table, path: path, model: model)
    }
}
