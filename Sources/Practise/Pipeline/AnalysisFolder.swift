import Foundation
import SafeFiles
import NN

/// Everything that decides a candidate's recoverability, recorded with each result so results
/// made by different shards can be checked to belong together.
public struct ShardSettings: Codable, Sendable, Equatable {
    public var model: String
    /// SHA-256 of the teacher's weights file.
    public var teacherSHA256: String
    /// SHA-256 of the tiny set's sample list (one key a line) and its size.
    public var samplesSHA256: String
    public var sampleCount: Int
    public var seed: UInt64
    public var iterations: Int
    public var batchSize: Int
    public var learningRate: Float
    /// Threads of the training: results are bit-identical only at the same count.
    public var threads: Int
    /// Input image `[C, H, W]`.
    public var imageShape: [Int]

    enum CodingKeys: String, CodingKey {
        case model, teacherSHA256 = "teacher_sha256", samplesSHA256 = "samples_sha256", sampleCount = "sample_count", seed, iterations
        case batchSize = "batch_size", learningRate = "learning_rate", threads, imageShape = "image_shape"
    }

    public init(model: String, teacherSHA256: String, samples: [String], seed: UInt64, iterations: Int, batchSize: Int,
                learningRate: Float, threads: Int, imageShape: [Int]) {
        self.model = model; self.teacherSHA256 = teacherSHA256
        samplesSHA256 = SHA256.hex(Data(samples.map { $0 + "\n" }.joined().utf8)); sampleCount = samples.count
        self.seed = seed; self.iterations = iterations; self.batchSize = batchSize; self.learningRate = learningRate
        self.threads = threads; self.imageShape = imageShape
    }

    /// Each setting that differs, as `name found (expected …)`.
    public func differences(from expected: ShardSettings, ignoringThreads: Bool = false) -> [String] {
        var out: [String] = []
        func check<T: Equatable>(_ name: String, _ a: T, _ b: T) { if a != b { out.append("\(name) \(a) (expected \(b))") } }
        check("model", model, expected.model)
        check("teacher_sha256", teacherSHA256, expected.teacherSHA256)
        check("samples_sha256", samplesSHA256, expected.samplesSHA256)
        check("sample_count", sampleCount, expected.sampleCount)
        check("seed", seed, expected.seed)
        check("iterations", iterations, expected.iterations)
        check("batch_size", batchSize, expected.batchSize)
        check("learning_rate", learningRate, expected.learningRate)
        if !ignoringThreads { check("threads", threads, expected.threads) }
        check("image_shape", imageShape, expected.imageShape)
        return out
    }
}

/// One candidate's recoverability as a shard wrote it (`results/<block>.json`).
public struct CandidateResult: Codable, Sendable, Equatable {
    public var block: String
    public var recoverability: Double
    public var settings: ShardSettings
    /// `I/N` of the shard that made it, its host and its training wall time (shared by the
    /// shard's candidates, which train together).
    public var shard: String
    public var host: String
    public var shardWallSeconds: Double
    /// Measured wall seconds per training iteration of this candidate's student, and of the
    /// teacher's pass its shard ran (nil in results of a shard resumed after training).
    public var secondsPerIteration: Double?
    public var teacherSecondsPerIteration: Double?
    /// The shard plan's estimated cost of this candidate (``ShardPlan/costs``).
    public var estimatedCost: Int?

    public init(block: String, recoverability: Double, settings: ShardSettings, shard: String, host: String, shardWallSeconds: Double,
                secondsPerIteration: Double? = nil, teacherSecondsPerIteration: Double? = nil, estimatedCost: Int? = nil) {
        self.block = block; self.recoverability = recoverability; self.settings = settings; self.shard = shard; self.host = host
        self.shardWallSeconds = shardWallSeconds; self.secondsPerIteration = secondsPerIteration
        self.teacherSecondsPerIteration = teacherSecondsPerIteration; self.estimatedCost = estimatedCost
    }

    enum CodingKeys: String, CodingKey {
        case block, recoverability, settings, shard, host, shardWallSeconds = "shard_wall_seconds"
        case secondsPerIteration = "seconds_per_iteration", teacherSecondsPerIteration = "teacher_seconds_per_iteration"
        case estimatedCost = "estimated_cost"
    }
}

/// What a running shard writes every iteration (`running/shard-I-of-N.json`).
public struct ShardHeartbeat: Codable, Sendable, Equatable {
    public var shard: Int, count: Int
    public var candidates: [String]
    public var host: String
    public var pid: Int32
    public var iteration: Int, iterations: Int
    /// Seconds since 1970 of the last update.
    public var updated: Double

    public init(shard: Int, count: Int, candidates: [String], host: String, pid: Int32, iteration: Int, iterations: Int, updated: Double) {
        self.shard = shard; self.count = count; self.candidates = candidates; self.host = host; self.pid = pid
        self.iteration = iteration; self.iterations = iterations; self.updated = updated
    }
}

