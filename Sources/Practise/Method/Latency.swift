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
    /// Median CPU time of the calling thread per call: below `medianMs` when the thread waited
    /// (for other threads, or preempted by other processes).
    public var cpuMs: Double?

    public init(medianMs: Double, p10Ms: Double, p90Ms: Double, runs: Int, batch: Int, threads: Int, cpuMs: Double? = nil) {
        self.medianMs = medianMs; self.p10Ms = p10Ms; self.p90Ms = p90Ms
        self.runs = runs; self.batch = batch; self.threads = threads; self.cpuMs = cpuMs
    }

    enum CodingKeys: String, CodingKey {
        case medianMs = "latency_ms", p10Ms = "p10_ms", p90Ms = "p90_ms", runs, batch, threads, cpuMs = "cpu_ms"
    }
}

/// Timings of interleaved rounds after warm-up: `wallMs[workload][round]`, and the calling
/// thread's CPU time `cpuMs[workload][round]`, per call in milliseconds.
public struct LatencyRounds: Sendable {
    public var wallMs: [[Double]]
    public var cpuMs: [[Double]]
    public var batch: Int, threads: Int

    /// Per-round ratio `workload[i] / workload[j]`: both timed back to back, so load that
    /// drifts between rounds cancels.
    public func ratios(_ i: Int, over j: Int) -> [Double] { zip(wallMs[i], wallMs[j]).map { $0 / $1 } }

    public func measurement(_ i: Int) -> LatencyMeasurement {
        let w = wallMs[i]
        return LatencyMeasurement(medianMs: RobustStatistics.median(w), p10Ms: RobustStatistics.quantile(w, 0.1),
                                  p90Ms: RobustStatistics.quantile(w, 0.9), runs: w.count, batch: batch, threads: threads,
                                  cpuMs: RobustStatistics.median(cpuMs[i]))
    }
}

/// Latency of each candidate (percent of the whole network removed by dropping it alone) and
/// of the whole network, as measured by ``LatencyMeter/candidateReductions(model:candidates:imageShape:batch:)``.
public struct CandidateLatencies: Sendable {
    /// Per block path: median and 95% interval of the paired ratio `block / whole`, in percent.
    public var reductions: [String: LatencyInterval]
    public var whole: LatencyMeasurement
    /// Per block path: the shape key the block was timed under (blocks sharing it share the value).
    public var shapeKeys: [String: String]

    /// The widest relative half-width among the candidates' intervals (0.04: ±4%).
    public var spread: Double { reductions.values.map(\.relativeHalfWidth).max() ?? 0 }
}

/// Teacher and student timed in interleaved rounds: their latencies and the paired reduction.
public struct PairedLatency: Sendable {
    public var teacher: LatencyMeasurement
    public var student: LatencyMeasurement
    /// `1 − student / teacher` per round: median and 95% interval (fraction, e.g. 0.23).
    public var reduction: LatencyInterval
    /// The per-round reductions behind `reduction` (for a target's confidence).
    public var perRound: [Double]
    /// Relative half-width of the ratio `student / teacher`'s interval (the timing precision).
    public var spread: Double

    /// Sign-test confidence that the true reduction is at least `target` (0.5: undecided).
    public func confidence(reaching target: Double) -> Double {
        RobustStatistics.confidenceMedianAtLeast(perRound, target - 1e-12)
    }
}

/// How a ``LatencyMeter`` times one sample of a workload.
public enum LatencyTimer: Sendable {
    /// Runs the workload and reads the monotonic clock and the calling thread's CPU clock.
    case system
    /// Does not run the workload: `sample(workload, call)` gives the wall and CPU milliseconds of
    /// the `call`-th timed call of workload index `workload` (warm-up calls included), so tests
    /// replay a machine of known costs and noise exactly.
    case simulated(@Sendable (_ workload: Int, _ call: Int) -> (wall: Double, cpu: Double))
}

/// Times workloads with warm-up and interleaved rounds (A B C A B C …), so drift on a noisy
/// machine hits every workload alike, until the 95% confidence interval of every tracked ratio
/// is narrow (`targetHalfWidth`) or the budget is spent. Estimator: the median of per-round
/// paired ratios with its order-statistic interval (README, "Latency measurement", for the
/// measurements behind that choice).
public struct LatencyMeter: Sendable {
    public var warmupRuns: Int
    /// At most this many rounds.
    public var runs: Int
    /// Stop once this much wall time is spent (each workload still gets `minRuns`).
    public var budgetSeconds: Double
    public var minRuns: Int
    /// A workload faster than this is repeated within one sample until the sample lasts this
    /// long (the sample is the mean per call), so timer resolution and scheduler jitter do not
    /// dominate sub-millisecond workloads.
    public var minSampleMs: Double
    /// Stop early once every tracked ratio's interval is within ±this fraction of its median.
    public var targetHalfWidth: Double
    /// Threads to measure with (nil: the engine's current `Threads.count`).
    public var threads: Int?
    /// The clock samples come from (``LatencyTimer/system`` outside tests).
    public var timer: LatencyTimer = .system

