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

    public init(model: String, candidates: [String], iterations: Int, batchSize: Int, learningRate: Float, seed: UInt64, samples: [String]) {
        self.model = model; self.candidates = candidates; self.iterations = iterations
        self.batchSize = batchSize; self.learningRate = learningRate; self.seed = seed; self.samples = samples
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
                throw PractiseError("\(stateDir) holds an analysis with different settings (model, samples, seed or iterations); use another folder or --force to start over")
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
        if let data = FileManager.default.contents(atPath: file),
           let saved = try? JSONDecoder().decode(BlockLatencies.self, from: data),
           Set(saved.reductions.keys) == Set(candidates.map(\.path)), saved.origin.source == source.sourceLabel {
            return saved
        }
        let latencies = try source.blockLatencies(for: candidates)
        try OutputFile.writeJSON(latencies, to: file)
        return latencies
    }

    /// The candidates' latency figures of the last ``run(data:progress:)``.
    public private(set) var latencies: BlockLatencies?

    /// Latency figures, then every candidate's recoverability (``recoverabilities(data:progress:)``).
    /// `progress(text)` receives a status line.
    public func run(data: TinySet, progress: (String) -> Void = { _ in }) throws -> [CandidateScore] {
        let latencies = try latencyReductions()
        self.latencies = latencies
        let done = try recoverabilities(data: data, progress: progress)
        return candidates.map { CandidateScore(block: $0.path, recoverability: done[$0.path]!, latency: latencies.reductions[$0.path]!) }
    }

    /// Trains (or resumes) every candidate's adaptors, then measures recoverability; kept in
    /// `recoverability.json` as each is known. `progress(text)` receives a status line.
    public func recoverabilities(data: TinySet, progress: (String) -> Void = { _ in }) throws -> [String: Double] {
        var done = loadRecoverability()
        let pending = candidates.filter { done[$0.path] == nil }
        if !pending.isEmpty {
            let config = PhaseConfig(iterations: settings.iterations, learningRate: settings.learningRate, batchSize: settings.batchSize)
            let analysis = RecoverabilityAnalysis(teacher: teacher, candidates: candidates, config: config)
            let ckpt = path("adaptors.safetensors")
            if FileManager.default.fileExists(atPath: ckpt) {
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
            let t0 = Date()
            let startIteration = analysis.completedIterations
            onStart?(startIteration)
            try analysis.train(data: data) { it, losses in
                onIteration?(it + 1)
                let mean = losses.reduce(0, +) / Float(max(losses.count, 1))
                progress(String(format: "analysis: iteration %d/%d, mean adaptor loss %.5f", it + 1, settings.iterations, mean))
                if (it + 1) % checkpointEvery == 0 || it + 1 == settings.iterations {
                    try saveAdaptors(analysis, iterations: it + 1)
                }
                if let limit = iterationLimit, it + 1 - startIteration >= limit { throw AnalysisInterrupted(iterations: it + 1) }
            }
            wallSeconds["analysis_training", default: 0] += Date().timeIntervalSince(t0)
            if let teacherTime = analysis.time.teacherPerIteration {
                var perCandidate: [String: Double] = [:]
                for (i, c) in candidates.enumerated() { perCandidate[c.path] = analysis.time.studentPerIteration(i) }
                secondsPerIteration = (perCandidate, teacherTime)
            }
            let t1 = Date()
            let cache = try analysis.makeEvalCache(data: data)
            for (i, c) in candidates.enumerated() where done[c.path] == nil {
                progress("analysis: measuring recoverability of \(c.path)")
                done[c.path] = try Self.checkedRecoverability(analysis.recoverability(of: i, cache: cache), of: c.path)
                try OutputFile.writeJSON(done, to: path("recoverability.json"))
            }
            wallSeconds["analysis_evaluation", default: 0] += Date().timeIntervalSince(t1)
        }
        return done
    }

    /// `value` when finite; otherwise an error naming the candidate: its adapted student's
    /// features overflowed or became NaN on the tiny set, which no score can rank.
    public static func checkedRecoverability(_ value: Double, of block: String) throws -> Double {
        guard value.isFinite else {
            throw PractiseError("the recoverability of \(block) is \(value): its adapted student's features overflowed or became NaN on the tiny set (adaptor training diverged, or the teacher's features are too large for float32); try a lower --lr")
        }
        return value
    }

    func loadRecoverability() -> [String: Double] {
        guard let data = FileManager.default.contents(atPath: path("recoverability.json")) else { return [:] }
        return (try? JSONDecoder().decode([String: Double].self, from: data)) ?? [:]
    }

    func saveAdaptors(_ analysis: RecoverabilityAnalysis, iterations: Int) throws {
        var dict = StateDict(tensors: [:], order: [], metadata: ["iterations": String(iterations)])
        for (k, t) in analysis.checkpointTensors() { dict.set(k, TensorRecord(shape: t.shape, sourceDType: .f32, values: t.array)) }
        try SafeTensors.write(dict, to: URL(fileURLWithPath: path("adaptors.safetensors")))
    }
}

/// Thrown when ``AnalysisRun/iterationLimit`` stops a run early.
public struct AnalysisInterrupted: Error { public let iterations: Int }
