import Foundation
import NN

/// Shard `index` of `count` of an analysis in a shared ``AnalysisFolder``: trains its share of
/// the candidates (``ShardPlan``) and writes one result per candidate.
///
/// Safe to retry or requeue: candidates with a result are skipped, and the training resumes
/// from the shard's last checkpoint in `state/`. Each candidate's adaptors train on the same
/// batches (`TinySet.trainBatch(i)` is a pure function of `i`) and see only the frozen teacher
/// and their own weights, so a candidate's recoverability does not depend on which other
/// candidates share its process: N shards give the single process's numbers bit for bit at the
/// same thread count.
public final class ShardRun {
    public let teacher: ClassifierModel
    public let imageShape: [Int]
    public let settings: ShardSettings
    /// Sample keys of the tiny set (recorded by the analysis state).
    public let samples: [String]
    public let folder: AnalysisFolder
    public let index: Int, count: Int
    public var checkpointEvery = 50
    /// Stops after this many iterations of this invocation (tests of an interrupted shard).
    public var iterationLimit: Int?
    /// Receives the shard's log lines (candidates, resume point, progress, end).
    public var log: (String) -> Void = { _ in }
    /// Progress lines at least this often (seconds), besides every tenth of the iterations.
    public var progressEverySeconds = 30.0

    public init(teacher: ClassifierModel, imageShape: [Int], settings: ShardSettings, samples: [String], folder: AnalysisFolder,
                index: Int, count: Int) throws {
        guard count >= 1 else { throw PractiseError("--shard-count must be at least 1 (found \(count))") }
        guard (0..<count).contains(index) else { throw PractiseError("--shard-index must be in 0...\(count - 1) for --shard-count \(count) (found \(index))") }
        self.teacher = teacher; self.imageShape = imageShape; self.settings = settings; self.samples = samples
        self.folder = folder; self.index = index; self.count = count
    }

    public struct Outcome: Sendable, Equatable {
        /// The shard's candidates, those already done before it started, and those it trained.
        public var assigned: [String], skipped: [String], trained: [String]
    }

    public func run(data: TinySet) throws -> Outcome {
        let all = Candidates.find(in: teacher, imageShape: imageShape)
        try folder.prepare(.init(settings: settings, candidates: all.map(\.path)))
        let plan = ShardPlan(model: teacher, candidates: all, imageShape: imageShape, count: count)
        let mine = plan.shards[index]
        var done: [String] = []
        for block in mine {
            guard let r = try folder.result(of: block) else { continue }
            let diff = r.settings.differences(from: settings)
            guard diff.isEmpty else {
                throw PractiseError("\(folder.resultPath(block)) was made with other settings (\(diff.joined(separator: ", "))); delete it to rerun \(block)")
            }
            done.append(block)
        }
        let pending = mine.filter { !done.contains($0) }
        let name = "shard \(index)/\(count)"
        log(String(format: "%@: %d candidates (%.1f%% of the estimated cost): %@", name, mine.count, 100 * plan.share(of: index),
                   mine.isEmpty ? "none" : mine.joined(separator: ", ")))
        if !done.isEmpty { log("\(name): already done: \(done.joined(separator: ", "))") }
        guard !pending.isEmpty else {
            log("\(name): nothing to do")
            return Outcome(assigned: mine, skipped: done, trained: [])
        }

        // The state folder is named by the pending set, so a rerun with the same work resumes
        // and a rerun with other work (other count, some results done) cannot restore a
        // checkpoint of other candidates.
        let key = String(SHA256.hex(Data(pending.joined(separator: ",").utf8)).prefix(12))
        let stateDir = folder.path("state", "shard-\(index)-of-\(count)-\(key)")
        let analysis = try AnalysisRun(teacher: teacher, imageShape: imageShape,
                                       settings: AnalysisSettings(model: settings.model, candidates: pending, iterations: settings.iterations,
                                                                  batchSize: settings.batchSize, learningRate: settings.learningRate,
                                                                  seed: settings.seed, samples: samples),
                                       stateDir: stateDir, latencyBatch: 1)
        analysis.checkpointEvery = checkpointEvery
        analysis.iterationLimit = iterationLimit
        let host = ProcessInfo.processInfo.hostName
        var beat = ShardHeartbeat(shard: index, count: count, candidates: pending, host: host, pid: getpid(),
                                  iteration: 0, iterations: settings.iterations, updated: Date().timeIntervalSince1970)
        try folder.writeHeartbeat(beat)
        defer { folder.removeHeartbeat(shard: index, count: count) }
        let start = Date()
        var lastLine = Date.distantPast, lastBeat = Date.distantPast
        let every = max(1, settings.iterations / 10)
        analysis.onStart = { [log] from in
            log(from > 0 ? "\(name): resuming at iteration \(from)/\(self.settings.iterations) from \(stateDir)"
                         : "\(name): training \(pending.count) candidates for \(self.settings.iterations) iterations")
        }
        analysis.onIteration = { [log, folder, progressEverySeconds] it in
            let now = Date()
            if now.timeIntervalSince(lastBeat) >= 1 || it == beat.iterations {
                beat.iteration = it
                beat.updated = now.timeIntervalSince1970
                try? folder.writeHeartbeat(beat)
                lastBeat = now
            }
            if it % every == 0 || now.timeIntervalSince(lastLine) >= progressEverySeconds {
                log(String(format: "%@: iteration %d/%d, %.0f s", name, it, beat.iterations, now.timeIntervalSince(start)))
                lastLine = now
            }
        }
        let values = try analysis.recoverabilities(data: data) { [log] line in
            if line.hasPrefix("analysis: measuring") { log("\(name): \(line.dropFirst("analysis: ".count))") }
        }
        let wall = Date().timeIntervalSince(start)
        for block in pending {
            try folder.write(CandidateResult(block: block, recoverability: values[block]!, settings: settings,
                                             shard: "\(index)/\(count)", host: host, shardWallSeconds: wall,
                                             secondsPerIteration: analysis.secondsPerIteration?.candidates[block],
                                             teacherSecondsPerIteration: analysis.secondsPerIteration?.teacher,
                                             estimatedCost: plan.costs[block]))
        }
        log(String(format: "%@: done, %d results written in %.1f s", name, pending.count, wall))
        return Outcome(assigned: mine, skipped: done, trained: pending)
    }
}