    /// A measurement whose spread (relative half-width of a ratio's 95% interval) stays above
    /// this after the budget is reported as noisy.
    public static let noiseBound = 0.10

    public init(warmupRuns: Int = 2, runs: Int = 200, budgetSeconds: Double = 20, minRuns: Int = 11, minSampleMs: Double = 5,
                targetHalfWidth: Double = 0.02, threads: Int? = nil) {
        self.warmupRuns = warmupRuns; self.runs = runs; self.budgetSeconds = budgetSeconds; self.minRuns = minRuns
        self.minSampleMs = minSampleMs; self.targetHalfWidth = targetHalfWidth; self.threads = threads
    }

    /// Runs `body` with the engine's thread count set to ``threads`` (restored after).
    public func withThreads<T>(_ body: () throws -> T) rethrows -> T {
        guard let threads else { return try body() }
        let saved = Threads.count
        Threads.count = threads
        defer { Threads.count = saved }
        return try body()
    }

    /// Measures each workload; rounds run them in turn (A B C A B C …).
    public func measure(batch: Int, _ workloads: [() -> Void]) -> [LatencyMeasurement] {
        let r = rounds(workloads, batch: batch, tracking: [])
        return workloads.indices.map(r.measurement)
    }

    /// Interleaved rounds of `workloads` after warm-up. Stops after `minRuns` rounds once every
    /// `(i, j)` in `tracking` has a ratio `workload i / workload j` known to ±`targetHalfWidth`,
    /// or when `runs` rounds or `budgetSeconds` are spent.
    public func rounds(_ workloads: [() -> Void], batch: Int, tracking: [(Int, Int)]) -> LatencyRounds {
        withThreads {
            var calls = Array(repeating: 0, count: workloads.count)
            var simulatedMs = 0.0
            /// One sample of workload `i`: the mean per call over `repeats` back-to-back calls.
            func sample(_ i: Int, repeats: Int) -> (wall: Double, cpu: Double) {
                defer { calls[i] += 1 }
                switch timer {
                case .system: return Self.time(workloads[i], repeats: repeats)
                case .simulated(let sample):
                    let t = sample(i, calls[i])
                    simulatedMs += t.wall * Double(repeats)
                    return t
                }
            }
            // Warm-up; the slowest warm-up call sets how many calls make one sample.
            let repeats = workloads.indices.map { i -> Int in
                var slowest = 0.0
                for _ in 0..<max(1, warmupRuns) { slowest = max(slowest, sample(i, repeats: 1).wall) }
                return slowest >= minSampleMs ? 1 : min(1000, Int((minSampleMs / max(slowest, 1e-3)).rounded(.up)))
            }
            var r = LatencyRounds(wallMs: Array(repeating: [], count: workloads.count), cpuMs: Array(repeating: [], count: workloads.count),
                                  batch: batch, threads: Threads.count)
            let start = Date()
            simulatedMs = 0
            for round in 0..<max(1, runs) {
                if round >= minRuns {
                    let elapsed: Double
                    switch timer {
                    case .system: elapsed = Date().timeIntervalSince(start)
                    case .simulated: elapsed = simulatedMs / 1000
                    }
                    if elapsed > budgetSeconds { break }
                    if !tracking.isEmpty && tracking.allSatisfy({ i, j in
                        RobustStatistics.medianInterval(r.ratios(i, over: j)).relativeHalfWidth <= targetHalfWidth
                    }) { break }
                }
                for i in workloads.indices {
                    let t = sample(i, repeats: repeats[i])
                    r.wallMs[i].append(t.wall)
                    r.cpuMs[i].append(t.cpu)
                }
            }
            return r
        }
    }

    /// Mean wall time and calling-thread CPU time of one call, over `repeats` back-to-back calls,
    /// in milliseconds.
    static func time(_ work: () -> Void, repeats: Int) -> (wall: Double, cpu: Double) {
        let c0 = threadCPUNanoseconds(), t0 = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<repeats { work() }
        let t1 = DispatchTime.now().uptimeNanoseconds, c1 = threadCPUNanoseconds()
        return (Double(t1 - t0) / 1e6 / Double(repeats), Double(c1 &- c0) / 1e6 / Double(repeats))
    }

