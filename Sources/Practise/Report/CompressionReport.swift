import Foundation
import NN

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
    /// How tiny-set images of another source than the evaluation data were converted to the
    /// teacher's input (`InputConversion`: "grey 28x28"); nil when both are the same data.
    public var inputConversion: String?
    /// How the evaluation images were converted to the teacher's input (``ModelInput``'s rule);
    /// nil when they are the teacher's own kind of data.
    public var evalInputConversion: String?
    public var numSamples: Int
    public var seed: UInt64
    public var method: String
    public var analysisIterations: Int
    /// `full` (every candidate trained `analysisIterations`) or `halving` (successive halving:
    /// ``SuccessiveHalving``, with the iterations of its rungs); nil with `--blocks` and the
    /// channels scheme, which run no block analysis. Candidates it eliminated say so
    /// (`"eliminated": true` with their `"iterations"`).
    public var analysisSchedule: String?
    public var analysisHalving: SuccessiveHalving?
    public var analysisHalvingBudgets: [Int]?
    public var finetuneIterations: Int
    public var threads: Int
    public var latencyBatch: Int
    public var candidates: [CandidateScore]
    public var droppedBlocks: [String]
    public var latencyMs: Pair
    /// Latency spread (10th–90th percentile) of the two final measurements.
    public var latencySpreadMs: [String: [Double]]
    /// Fraction of the teacher's latency removed, e.g. 0.23 (median of per-round paired
    /// reductions), and its 95% interval.
    public var latencyReduction: Double
    public var latencyReductionCI: [Double]
    /// Relative half-width of the 95% intervals: `final` (student / teacher ratio) and
    /// `candidates` (the widest of the candidates' shares).
    public var latencySpread: [String: Double]
    /// Whether a spread stayed above `latency_noise_bound` after the measurement budget.
    public var latencyNoisy: Bool
    public var latencyNoiseBound: Double
    /// Where the candidates' latency figures came from (CPU, threads, batch, engine).
    public var latencySource: LatencyOrigin?
    /// How candidates within noise of each other were ordered, and the runs of candidates it ordered.
    public var rankingRule: String?
    public var latencyTies: [[String]]?
    /// With `--target-latency-reduction`: the target; the reduction the selection found for the
    /// chosen blocks (and its interval); whether the target is met and on what basis (the final
    /// measurement here, or the latency table's figures); the sign-test confidence that the
    /// final reduction reaches the target (0.5: undecided).
    public var latencyTarget: Double?
    public var selectionLatencyReduction: Double?
    public var selectionLatencyReductionCI: [Double]?
    public var targetMet: Bool?
    public var targetBasis: String?
    public var targetConfidence: Double?
    public var top1: Top1
    public var top5: Pair
    public var evalCount: Int
    public var wallSeconds: [String: Double]
    /// `blocks` or `channels`; for channels also the pruning ratio, the kept width and kept filter
    /// indices of every inner-channel site (its conv's path), and the ratio search's trials.
    public var scheme: CompressionScheme
    public var pruneRatio: Double?
    public var keptWidths: [String: Int]?
    public var keptChannels: [String: [Int]]?
    public var ratioTrials: [ChannelPruning.Trial]?

    enum CodingKeys: String, CodingKey {
        case tool, version, model, weights, data, evalData = "eval_data", inputConversion = "input_conversion", evalInputConversion = "eval_input_conversion", numSamples = "num_samples", seed, method
        case analysisIterations = "analysis_iterations", finetuneIterations = "finetune_iterations", threads
        case analysisSchedule = "analysis_schedule", analysisHalving = "analysis_halving", analysisHalvingBudgets = "analysis_halving_budgets"
        case latencyBatch = "latency_batch", candidates, droppedBlocks = "dropped_blocks", latencyMs = "latency_ms"
        case latencySpreadMs = "latency_spread_ms", latencyReduction = "latency_reduction", top1, top5
        case latencyReductionCI = "latency_reduction_ci", latencySpread = "latency_spread", latencyNoisy = "latency_noisy"
        case latencyNoiseBound = "latency_noise_bound", latencySource = "latency_source", rankingRule = "ranking_rule"
        case latencyTies = "latency_ties"
        case latencyTarget = "latency_target", selectionLatencyReduction = "selection_latency_reduction", targetMet = "target_met"
        case selectionLatencyReductionCI = "selection_latency_reduction_ci", targetBasis = "target_basis"
        case targetConfidence = "target_confidence"
        case evalCount = "eval_count", wallSeconds = "wall_seconds"
        case scheme, pruneRatio = "prune_ratio", keptWidths = "kept_widths", keptChannels = "kept_channels", ratioTrials = "ratio_trials"
    }

    /// The report of a finished run. `data`/`evalData` describe the datasets, `weights` the teacher.
    public init(outcome o: CompressionOutcome, options: CompressionOptions, model: String, weights: String,
                data: String, evalData: String, numSamples: Int) {
        version = ToolVersion.string
        self.model = model; self.weights = weights; self.data = data; self.evalData = evalData
        self.numSamples = numSamples
        seed = options.seed
        method = o.methodLabel ?? options.method.rawValue
        scheme = o.scheme
        if o.scheme == .channels {
            pruneRatio = o.pruneRatio
            keptWidths = o.keptChannels.mapValues(\.count)
            keptChannels = o.keptChannels
            ratioTrials = o.ratioTrials
        }
        analysisIterations = options.blocks == nil ? options.analysisIterations : 0
        if o.scheme == .blocks && options.blocks == nil && options.analysisFolder == nil {
            var halving = options.halving
            halving?.selection = options.rule
            analysisSchedule = halving == nil ? "full" : "halving"
            analysisHalving = halving
            analysisHalvingBudgets = halving?.budgets(iterations: options.analysisIterations)
        }
        finetuneIterations = options.finetuneIterations
        threads = o.teacherLatency.threads
        latencyBatch = options.latencyBatch
        candidates = o.scores
        droppedBlocks = o.dropped
        latencyMs = Pair(teacher: o.teacherLatency.medianMs, student: o.studentLatency.medianMs)
        latencySpreadMs = ["teacher": [o.teacherLatency.p10Ms, o.teacherLatency.p90Ms], "student": [o.studentLatency.p10Ms, o.studentLatency.p90Ms]]
        let reduction = o.finalLatency.reduction
        latencyReduction = reduction.value
        latencyReductionCI = [reduction.low, reduction.high]
        latencySpread = ["final": o.finalLatency.spread]
        if let c = o.candidateLatencies { latencySpread["candidates"] = c.spread }
        latencyNoiseBound = LatencyMeter.noiseBound
        latencyNoisy = latencySpread.values.contains { $0 > LatencyMeter.noiseBound }
        latencySource = o.candidateLatencies?.origin
        if !o.scores.isEmpty {
            rankingRule = Selection.tieRule
            latencyTies = Selection.ties(Selection.ranked(o.scores))
        }
        latencyTarget = o.latencyTarget
        selectionLatencyReduction = o.selectionMeasuredReduction?.value
        selectionLatencyReductionCI = o.selectionMeasuredReduction.map { [$0.low, $0.high] }
        if let target = o.latencyTarget {
            if options.latencyTable != nil, let predicted = o.selectionMeasuredReduction {
                // The table describes the deployment machine; the final measurement is this one's.
                targetBasis = "latency table"
                targetMet = predicted.value >= target - 1e-9
            } else {
                targetBasis = "final measurement"
                targetMet = reduction.value >= target - 1e-9  // 1 − 80/100 is 0.19999999999999996
                targetConfidence = o.finalLatency.confidence(reaching: target)
            }
        }
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
            scheme == .channels ? ("inner channels pruned", keptSummary) : ("blocks dropped", droppedBlocks.joined(separator: ", ")),
            ("latency teacher", String(format: "%.2f ms (batch %d, threads %d)", latencyMs.teacher, latencyBatch, threads)),
            ("latency student", String(format: "%.2f ms", latencyMs.student)),
            ("latency reduction", reductionText),
        ] + sourceRows + targetRows + [
            ("top-1 teacher", String(format: "%.2f%%", top1.teacher)),
            ("top-1 pruned, no finetune", String(format: "%.2f%%", top1.prunedBeforeFinetune)),
            ("top-1 student (\(method))", String(format: "%.2f%%", top1.student)),
            ("evaluated on", "\(evalCount) images of \(evalData)"),
            ("time taken", String(format: "%.0f s", wallSeconds["total"] ?? 0)),
        ]
        return Table.render(header: ["", ""], rows: rows.map { [$0.0, $0.1] })
    }

    /// Channels scheme: ratio and total kept inner channels, e.g. "ratio 0.31: 412 of 592 kept".
    public var keptSummary: String {
        let kept = (keptWidths ?? [:]).values.reduce(0, +)
        let full = (keptChannels ?? [:]).count
        return String(format: "ratio %.3f of every block's inner channels: %d channels kept at %d sites", pruneRatio ?? 0, kept, full)
    }

    /// `, successive halving (η 2, rungs at 25/50/100 iterations, margin 3)`, or nothing for the full analysis.
    var scheduleText: String {
        guard let h = analysisHalving, let budgets = analysisHalvingBudgets else { return "" }
        return ", successive halving (factor \(h.factor), rungs at \(budgets.map(String.init).joined(separator: "/")) iterations, margin \(h.margin))"
    }

    /// `23.4% (95% interval 22.1–24.6%)`, with a noise note when the spread is above the bound.
    var reductionText: String {
        String(format: "%.1f%% (95%% interval %.1f–%.1f%%)", latencyReduction * 100, latencyReductionCI[0] * 100, latencyReductionCI[1] * 100)
            + (latencyNoisy ? ", machine too noisy to measure reliably" : "")
    }

    /// Where the candidates' latencies came from, and the tie rule when it decided anything.
    private var sourceRows: [(String, String)] {
        var rows: [(String, String)] = []
        if let s = latencySource { rows.append(("candidate latencies", s.summary)) }
        if let ties = latencyTies, !ties.isEmpty {
            rows.append(("within noise", ties.map { $0.joined(separator: " ~ ") }.joined(separator: "; ") + ": ranked by recoverability, then name"))
        }
        return rows
    }

    /// "latency target" row: met or not, with its confidence and the selection's figure.
    private var targetRows: [(String, String)] {
        guard let target = latencyTarget else { return [] }
        let selected = selectionLatencyReduction.map { String(format: "; the selection %@ %.1f%%", targetBasis == "latency table" ? "predicted from the table" : "measured", $0 * 100) } ?? ""
        let basis = targetBasis == "latency table" ? "by the latency table" : String(format: "final measurement %.1f%%", latencyReduction * 100)
        let confidence = targetConfidence.map { c in
            String(format: ", confidence %.0f%%", 100 * (targetMet == true ? c : 1 - c))
        } ?? ""
        return [("latency target", String(format: "%.1f%%: %@ (%@%@%@)", target * 100,
                                          targetMet == true ? "met" : "NOT met", basis, confidence, selected))]
    }

    /// A warning for stderr when the target was not met, else nil.
    public var targetWarning: String? {
        guard let target = latencyTarget, targetMet == false else { return nil }
        if targetBasis == "latency table" {
            return String(format: "warning: the latency table predicts a %.1f%% latency reduction for the chosen blocks, short of the %.1f%% target.",
                          (selectionLatencyReduction ?? 0) * 100, target * 100)
        }
        let confidence = targetConfidence.map { String(format: " (confidence it falls short: %.0f%%)", 100 * (1 - $0)) } ?? ""
        return String(format: "warning: the final measurement gave a %.1f%% latency reduction (95%% interval %.1f–%.1f%%), short of the %.1f%% target%@ "
                      + "(the selection measured %.1f%% for the same blocks). Re-measure with `practise latency`, or ask for a slightly higher target.",
                      latencyReduction * 100, latencyReductionCI[0] * 100, latencyReductionCI[1] * 100, target * 100, confidence,
                      (selectionLatencyReduction ?? 0) * 100)
    }

    /// A warning for stderr when the latency measurement stayed too noisy, else nil.
    public var noiseWarning: String? {
        guard latencyNoisy else { return nil }
        let spreads = latencySpread.sorted { $0.key < $1.key }.map { String(format: "%@ ±%.1f%%", $0.key, $0.value * 100) }.joined(separator: ", ")
        return String(format: "warning: this machine was too noisy to measure latency reliably (95%% intervals %@; bound ±%.0f%%). ",
                      spreads, latencyNoiseBound * 100)
            + "Candidates within noise of each other were ranked by the deterministic rule: \(Selection.tieRule). "
            + "Measure on a quieter machine or select by a latency table (--latency-table)."
    }

    public var markdown: String {
        var md = "# PRACTISE compression report\n\n"
        md += "| | |\n|---|---|\n"
        for line in [
            ("Model", "`\(model)` from `\(weights)`"),
            ("Tiny set", "\(numSamples) images of `\(data)`, seed \(seed)" + (inputConversion.map { ", converted to \($0)" } ?? "")),
            ("Method", "\(method): \(analysisIterations) analysis / \(finetuneIterations) finetuning iterations" + scheduleText),
            scheme == .channels ? ("Filter pruning (L1)", keptSummary)
                : ("Dropped blocks", droppedBlocks.map { "`\($0)`" }.joined(separator: ", ")),
            ("Latency", String(format: "%.2f → %.2f ms (−%@), batch %d, threads %d", latencyMs.teacher, latencyMs.student, reductionText, latencyBatch, threads)),
        ] + sourceRows.map { ($0.0.prefix(1).uppercased() + $0.0.dropFirst(), $0.1) } + targetRows.map { ("Latency target", $0.1) } + [
            ("Top-1", String(format: "teacher %.2f%%, pruned %.2f%%, student %.2f%%", top1.teacher, top1.prunedBeforeFinetune, top1.student)),
            ("Top-5", String(format: "teacher %.2f%%, student %.2f%%", top5.teacher, top5.student)),
            ("Evaluated on", "\(evalCount) images of `\(evalData)`" + (evalInputConversion.map { ", converted to \($0)" } ?? "")),
        ] { md += "| \(line.0) | \(line.1) |\n" }
        if scheme == .channels {
            md += "\n## Kept inner channels\n\n| site | kept |\n|---|---:|\n"
            let widths = keptWidths ?? [:]
            for k in sortedBlockPaths(Array(widths.keys)) { md += "| `\(k)` | \(widths[k]!) |\n" }
        } else if candidates.isEmpty {
            md += "\nAnalysis skipped: the blocks were given with `--blocks`.\n"
        } else {
            md += "\n## Candidates (best to drop first)\n\n| block | recoverability | latency reduction (95% interval) | score | dropped |\n|---|---:|---:|---:|:---:|\n"
            for c in Selection.ranked(candidates) {
                let mark = c.eliminatedAfter.map { "eliminated after \($0) iterations" } ?? (droppedBlocks.contains(c.block) ? "✔" : "")
                md += String(format: "| `%@` | %.5f | %.2f%% (%.2f–%.2f) | %.5f | %@ |\n", c.block, c.recoverability, c.latencyReduction,
                             c.latencyLow, c.latencyHigh, c.score, mark)
            }
            md += "\nRanking: \(Selection.tieRule).\n"
            if !candidates.allSatisfy(\.fullyMeasured) {
                md += "Eliminated candidates were stopped early by the halving schedule: their recoverability is of the iterations shown, ranked after every fully measured one and never selected.\n"
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