/// The analysis of one teacher shared by several shards, in a folder every shard can reach.
///
/// Layout: `analysis.json` (settings and candidate list, written by the first shard, checked
/// by the others), `results/<block>.json` (one ``CandidateResult`` per finished candidate,
/// written atomically), `running/shard-I-of-N.json` (heartbeats), `state/` (each shard's
/// resumable training state), and after the merge `latency.json` and `scores.json`.
public struct AnalysisFolder: Sendable {
    public let dir: String
    /// A heartbeat older than this means its shard is gone.
    public var staleAfterSeconds: Double = 600

    public init(_ dir: String) { self.dir = dir }

    public struct Manifest: Codable, Sendable, Equatable {
        public var settings: ShardSettings
        public var candidates: [String]
    }

    /// The shards' manifest (and the file that marks a folder as a shared analysis folder).
    public static let manifestFile = "analysis.json"

    public func path(_ parts: String...) -> String { parts.reduce(dir) { ($0 as NSString).appendingPathComponent($1) } }
    func resultPath(_ block: String) -> String { path("results", block + ".json") }
    func heartbeatPath(shard: Int, count: Int) -> String { path("running", "shard-\(shard)-of-\(count).json") }

    /// Creates the folder and writes `analysis.json`, or checks that the one there matches.
    public func prepare(_ manifest: Manifest) throws {
        for sub in ["results", "running", "state"] {
            try FileManager.default.createDirectory(atPath: path(sub), withIntermediateDirectories: true)
        }
        if let saved = try loadManifest() {
            let diff = manifest.settings.differences(from: saved.settings)
            if !diff.isEmpty {
                throw PractiseError("\(dir) holds an analysis made with other settings: \(diff.map { "this shard has " + $0 }.joined(separator: ", ")); use the same options as the other shards or another --out")
            }
            if saved.candidates != manifest.candidates {
                throw PractiseError("\(dir) holds an analysis of other candidates (\(saved.candidates.joined(separator: ", "))); use another --out")
            }
        } else {
            try OutputFile.writeJSON(manifest, to: path(Self.manifestFile))
        }
    }

