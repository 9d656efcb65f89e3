import Engine
import Foundation
import NN

/// Latency of one workload: median and spread of repeated timed samples (`runs` of them; a
/// sample of a sub-millisecond workload averages several back-to-back calls).
public struct LatencyMeasurement: Sendable, Codable, Equatable {
    public var medianMs: Double
    /// 10th and 90th percentiles.
    public var p10Ms: Double, p90Ms: Double
    public var runs: Int, batch: Int, threads: Int

    enum CodingKeys: String, CodingKey {
        case medianMs = "latency_ms", p10Ms = "p10_ms", p90Ms = "p90_ms", runs, batch, threads
    }
}

/// Times workloads with warm-up and interleaved repetitions, so drift on a noisy machine hits
/// every workload alike; reports medians.
public struct LatencyMeter: Sendable {
    public var warmupRuns: Int
    public var runs: Int
    /// Stop early once this much wall time is spent (each workload still gets `minRuns`).
    public var budgetSeconds: Double
    public var minRuns: Int
    /// A workload faster than this is repeated within one sample until the sample lasts this
    /// long (the sample is the mean per call), so timer resolution and scheduler jitter do not
    /// dominate sub-millisecond workloads.
    public var minSampleMs: Double

    public init(warmupRuns: Int = 2, runs: Int = 25, budgetSeconds: Double = 20, minRuns: Int = 7, minSampleMs: Double = 5) {
        self.warmupRuns = warmupRuns; self.runs = runs; self.budgetSeconds = budgetSeconds; self.minRuns = minRuns
        self.minSampleMs = minSampleMs
    }

    /// Measures each workload; rounds run them in turn (A B C A B C …).
    public func measure(batch: Int, _ workloads: [() -> Void]) -> [LatencyMeasurement] {
        let samples = rounds(workloads)
        return samples.map { s in
            let sorted = s.sorted()
            func pct(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int(p * Double(sorted.count - 1) + 0.5))] }
            return LatencyMeasurement(medianMs: pct(0.5), p10Ms: pct(0.1), p90Ms: pct(0.9), runs: s.count, batch: batch, threads: Threads.count)
        }
    }

    /// Timings in milliseconds, `[workload][round]`, after warm-up.
    func rounds(_ workloads: [() -> Void]) -> [[Double]] {
        // Warm-up; the slowest warm-up call sets how many calls make one sample.
        let repeats = workloads.map { w -> Int in
            var slowest = 0.0
            for _ in 0..<max(1, warmupRuns) { slowest = max(slowest, Self.timeMs(w, repeats: 1)) }
            return slowest >= minSampleMs ? 1 : min(1000, Int((minSampleMs / max(slowest, 1e-3)).rounded(.up)))
        }
        var samples = Array(repeating: [Double](), count: workloads.count)
        let start = Date()
        for round in 0..<runs {
            if round >= minRuns && Date().timeIntervalSince(start) > budgetSeconds { break }
            for (i, w) in workloads.enumerated() { samples[i].append(Self.timeMs(w, repeats: repeats[i])) }
        }
        return samples
    }

    /// Mean wall time of one call, over `repeats` back-to-back calls, in milliseconds.
    static func timeMs(_ work: () -> Void, repeats: Int) -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<repeats { work() }
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6 / Double(repeats)
    }

    /// Eval-mode forward latency of each model on a zero batch `[batch] + imageShape`, interleaved.
    public func measureModels(_ models: [ClassifierModel], imageShape: [Int], batch: Int) -> [LatencyMeasurement] {
        let x = Tensor(zeros: [batch] + imageShape)
        for m in models { m.prepareForInference() }
        return measure(batch: batch, models.map { m in { _ = Autograd.noGrad { m(x) } } })
    }

    /// Latency reduction (percent) of dropping each candidate alone.
    ///
    /// Blocks of identical type and input shape cost the same, so each distinct shape is timed
    /// once — the block alone on its input, interleaved with the whole network — and the share
    /// `block / whole` is that shape's reduction. Timing a block directly avoids taking the
    /// difference of two large noisy whole-network timings, which is what made the reference's
    /// per-block numbers swing on a noisy CPU.
    public func candidateReductions(model: ClassifierModel, candidates: [BlockCandidate], imageShape: [Int], batch: Int)
        -> (reductions: [String: Double], whole: LatencyMeasurement)
    {
        model.prepareForInference()
        let x = Tensor(zeros: [batch] + imageShape)
        var signatures: [String: (block: Module, input: Tensor)] = [:]
        var signatureOf: [String: String] = [:]
        for c in candidates {
            let block = model.module(at: c.path)!
            let sig = "\(type(of: block))|\(c.inputShape)|\(c.parameters)"
            signatureOf[c.path] = sig
            if signatures[sig] == nil { signatures[sig] = (block, Tensor(zeros: [batch] + c.inputShape)) }
        }
        let keys = signatures.keys.sorted()
        var workloads: [() -> Void] = [{ _ = Autograd.noGrad { model(x) } }]
        for k in keys { let (b, input) = signatures[k]!; workloads.append { _ = Autograd.noGrad { b(input) } } }
        // Each round times the whole network and every block back to back; the share is the
        // median over rounds of the paired ratio, so load that drifts between rounds cancels.
        let t = rounds(workloads)
        var bySig: [String: Double] = [:]
        for (i, k) in keys.enumerated() {
            let ratios = zip(t[i + 1], t[0]).map { $0 / $1 }.sorted()
            bySig[k] = 100 * ratios[ratios.count / 2]
        }
        let wholeSorted = t[0].sorted()
        let whole = LatencyMeasurement(medianMs: wholeSorted[wholeSorted.count / 2], p10Ms: wholeSorted[wholeSorted.count / 10],
                                       p90Ms: wholeSorted[min(wholeSorted.count - 1, wholeSorted.count * 9 / 10)],
                                       runs: wholeSorted.count, batch: batch, threads: Threads.count)
        var out: [String: Double] = [:]
        for c in candidates { out[c.path] = bySig[signatureOf[c.path]!]! }
        return (out, whole)
    }
}
