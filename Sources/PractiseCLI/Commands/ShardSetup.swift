import Engine
import Foundation
import Practise

/// The settings a sharded analysis records with each result, from the command's options.
enum ShardSetup {
    static func settings(_ m: ResolvedModel, data: PreparedData, phase: PhaseOptions, seed: UInt64) throws -> ShardSettings {
        guard let path = m.weightsPath else { throw PractiseError("a sharded analysis needs --weights FILE") }
        return ShardSettings(model: m.network.name, teacherSHA256: try SHA256.hex(file: path), samples: data.sampleKeys,
                             seed: seed, iterations: phase.analysisIterations, batchSize: data.batchSize, learningRate: phase.lr,
                             threads: Threads.count, imageShape: data.imageShape)
    }
}

/// `practise analyze --status DIR`: one line per candidate, then the counts.
enum AnalysisStatusPrinter {
    struct Row: Encodable { var block: String, state: String, detail: String }

    static func print(_ folder: AnalysisFolder, json: String?) throws {
        let now = Date()
        func ago(_ t: Double) -> String { String(format: "%.0f s ago", now.timeIntervalSince1970 - t) }
        let rows: [Row] = try folder.status(now: now).map { block, state in
            switch state {
            case .done(let r):
                let cost = r.secondsPerIteration.map { String(format: ", %.3f s/iteration", $0) } ?? ""
                return Row(block: block, state: "done", detail: String(format: "recoverability %.6f, shard %@ on %@", r.recoverability, r.shard, r.host) + cost)
            case .running(let h):
                return Row(block: block, state: "running", detail: "shard \(h.shard)/\(h.count) on \(h.host) (pid \(h.pid)), iteration \(h.iteration)/\(h.iterations), updated \(ago(h.updated))")
            case .missing(let h?):
                return Row(block: block, state: "missing", detail: "shard \(h.shard)/\(h.count) on \(h.host) stopped at iteration \(h.iteration)/\(h.iterations), last heartbeat \(ago(h.updated))")
            case .missing(nil):
                return Row(block: block, state: "missing", detail: "")
            }
        }
        say(Table.render(header: ["block", "state", "detail"], rows: rows.map { [$0.block, $0.state, $0.detail] }))
        let counts = ["done", "running", "missing"].map { s in "\(rows.filter { $0.state == s }.count) \(s)" }
        let projections = try projection(folder)
        if !projections.isEmpty {
            say("\nprojected from the measured seconds per iteration (the plan's assignment; each shard runs the teacher too):")
            say(Table.render(header: ["shards", "slowest shard s/iteration", "speed-up"], rows: projections.map {
                [String($0.shards), String(format: "%.3f", $0.largestShardSeconds), String(format: "%.2f×", $0.speedUp)]
            }))
        }
        say("\(folder.dir): \(counts.joined(separator: ", ")) of \(rows.count) candidates")
        try Context.writeJSON(Status(candidates: rows, projection: projections), to: json)
    }

    struct Status: Encodable { var candidates: [Row], projection: [ShardProjection] }

    /// Shard counts 1, 2, 4, … up to the candidate count, when every result carries measured
    /// and estimated costs (empty otherwise). The teacher's pass is the median the shards measured.
    static func projection(_ folder: AnalysisFolder) throws -> [ShardProjection] {
        guard let manifest = try folder.loadManifest() else { return [] }
        var measured: [String: Double] = [:], estimated: [String: Int] = [:], teacher: [Double] = []
        for block in manifest.candidates {
            guard let r = try folder.result(of: block), let s = r.secondsPerIteration, let e = r.estimatedCost,
                  let t = r.teacherSecondsPerIteration else { return [] }
            measured[block] = s; estimated[block] = e; teacher.append(t)
        }
        let n = manifest.candidates.count
        let counts = Array(Set(sequence(first: 1, next: { $0 * 2 <= n ? $0 * 2 : nil }).map { $0 } + [n])).sorted()
        return ShardProjection.project(candidates: manifest.candidates, estimated: estimated, measured: measured,
                                       teacher: RobustStatistics.median(teacher), counts: counts)
    }
}
