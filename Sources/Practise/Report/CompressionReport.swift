import Foundation

/// Everything a compression run measured, written as `report.json` and `report.md`.
public struct CompressionReport: Codable, Sendable {
    public struct Pair: Codable, Sendable { public var teacher: Double; public var student: Double }
    public struct Top1: Codable, Sendable {
        public var teacher: Double
        public var prunedBeforeFinetune: Double
        public var student: Double
        enum CodingKeys: String, CodingKey { case teacher, prunedBeforeFinetune = "pruned_before_finetune", student }
    }

    public var tool = "practise"
    public var version: String
    public var model: String
    public var weights: String
    public var data: String
    public var evalData: String
    public var numSamples: Int
    public var seed: UInt64
    public var method: String
    public var analysisIterations: Int
    public var finetuneIterations: Int
    public var threads: Int
    public var latencyBatch: Int
    public var candidates: [CandidateScore]
    public var droppedBlocks: [String]
    public var latencyMs: Pair
    /// Latency spread (10th–90th percentile) of the two final measurements.
    public var latencySpreadMs: [String: [Double]]
    /// Fraction of the teacher's latency removed, e.g. 0.23.
    public var latencyReduction: Double
    /// With `--target-latency-reduction`: the target, the reduction the selection measured for the
    /// chosen blocks, and whether the final teacher-vs-student measurement reached the target.
    public var latencyTarget: Double?
    public var selectionLatencyReduction: Double?
    public var targetMet: Bool?
    public var top1: Top1
    public var top5: Pair
    public var evalCount: Int
    public var wallSeconds: [String: Double]

    enum CodingKeys: String, CodingKey {
        case tool, version, model, weights, data, evalData = "eval_data", numSamples = "num_samples", seed, method
        case analysisIterations = "analysis_iterations", finetuneIterations = "finetune_iterations", threads
        case latencyBatch = "latency_batch", candidates, droppedBlocks = "dropped_blocks", latencyMs = "latency_ms"
        case latencySpreadMs = "latency_spread_ms", latencyReduction = "latency_reduction", top1, top5
        case latencyTarget = "latency_target", selectionLatencyReduction = "selection_latency_reduction", targetMet = "target_met"
        case evalCount = "eval_count", wallSeconds = "wall_seconds"
    }

    /// The report of a finished run. `data`/`evalData` describe the datasets, `weights` the teacher.
    public init(outcome o: CompressionOutcome, options: CompressionOptions, model: String, weights: String,
                data: String, evalData: String, numSamples: Int) {
        version = ToolVersion.string
        self.model = model; self.weights = weights; self.data = data; self.evalData = evalData
        self.numSamples = numSamples
        seed = options.seed
        method = options.method.rawValue
        analysisIterations = options.blocks == nil ? options.analysisIterations : 0
        finetuneIterations = options.finetuneIterations
        threads = o.teacherLatency.threads
        latencyBatch = options.latencyBatch
        candidates = o.scores
        droppedBlocks = o.dropped
        latencyMs = Pair(teacher: o.teacherLatency.medianMs, student: o.studentLatency.medianMs)
        latencySpreadMs = ["teacher": [o.teacherLatency.p10Ms, o.teacherLatency.p90Ms], "student": [o.studentLatency.p10Ms, o.studentLatency.p90Ms]]
        let reduction = 1 - o.studentLatency.medianMs / o.teacherLatency.medianMs
        latencyReduction = reduction
        latencyTarget = o.latencyTarget
        selectionLatencyReduction = o.selectionMeasuredReduction
        targetMet = o.latencyTarget.map { reduction >= $0 - 1e-9 }  // 1 − 80/100 is 0.19999999999999996
        top1 = Top1(teacher: o.teacherAccuracy.top1, prunedBeforeFinetune: o.prunedAccuracy.top1, student: o.studentAccuracy.top1)
        top5 = Pair(teacher: o.teacherAccuracy.top5, student: o.studentAccuracy.top5)
        evalCount = o.studentAccuracy.count
        wallSeconds = o.wallSeconds
    }

