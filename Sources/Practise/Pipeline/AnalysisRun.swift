import Checkpoint
import Engine
import Foundation
import SafeFiles
import NN

/// Settings of the analysis phase that decide its results (a resumed run must match them).
public struct AnalysisSettings: Codable, Sendable, Equatable {
    public var model: String
    public var candidates: [String]
    public var iterations: Int
    public var batchSize: Int
    public var learningRate: Float
    public var seed: UInt64
    public var samples: [String]
    /// The early-stopped schedule; nil: the full analysis (every candidate `iterations`).
    public var halving: SuccessiveHalving?

    public init(model: String, candidates: [String], iterations: Int, batchSize: Int, learningRate: Float, seed: UInt64, samples: [String],
                halving: SuccessiveHalving? = nil) {
        self.model = model; self.candidates = candidates; self.iterations = iterations
        self.batchSize = batchSize; self.learningRate = learningRate; self.seed = seed; self.samples = samples
        self.halving = halving
    }
}

/// The analysis phase with its on-disk state: latency shares, adaptor checkpoints every
/// `checkpointEvery` iterations and each candidate's recoverability as soon as it is known,
/// so an interrupted run continues where it stopped and ends with the same numbers.
public final class AnalysisRun {
    public let teacher: ClassifierModel
    public let candidates: [BlockCandidate]
    public let settings: AnalysisSettings
    public let stateDir: String
    public var checkpointEvery = 50
    public var latencyMeter = LatencyMeter()
    public var latencyBatch: Int
    /// Where candidates' latency figures come from; nil: measured here with `latencyMeter`
    /// at `latencyBatch`.
    public var latencySource: LatencySource?
    public let imageShape: [Int]
    /// Stop with ``AnalysisInterrupted`` after this many iterations of this invocation, as an
    /// interruption would (used to test resuming).
    public var iterationLimit: Int?
    /// Called once training starts, with the iteration it resumes from (0 when fresh).
    public var onStart: ((Int) -> Void)?
    /// Called after each training iteration with the number completed.
    public var onIteration: ((Int) -> Void)?
    /// Called when a halving analysis decides a rung (also when a resumed run reads one).
    public var onRung: ((HalvingRung) -> Void)?
    /// Wall seconds per phase of this invocation.
    public private(set) var wallSeconds: [String: Double] = [:]
    /// Measured training cost of this invocation's iterations, per iteration: each candidate's
    /// student (by path) and the teacher's pass, which every process pays once; nil when this
    /// invocation trained nothing.
    public private(set) var secondsPerIteration: (candidates: [String: Double], teacher: Double)?

    public init(teacher: ClassifierModel, imageShape: [Int], settings: AnalysisSettings, stateDir: String, latencyBatch: Int) throws {
        self.teacher = teacher
        self.imageShape = imageShape
        self.settings = settings
        self.stateDir = stateDir
        self.latencyBatch = latencyBatch
        candidates = Candidates.find(in: teacher, imageShape: imageShape).filter { settings.candidates.contains($0.path) }
        try FileManager.default.createDirectory(atPath: stateDir, withIntermediateDirectories: true)
        let settingsPath = path(Self.settingsFile)
        if FileManager.default.fileExists(atPath: settingsPath) {
            let saved: AnalysisSettings
            do {
                saved = try JSONDecoder().decode(AnalysisSettings.self, from: Data(contentsOf: URL(fileURLWithPath: settingsPath)))
            } catch {
                throw PractiseError("\(settingsPath) is damaged (empty, truncated or not the settings of an analysis), so this analysis cannot be resumed; use another folder or --force to start over")
            }
            guard saved == settings else {
                throw PractiseError("\(stateDir) holds an analysis with different settings (model, samples, seed, iterations or schedule); use another folder or --force to start over")
            }
        } else {
            try OutputFile.writeJSON(settings, to: settingsPath)
        }
    }

    /// The file that holds the analysis' settings (and marks a folder as an analysis folder).
    public static let settingsFile = "analysis-settings.json"

    func path(_ name: String) -> String { (stateDir as NSString).appendingPathComponent(name) }

    /// Latency reduction of each candidate, measured (or read) once per run and kept in
    /// `latency.json`.
    public func latencyReductions() throws -> BlockLatencies {
        let source = latencySource ?? MeasuredLatencySource(meter: latencyMeter, model: teacher, imageShape: imageShape, batch: latencyBatch)
        let t0 = Date()
        defer { wallSeconds["latency", default: 0] += Date().timeIntervalSince(t0) }
        return try Self.latencies(file: path("latency.json"), source: source, candidates: candidates)
    }