    static func threadCPUNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Eval-mode forward latency of each model on a zero batch `[batch] + imageShape`, interleaved.
    public func measureModels(_ models: [ClassifierModel], imageShape: [Int], batch: Int) -> [LatencyMeasurement] {
        let x = Tensor(zeros: [batch] + imageShape)
        for m in models { m.prepareForInference() }
        return measure(batch: batch, models.map { m in { _ = Autograd.noGrad { m(x) } } })
    }

    /// Teacher and student timed in interleaved rounds until the ratio `student / teacher` is
    /// known to ±`targetHalfWidth` (or the budget is spent).
    public func pairedReduction(teacher: ClassifierModel, student: ClassifierModel, imageShape: [Int], batch: Int) -> PairedLatency {
        let x = Tensor(zeros: [batch] + imageShape)
        teacher.prepareForInference(); student.prepareForInference()
        let r = rounds([{ _ = Autograd.noGrad { teacher(x) } }, { _ = Autograd.noGrad { student(x) } }], batch: batch, tracking: [(1, 0)])
        let ratios = r.ratios(1, over: 0)
        let ratio = RobustStatistics.medianInterval(ratios)
        return PairedLatency(teacher: r.measurement(0), student: r.measurement(1), reduction: ratio.complement,
                             perRound: ratios.map { 1 - $0 }, spread: ratio.relativeHalfWidth)
    }

    /// The key under which blocks cost the same: type, input shape `[C, H, W]` and parameters.
    public static func shapeKey(_ c: BlockCandidate, in model: ClassifierModel) -> String {
        "\(type(of: model.module(at: c.path)!))|\(c.inputShape.map(String.init).joined(separator: "x"))|\(c.parameters)"
    }

    /// Latency reduction (percent) of dropping each candidate alone.
    ///
    /// Blocks of identical type, input shape and size cost the same, so each distinct shape is
    /// timed once — the block alone on its input, interleaved with the whole network — and the
    /// paired share `block / whole` per round gives that shape's median and interval. Timing a
    /// block directly avoids taking the difference of two large noisy whole-network timings,
    /// which is what made the reference's per-block numbers swing on a noisy CPU.
    public func candidateReductions(model: ClassifierModel, candidates: [BlockCandidate], imageShape: [Int], batch: Int) -> CandidateLatencies {
        let w = CandidateWorkloads(model: model, candidates: candidates, imageShape: imageShape, batch: batch)
        let r = rounds(w.workloads, batch: batch, tracking: w.shapeKeys.indices.map { ($0 + 1, 0) })
        return w.latencies(from: r, candidates: candidates)
    }
}

/// The workloads of a candidate measurement: the whole network (index 0), then one block of
/// each distinct shape key (index 1 + its position in `shapeKeys`), each on a zero batch.
public struct CandidateWorkloads {
    public var workloads: [() -> Void]
    /// Distinct shape keys, sorted.
    public var shapeKeys: [String]
    /// Per block path: its shape key.
    public var keyOf: [String: String]

    public init(model: ClassifierModel, candidates: [BlockCandidate], imageShape: [Int], batch: Int) {
        model.prepareForInference()
        let x = Tensor(zeros: [batch] + imageShape)
        var byKey: [String: (block: Module, input: Tensor)] = [:]
        var keyOf: [String: String] = [:]
        for c in candidates {
            let key = LatencyMeter.shapeKey(c, in: model)
            keyOf[c.path] = key
            if byKey[key] == nil { byKey[key] = (model.module(at: c.path)!, Tensor(zeros: [batch] + c.inputShape)) }
        }
        shapeKeys = byKey.keys.sorted()
        self.keyOf = keyOf
        workloads = [{ _ = Autograd.noGrad { model(x) } }]
        for k in shapeKeys { let (b, input) = byKey[k]!; workloads.append { _ = Autograd.noGrad { b(input) } } }
    }

    /// Each candidate's share (percent): median of the per-round ratio `block / whole` and its interval.
    public func latencies(from r: LatencyRounds, candidates: [BlockCandidate]) -> CandidateLatencies {
        var byShape: [String: LatencyInterval] = [:]
        for (i, k) in shapeKeys.enumerated() {
            byShape[k] = RobustStatistics.medianInterval(r.ratios(i + 1, over: 0)).scaled(100)
        }
        var out: [String: LatencyInterval] = [:]
        for c in candidates { out[c.path] = byShape[keyOf[c.path]!]! }
        return CandidateLatencies(reductions: out, whole: r.measurement(0), shapeKeys: keyOf)
    }
}