    public func json() throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try enc.encode(self)
    }

    /// The readable summary (also printed on stdout).
    public var summaryTable: String {
        let rows: [(String, String)] = [
            ("model", model),
            ("blocks dropped", droppedBlocks.joined(separator: ", ")),
            ("latency teacher", String(format: "%.2f ms (batch %d, threads %d)", latencyMs.teacher, latencyBatch, threads)),
            ("latency student", String(format: "%.2f ms", latencyMs.student)),
            ("latency reduction", String(format: "%.1f%%", latencyReduction * 100)),
        ] + targetRows + [
            ("top-1 teacher", String(format: "%.2f%%", top1.teacher)),
            ("top-1 pruned, no finetune", String(format: "%.2f%%", top1.prunedBeforeFinetune)),
            ("top-1 student (\(method))", String(format: "%.2f%%", top1.student)),
            ("evaluated on", "\(evalCount) images of \(evalData)"),
            ("time taken", String(format: "%.0f s", wallSeconds["total"] ?? 0)),
        ]
        return Table.render(header: ["", ""], rows: rows.map { [$0.0, $0.1] })
    }

    /// "latency target" row: met or not by the final measurement, with the selection's figure.
    private var targetRows: [(String, String)] {
        guard let target = latencyTarget else { return [] }
        let selected = selectionLatencyReduction.map { String(format: "; the selection measured %.1f%%", $0 * 100) } ?? ""
        return [("latency target", String(format: "%.1f%%: %@ (final measurement %.1f%%%@)", target * 100,
                                          targetMet == true ? "met" : "NOT met", latencyReduction * 100, selected))]
    }

    /// A warning for stderr when the final measurement fell short of the target, else nil.
    public var targetWarning: String? {
        guard let target = latencyTarget, targetMet == false else { return nil }
        return String(format: "warning: the final measurement gave a %.1f%% latency reduction, short of the %.1f%% target "
                      + "(the selection measured %.1f%% for the same blocks). Latency on a busy machine varies by a few "
                      + "percent; re-measure with `practise latency`, or ask for a slightly higher target.",
                      latencyReduction * 100, target * 100, (selectionLatencyReduction ?? 0) * 100)
    }

    public var markdown: String {
        var md = "# PRACTISE compression report\n\n"
        md += "| | |\n|---|---|\n"
        for line in [
            ("Model", "`\(model)` from `\(weights)`"),
            ("Tiny set", "\(numSamples) images of `\(data)`, seed \(seed)"),
            ("Method", "\(method): \(analysisIterations) analysis / \(finetuneIterations) finetuning iterations"),
            ("Dropped blocks", droppedBlocks.map { "`\($0)`" }.joined(separator: ", ")),
            ("Latency", String(format: "%.2f → %.2f ms (−%.1f%%), batch %d, threads %d", latencyMs.teacher, latencyMs.student, latencyReduction * 100, latencyBatch, threads)),
        ] + targetRows.map { ("Latency target", $0.1) } + [
            ("Top-1", String(format: "teacher %.2f%%, pruned %.2f%%, student %.2f%%", top1.teacher, top1.prunedBeforeFinetune, top1.student)),
            ("Top-5", String(format: "teacher %.2f%%, student %.2f%%", top5.teacher, top5.student)),
            ("Evaluated on", "\(evalCount) images of `\(evalData)`"),
        ] { md += "| \(line.0) | \(line.1) |\n" }
        if candidates.isEmpty {
            md += "\nAnalysis skipped: the blocks were given with `--blocks`.\n"
        } else {
            md += "\n## Candidates (best to drop first)\n\n| block | recoverability | latency reduction | score | dropped |\n|---|---:|---:|---:|:---:|\n"
            for c in Selection.ranked(candidates) {
                md += String(format: "| `%@` | %.5f | %.2f%% | %.5f | %@ |\n", c.block, c.recoverability, c.latencyReduction, c.score,
                             droppedBlocks.contains(c.block) ? "✔" : "")
            }
            md += "\n![recoverability vs latency](candidates.svg)\n"
        }
        md += "\n## Wall time\n\n| phase | seconds |\n|---|---:|\n"
        for (k, v) in wallSeconds.sorted(by: { $0.key < $1.key }) { md += String(format: "| %@ | %.1f |\n", k, v) }
        return md
    }
}

/// Plain-text tables with aligned columns.
public enum Table {
    public static func render(header: [String], rows: [[String]]) -> String {
        let all = (header.allSatisfy(\.isEmpty) ? [] : [header]) + rows
        let widths = (0..<(all.first?.count ?? 0)).map { c in all.map { $0[c].count }.max() ?? 0 }
        var lines = all.map { row in
            zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }
        if !header.allSatisfy(\.isEmpty) {
            lines.insert(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "), at: 1)
        }
        return lines.joined(separator: "\n")
    }
}