    /// The latencies kept in `file` when they name exactly `candidates` and come from `source`;
    /// otherwise taken from `source` and written there.
    public static func latencies(file: String, source: LatencySource, candidates: [BlockCandidate]) throws -> BlockLatencies {
        // Reused only when it is what the source would give now: the same candidates, figures a
        // measurement can give, from the same source (a measurement here at the same batch and
        // threads on this CPU and engine); anything else is measured or read again.
        if let data = FileManager.default.contents(atPath: file),
           let saved = try? JSONDecoder().decode(BlockLatencies.self, from: data),
           Set(saved.reductions.keys) == Set(candidates.map(\.path)), source.reuses(saved.origin),
           saved.reductions.values.allSatisfy(\.isPlausibleReduction) {
            return saved
        }
        let latencies = try source.blockLatencies(for: candidates)
        try OutputFile.writeJSON(latencies, to: file)
        return latencies
    }

    /// The candidates' latency figures of the last ``run(data:progress:)``.
    public private(set) var latencies: BlockLatencies?

    /// Latency figures, then every candidate's recoverability (``recoverabilities(data:latencies:progress:)``);
    /// a candidate a halving analysis eliminated carries the iterations it got. `progress(text)`
    /// receives a status line.
    public func run(data: TinySet, progress: (String) -> Void = { _ in }) throws -> [CandidateScore] {
        let latencies = try latencyReductions()
        self.latencies = latencies
        let done = try recoverabilities(data: data, latencies: latencies, progress: progress)
        var stopped: [String: (iterations: Int, recoverability: Double)] = [:]
        for rung in loadRungs() { for b in rung.eliminated { stopped[b] = (rung.iterations, rung.recoverabilities[b]!) } }
        return try candidates.map { c in
            if let r = done[c.path] { return CandidateScore(block: c.path, recoverability: r, latency: latencies.reductions[c.path]!) }
            guard let s = stopped[c.path] else { throw PractiseError("\(path("halving.json")) does not account for \(c.path); delete \(stateDir) or use --force to start over") }
            return CandidateScore(block: c.path, recoverability: s.recoverability, latency: latencies.reductions[c.path]!, eliminatedAfter: s.iterations)
        }
    }

    /// Trains (or resumes) the candidates' adaptors, then measures recoverability; kept in
    /// `recoverability.json` as each is known. With ``AnalysisSettings/halving`` (which needs
    /// `latencies`, to rank), the training stops at every rung of ``SuccessiveHalving/budgets(iterations:)``
    /// to measure the candidates still training and stop the ones it eliminates; the rungs are
    /// kept in `halving.json`, and only the survivors' recoverabilities are returned. The full
    /// analysis is the schedule of one rung, `iterations`. `progress(text)` receives a status line.
    public func recoverabilities(data: TinySet, latencies: BlockLatencies? = nil, progress: (String) -> Void = { _ in }) throws -> [String: Double] {
        var done = loadRecoverability()
        var rungs = loadRungs()
        let stopped = Set(rungs.flatMap(\.eliminated))
        let pending = candidates.filter { done[$0.path] == nil && !stopped.contains($0.path) }
        guard !pending.isEmpty else { return done }
        let config = PhaseConfig(iterations: settings.iterations, learningRate: settings.learningRate, batchSize: settings.batchSize)
        let analysis = RecoverabilityAnalysis(teacher: teacher, candidates: candidates, config: config)
        try restoreAdaptors(analysis)
        analysis.stopTraining(candidates.indices.filter { stopped.contains(candidates[$0].path) })
        let t0 = Date()
        let startIteration = analysis.completedIterations
        onStart?(startIteration)
        func train(until end: Int) throws {
            let training = analysis.training.filter { $0 }.count
            let of = training < candidates.count ? " (\(training) of \(candidates.count) candidates)" : ""
            try analysis.train(data: data, until: end) { it, losses in
                onIteration?(it + 1)
                let mean = losses.reduce(0, +) / Float(max(losses.count, 1))
                progress(String(format: "analysis: iteration %d/%d%@, mean adaptor loss %.5f", it + 1, settings.iterations, of, mean))
                if (it + 1) % checkpointEvery == 0 || it + 1 == end {
                    try saveAdaptors(analysis, iterations: it + 1)
                }
                if let limit = iterationLimit, it + 1 - startIteration >= limit { throw AnalysisInterrupted(iterations: it + 1) }
            }
        }
        if let halving = settings.halving {
            guard let latencies else { throw PractiseError("a halving analysis ranks candidates by score: it needs their latency figures") }
            for budget in halving.budgets(iterations: settings.iterations).dropLast() where !rungs.contains(where: { $0.iterations == budget }) {
                guard analysis.completedIterations <= budget else {
                    throw PractiseError("\(path("halving.json")) lacks the rung at iteration \(budget) although the adaptors were trained \(analysis.completedIterations) iterations; delete \(stateDir) or use --force to start over")
                }
                try train(until: budget)
                let rung = try decideRung(halving, analysis: analysis, data: data, latencies: latencies, progress: progress)
                rungs.append(rung)
                try OutputFile.writeJSON(rungs, to: path("halving.json"))
                analysis.stopTraining(candidates.indices.filter { rung.eliminated.contains(candidates[$0].path) })
            }
        }
        for rung in rungs { onRung?(rung) }
        try train(until: settings.iterations)
        wallSeconds["analysis_training", default: 0] += Date().timeIntervalSince(t0)
        if let teacherTime = analysis.time.teacherPerIteration {
            var perCandidate: [String: Double] = [:]
            for (i, c) in candidates.enumerated() { perCandidate[c.path] = analysis.time.studentPerIteration(i) }
            secondsPerIteration = (perCandidate, teacherTime)
        }
        let t1 = Date()
        let cache = try analysis.makeEvalCache(data: data)
        for (i, c) in candidates.enumerated() where done[c.path] == nil && analysis.training[i] {
            progress("analysis: measuring recoverability of \(c.path)")
            done[c.path] = try Self.checkedRecoverability(analysis.recoverability(of: i, cache: cache), of: c.path)
            try OutputFile.writeJSON(done, to: path("recoverability.json"))
        }
        wallSeconds["analysis_evaluation", default: 0] += Date().timeIntervalSince(t1)
        return done
    }