    public func loadManifest() throws -> Manifest? {
        guard let data = FileManager.default.contents(atPath: path(Self.manifestFile)) else { return nil }
        let manifest: Manifest
        do { manifest = try JSONDecoder().decode(Manifest.self, from: data) } catch {
            throw PractiseError("\(path(Self.manifestFile)) is damaged, not the manifest of a sharded analysis (\(JSONInput.describe(error, data: data))); delete it, or use another folder")
        }
        // Candidate names become file names under results/: block paths only, each once.
        let names = manifest.candidates
        let bad = names.first { $0.isEmpty || $0.contains("..") || !$0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "." || $0 == "_" } }
        if names.isEmpty || bad != nil || Set(names).count != names.count {
            let what = names.isEmpty ? "none" : bad.map { "'\($0)', which is not a block path" } ?? "a block twice"
            throw PractiseError("\(path(Self.manifestFile)) is damaged: its candidates must be distinct block paths (e.g. layer1.1), one or more; found \(what); delete the folder's analysis.json, or use another folder")
        }
        return manifest
    }

    /// The result of `block`, nil when it has none yet.
    public func result(of block: String) throws -> CandidateResult? {
        let file = resultPath(block)
        guard let data = FileManager.default.contents(atPath: file) else { return nil }
        let result: CandidateResult
        do { result = try JSONDecoder().decode(CandidateResult.self, from: data) } catch {
            throw PractiseError("\(file) is not a candidate result (\(JSONInput.describe(error, data: data))); delete it so its shard reruns the candidate")
        }
        // Timings feed --status's projections: a negative or infinite one is a damaged file.
        let timings: [(String, Double?)] = [("shard_wall_seconds", result.shardWallSeconds), ("seconds_per_iteration", result.secondsPerIteration),
                                            ("teacher_seconds_per_iteration", result.teacherSecondsPerIteration)]
        if let (key, value) = timings.first(where: { $0.1.map { !($0.isFinite && $0 >= 0) } ?? false }) {
            throw PractiseError("\(file) is not a candidate result (\(key) must be a finite number of seconds ≥ 0, found \(value!)); delete it so its shard reruns the candidate")
        }
        if let cost = result.estimatedCost, cost < 0 {
            throw PractiseError("\(file) is not a candidate result (estimated_cost must be ≥ 0, found \(cost)); delete it so its shard reruns the candidate")
        }
        return result
    }

    public func write(_ result: CandidateResult) throws { try OutputFile.writeJSON(result, to: resultPath(result.block)) }

    public func writeHeartbeat(_ h: ShardHeartbeat) throws { try OutputFile.writeJSON(h, to: heartbeatPath(shard: h.shard, count: h.count)) }

    public func removeHeartbeat(shard: Int, count: Int) { try? FileManager.default.removeItem(atPath: heartbeatPath(shard: shard, count: count)) }

    /// Heartbeats in `running/`, unreadable ones skipped (a shard rewrites its own every iteration).
    public func heartbeats() -> [ShardHeartbeat] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path("running"))) ?? []
        return names.sorted().filter { $0.hasSuffix(".json") }.compactMap { n in
            FileManager.default.contents(atPath: path("running", n)).flatMap { try? JSONDecoder().decode(ShardHeartbeat.self, from: $0) }
        }
    }

    /// Whether the shard behind `h` is alive: updated recently, and its process exists when it
    /// runs on this host.
    public func isAlive(_ h: ShardHeartbeat, now: Date = Date()) -> Bool {
        if now.timeIntervalSince1970 - h.updated > staleAfterSeconds { return false }
        if h.host == ProcessInfo.processInfo.hostName && kill(h.pid, 0) != 0 && errno == ESRCH { return false }
        return true
    }

    public enum CandidateState: Sendable, Equatable {
        case done(CandidateResult)
        /// A live shard is training it.
        case running(ShardHeartbeat)
        /// No result and no live shard; `lastSeen` is a heartbeat of a shard that stopped.
        case missing(lastSeen: ShardHeartbeat?)
    }

    /// The state of every candidate of the manifest, in network order.
    public func status(now: Date = Date()) throws -> [(block: String, state: CandidateState)] {
        guard let manifest = try loadManifest() else {
            throw PractiseError("\(dir) holds no analysis.json: no shard has started there")
        }
        let beats = heartbeats()
        return try manifest.candidates.map { block in
            if let r = try result(of: block) { return (block, .done(r)) }
            let mine = beats.filter { $0.candidates.contains(block) }
            if let live = mine.first(where: { isAlive($0, now: now) }) { return (block, .running(live)) }
            return (block, .missing(lastSeen: mine.max { $0.updated < $1.updated }))
        }
    }

    /// Every candidate's recoverability, checked: each candidate of the manifest has a result,
    /// all made with the manifest's settings (thread count included), which must match
    /// `expected` (when given; its thread count is not compared: the merge may run with other
    /// threads than the shards). Throws naming what is missing or mismatched.
    public func recoverabilities(expected: ShardSettings?) throws -> (Manifest, [String: Double]) {
        guard let manifest = try loadManifest() else {
            throw PractiseError("\(dir) holds no analysis.json: no shard has run there (run `practise analyze … --shard-index I --shard-count N --out \(dir)` first)")
        }
        if let expected {
            let diff = manifest.settings.differences(from: expected, ignoringThreads: true).map { d in d.replacingOccurrences(of: "(expected", with: "(these options give") }
            if !diff.isEmpty { throw PractiseError("\(dir) was analysed with other settings: \(diff.joined(separator: ", "))") }
        }
        var missing: [String] = [], mismatched: [String] = [], invalid: [String] = [], values: [String: Double] = [:]
        for block in manifest.candidates {
            guard let r = try result(of: block) else { missing.append(block); continue }
            let diff = r.settings.differences(from: manifest.settings)
            if r.block != block { mismatched.append("\(block): the file names \(r.block)") }
            else if !diff.isEmpty { mismatched.append("\(block): \(diff.joined(separator: ", "))") }
            else if !AnalysisRun.isValidRecoverability(r.recoverability) { invalid.append("\(block): \(r.recoverability)") }
            else { values[block] = r.recoverability }
        }
        var problems: [String] = []
        if !invalid.isEmpty {
            problems.append("results whose recoverability is not a mean squared error (finite, ≥ 0): \(invalid.joined(separator: ", ")) (in \(dir)/results/)")
        }
        if !missing.isEmpty {
            problems.append("\(missing.count) of \(manifest.candidates.count) candidates have no result: \(missing.joined(separator: ", "))")
        }
        if !mismatched.isEmpty { problems.append("results made with other settings: \(mismatched.joined(separator: "; "))") }
        if !problems.isEmpty {
            throw PractiseError("cannot merge \(dir): \(problems.joined(separator: "; ")) (see `practise analyze --status \(dir)`)")
        }
        return (manifest, values)
    }

    /// The merged analysis: checked recoverabilities (``recoverabilities(expected:)``) with the
    /// latency figures of `latency.json` in the folder, taken from `latency` (measured on this
    /// machine, or a latency table) and written there when absent or from another source; also
    /// writes the ranked `scores.json`.
    public func merge(expected: ShardSettings?, teacher: ClassifierModel, imageShape: [Int], latency: LatencySource) throws
        -> (scores: [CandidateScore], latencies: BlockLatencies)
    {
        let (manifest, recoverability) = try recoverabilities(expected: expected)
        let byPath = Dictionary(uniqueKeysWithValues: Candidates.find(in: teacher, imageShape: imageShape).map { ($0.path, $0) })
        let candidates = try manifest.candidates.map { p -> BlockCandidate in
            guard let c = byPath[p] else { throw PractiseError("\(dir) names candidate \(p), which this teacher does not have") }
            return c
        }
        let latencies = try AnalysisRun.latencies(file: path("latency.json"), source: latency, candidates: candidates)
        let scores = manifest.candidates.map { CandidateScore(block: $0, recoverability: recoverability[$0]!, latency: latencies.reductions[$0]!) }
        try OutputFile.writeJSON(Selection.ranked(scores), to: path("scores.json"))
        return (scores, latencies)
    }
}
