import Engine
import Foundation
import Practise

/// The settings a sharded analysis records with each result, from the command's options.
enum ShardSetup {
    static func settings(_ m: ResolvedModel, data: PreparedData, phase: PhaseOptions, seed: UInt64) throws -> ShardSettings {
        guard let path = m.loaded?.path else { throw PractiseError("a sharded analysis needs --weights FILE") }
        return ShardSettings(model: m.spec.architecture.rawValue, teacherSHA256: try SHA256.hex(file: path), samples: data.sampleKeys,
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
                return Row(block: block, state: "done", detail: String(format: "recoverability %.6f, shard %@ on %@", r.recoverability, r.shard, r.host))
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
        say("\(folder.dir): \(counts.joined(separator: ", ")) of \(rows.count) candidates")
        try Context.writeJSON(rows, to: json)
    }
}