    /// At a rung: the recoverability of every candidate still training (after
    /// `analysis.completedIterations` iterations), ranked by score with `latencies`, and the
    /// ones that go on (``SuccessiveHalving/split(_:)``).
    func decideRung(_ halving: SuccessiveHalving, analysis: RecoverabilityAnalysis, data: TinySet, latencies: BlockLatencies,
                    progress: (String) -> Void) throws -> HalvingRung {
        let t0 = Date()
        defer { wallSeconds["analysis_evaluation", default: 0] += Date().timeIntervalSince(t0) }
        let cache = try analysis.makeEvalCache(data: data)
        var partial: [String: Double] = [:]
        for (i, c) in candidates.enumerated() where analysis.training[i] {
            progress("analysis: measuring recoverability of \(c.path) after \(analysis.completedIterations) iterations")
            partial[c.path] = try Self.checkedRecoverability(analysis.recoverability(of: i, cache: cache), of: c.path)
        }
        let scores = partial.map { CandidateScore(block: $0.key, recoverability: $0.value, latency: latencies.reductions[$0.key]!) }
        return HalvingRung(iterations: analysis.completedIterations, recoverabilities: partial, kept: halving.split(scores).kept)
    }

    /// Restores the adaptor checkpoint in the state folder, if there is one.
    func restoreAdaptors(_ analysis: RecoverabilityAnalysis) throws {
        let ckpt = path("adaptors.safetensors")
        guard FileManager.default.fileExists(atPath: ckpt) else { return }
        let saved = try Checkpoint.load(URL(fileURLWithPath: ckpt))
        var tensors: [String: Tensor] = [:]
        for (k, r) in saved.tensors { tensors[k] = Tensor(r.values, shape: r.shape) }
        let text = saved.metadata["iterations"] ?? ""
        guard let iterations = Int(text), (0...settings.iterations).contains(iterations) else {
            throw PractiseError("\(ckpt): metadata iterations must be an integer in 0...\(settings.iterations) (the analysis' iterations); found '\(text.prefix(40))'; delete it to restart the analysis")
        }
        try WeightsIO.checkValues(tensors, file: ckpt)
        try analysis.restore(tensors, iterations: iterations)
    }

    /// The rungs a halving analysis decided so far (`halving.json`; none for a full analysis).
    public func loadRungs() -> [HalvingRung] {
        guard settings.halving != nil, let data = FileManager.default.contents(atPath: path("halving.json")) else { return [] }
        return (try? JSONDecoder().decode([HalvingRung].self, from: data)) ?? []
    }

    /// `value` when finite; otherwise an error naming the candidate: its adapted student's
    /// features overflowed or became NaN on the tiny set, which no score can rank.
    public static func checkedRecoverability(_ value: Double, of block: String) throws -> Double {
        guard value.isFinite else {
            throw PractiseError("the recoverability of \(block) is \(value): its adapted student's features overflowed or became NaN on the tiny set (adaptor training diverged, or the teacher's features are too large for float32); try a lower --lr")
        }
        return value
    }

    /// Whether `value` can be a recoverability: a mean squared error, finite and ≥ 0 (a file
    /// edited by hand or damaged can say anything).
    public static func isValidRecoverability(_ value: Double) -> Bool { value.isFinite && value >= 0 }

    func loadRecoverability() -> [String: Double] {
        guard let data = FileManager.default.contents(atPath: path("recoverability.json")) else { return [:] }
        // A value no analysis writes (a damaged or hand-edited file) is measured again.
        return ((try? JSONDecoder().decode([String: Double].self, from: data)) ?? [:]).filter { Self.isValidRecoverability($0.value) }
    }

    func saveAdaptors(_ analysis: RecoverabilityAnalysis, iterations: Int) throws {
        var dict = StateDict(tensors: [:], order: [], metadata: ["iterations": String(iterations)])
        for (k, t) in analysis.checkpointTensors() { dict.set(k, TensorRecord(shape: t.shape, sourceDType: .f32, values: t.array)) }
        try SafeTensors.write(dict, to: URL(fileURLWithPath: path("adaptors.safetensors")))
    }
}

/// Thrown when ``AnalysisRun/iterationLimit`` stops a run early.
public struct AnalysisInterrupted: Error { public let iterations: Int }
