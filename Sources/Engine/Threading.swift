import CKernels
import Foundation

/// Thread count used by every kernel. Defaults to `PRACTISE_THREADS` or all cores.
public enum Threads {
    nonisolated(unsafe) private static var configured: Int = {
        if let s = ProcessInfo.processInfo.environment["PRACTISE_THREADS"], let n = Int(s), n > 0 { return n }
        return ProcessInfo.processInfo.activeProcessorCount
    }()

    public static var count: Int {
        get { configured }
        set { configured = max(1, newValue) }
    }
}

/// Data-parallel loops over the engine's threads.
public enum Parallel {
    /// Runs `body(i)` for `i` in `0..<count`, split into at most `Threads.count` contiguous chunks.
    /// Runs inline when there is one chunk, so small work pays no dispatch cost.
    @inline(__always)
    public static func forEach(_ count: Int, minChunk: Int = 1, _ body: (Int) -> Void) {
        chunks(count, minChunk: minChunk) { range in for i in range { body(i) } }
    }

    /// Calls `body(range)` over at most `Threads.count` contiguous chunks of `0..<count`.
    public static func chunks(_ count: Int, minChunk: Int = 1, _ body: (Range<Int>) -> Void) {
        indexedChunks(count, minChunk: minChunk) { range, _ in body(range) }
    }

    /// Calls `body(range, piece)` for `piece` in `0..<pieceCount(count)`, each with its own range.
    public static func indexedChunks(_ count: Int, minChunk: Int = 1, _ body: (Range<Int>, Int) -> Void) {
        if count <= 0 { return }
        let pieces = pieceCount(count, minChunk: minChunk)
        if pieces == 1 { body(0..<count, 0); return }
        withoutActuallyEscaping(body) { body in
            var job = PieceJob(count: count, pieces: pieces, body: body)
            withUnsafeMutablePointer(to: &job) { ctx in
                pk_parallel_run(Int32(pieces), Int32(Threads.count), { ctx, p in
                    let job = ctx!.assumingMemoryBound(to: PieceJob.self)
                    let count = job.pointee.count, pieces = job.pointee.pieces, p = Int(p)
                    let lo = count * p / pieces, hi = count * (p + 1) / pieces
                    if lo < hi { job.pointee.body(lo..<hi, p) }
                }, ctx)
            }
        }
    }

    /// Runs `body(task)` once for every `task` in `0..<count`, the engine's threads each taking
    /// the next unclaimed task as they finish one (so unequal tasks still share the threads
    /// evenly). Parallel regions inside a task run on the thread that runs it.
    public static func tasks(_ count: Int, _ body: (Int) -> Void) {
        if count <= 0 { return }
        if count == 1 || Threads.count == 1 { for t in 0..<count { body(t) }; return }
        // One region holds at most 0xFFFF pieces: more tasks run as several regions.
        let perRegion = 0xFFFF
        withoutActuallyEscaping(body) { body in
            for first in stride(from: 0, to: count, by: perRegion) {
                var job = TaskJob(first: first, body: body)
                withUnsafeMutablePointer(to: &job) { ctx in
                    pk_parallel_run(Int32(min(perRegion, count - first)), Int32(Threads.count), { ctx, t in
                        let job = ctx!.assumingMemoryBound(to: TaskJob.self)
                        job.pointee.body(job.pointee.first + Int(t))
                    }, ctx)
                }
            }
        }
    }

    /// Calls `body(range)` over at most `Threads.count` contiguous ranges of `0..<count` whose
    /// bounds (except the last end) are multiples of `unit`: column blocks of a vector tile,
    /// row panels of a packed matrix.
    public static func alignedChunks(_ count: Int, unit: Int, _ body: (Range<Int>) -> Void) {
        chunks((count + unit - 1) / unit) { r in body(r.lowerBound * unit..<min(count, r.upperBound * unit)) }
    }

    /// `indexedChunks` for a sum of per-chunk contributions: each piece gets its own zeroed
    /// buffer of `size` floats to add into (piece 0 `result` itself), and `result` ends as the sum
    /// of them all (overwritten). With `result` nil the pieces get nil. With `parallel` false
    /// everything runs as one piece on this thread.
    public static func summingChunks(_ count: Int, size: Int, into result: UnsafeMutablePointer<Float>?,
                                     parallel: Bool = true,
                                     _ body: (Range<Int>, UnsafeMutablePointer<Float>?) -> Void) {
        let pieces = parallel ? pieceCount(count) : 1
        let extra = result == nil ? 0 : (pieces - 1) * size
        let parts = UnsafeMutablePointer<Float>.allocate(capacity: max(extra, 1))
        defer { parts.deallocate() }
        func run(_ range: Range<Int>, _ piece: Int) {
            let sum = result.map { piece == 0 ? $0 : parts + (piece - 1) * size }
            sum?.initialize(repeating: 0, count: size)
            body(range, sum)
        }
        if pieces == 1 || count <= 1 { run(0..<max(count, 0), 0) } else { indexedChunks(count, run) }
        guard let result else { return }
        for p in 1..<max(pieces, 1) { Vector.add(result, parts + (p - 1) * size, count: size) }
    }

    /// Number of chunks `chunks(count:)` would use.
    public static func pieceCount(_ count: Int, minChunk: Int = 1) -> Int {
        max(1, min(Threads.count, count / max(minChunk, 1)))
    }
}

/// What the tasks of one `Parallel.tasks` region share (read by the workers while the caller waits).
private struct TaskJob {
    let first: Int
    let body: (Int) -> Void
}

/// What the pieces of one `Parallel` region share: the pool's workers read it only while the
/// calling thread waits inside `pk_parallel_run`.
private struct PieceJob {
    let count: Int, pieces: Int
    let body: (Range<Int>, Int) -> Void
}
