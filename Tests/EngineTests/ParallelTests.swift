import Engine
import Foundation
import XCTest

/// The worker pool behind `Parallel` (CKernels/threadpool.c): every index runs exactly once, in
/// the piece it was given, whatever the thread count, nesting, idle gaps or concurrent callers.
final class ParallelTests: XCTestCase {
    /// Runs `indexedChunks(count)` and returns how often each index ran and which piece ran it.
    private func coverage(_ count: Int, minChunk: Int = 1) -> (hits: [Int], pieceOf: [Int]) {
        let hits = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
        let pieceOf = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
        hits.initialize(repeating: 0, count: max(count, 1))
        pieceOf.initialize(repeating: -1, count: max(count, 1))
        defer { hits.deallocate(); pieceOf.deallocate() }
        Parallel.indexedChunks(count, minChunk: minChunk) { range, piece in
            for i in range { hits[i] += 1; pieceOf[i] = piece }
        }
        return (Array(UnsafeBufferPointer(start: hits, count: count)), Array(UnsafeBufferPointer(start: pieceOf, count: count)))
    }

    func testEveryIndexRunsOnceInContiguousPieces() {
        let saved = Threads.count
        defer { Threads.count = saved }
        for threads in [1, 2, 3, 4, 7] {
            Threads.count = threads
            for count in [0, 1, 2, 3, 5, 16, 1000] {
                let (hits, pieceOf) = coverage(count)
                XCTAssertEqual(hits, Array(repeating: 1, count: count), "\(threads) threads, \(count) indices")
                let pieces = Parallel.pieceCount(count)
                XCTAssertEqual(Set(pieceOf).count, min(pieces, count), "\(threads) threads, \(count) indices")
                XCTAssertEqual(pieceOf, pieceOf.sorted(), "pieces are contiguous ranges in order")
                XCTAssertTrue(pieceOf.allSatisfy { $0 >= 0 && $0 < max(pieces, 1) })
            }
            // minChunk bounds the number of pieces.
            XCTAssertEqual(Set(coverage(100, minChunk: 60).pieceOf).count, 1)
        }
    }

    /// `Parallel.tasks` runs each task once, shares them among the threads, and splits more
    /// tasks than one region holds (0xFFFF) into several regions.
    func testTasksRunOnceEach() {
        let saved = Threads.count
        defer { Threads.count = saved }
        for threads in [1, 2, 3] {
            Threads.count = threads
            for count in [0, 1, 2, 5, 64, 70_000] {
                let hits = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
                hits.initialize(repeating: 0, count: max(count, 1))
                defer { hits.deallocate() }
                Parallel.tasks(count) { t in hits[t] += 1 }
                XCTAssertTrue((0..<count).allSatisfy { hits[$0] == 1 }, "\(threads) threads, \(count) tasks")
            }
        }
        // With two threads and tasks that take a while, both threads take tasks.
        Threads.count = 2
        let lock = NSLock()
        var runners = Set<UInt64>()
        Parallel.tasks(16) { _ in
            usleep(2000)
            var tid: UInt64 = 0
            #if os(Linux)
            tid = UInt64(pthread_self())
            #else
            tid = UInt64(UInt(bitPattern: pthread_self()))
            #endif
            lock.withLock { _ = runners.insert(tid) }
        }
        XCTAssertEqual(runners.count, 2)
    }

    /// After the thread count is lowered, a worker left out never runs a piece, even one that was
    /// claiming the last pieces of a region with more threads as the next region opened.
    func testLoweredThreadCountKeepsWorkersOut() {
        let saved = Threads.count
        defer { Threads.count = saved }
        let lock = NSLock()
        for round in 0..<200 {
            Threads.count = 3
            Parallel.tasks(3000) { _ in }
            Threads.count = 2
            var runners = Set<UInt>()
            Parallel.tasks(64) { _ in
                let tid = UInt(bitPattern: Int(bitPattern: unsafeBitCast(pthread_self(), to: UInt.self)))
                lock.withLock { _ = runners.insert(tid) }
            }
            XCTAssertLessThanOrEqual(runners.count, 2, "round \(round)")
            if runners.count > 2 { break }
        }
    }

    func testManyShortRegionsAndWakingAfterIdle() {
        let saved = Threads.count
        defer { Threads.count = saved }
        Threads.count = 2
        let total = UnsafeMutablePointer<Int>.allocate(capacity: 64)
        defer { total.deallocate() }
        for round in 0..<3000 {
            total.initialize(repeating: 0, count: 64)
            Parallel.forEach(64) { i in total[i] = i + round }
            XCTAssertEqual((0..<64).reduce(0) { $0 + total[$1] }, 64 * 63 / 2 + 64 * round)
            // Now and then stay idle longer than the workers spin, so they go to sleep.
            if round % 1000 == 999 { usleep(5000) }
        }
    }

    func testNestedRegionsRunInline() {
        let saved = Threads.count
        defer { Threads.count = saved }
        Threads.count = 2
        let grid = UnsafeMutablePointer<Int>.allocate(capacity: 40 * 30)
        grid.initialize(repeating: 0, count: 40 * 30)
        defer { grid.deallocate() }
        Parallel.forEach(40) { i in
            Parallel.forEach(30) { j in grid[i * 30 + j] += 1 }
        }
        XCTAssertTrue((0..<1200).allSatisfy { grid[$0] == 1 })
    }

    func testConcurrentCallersEachGetTheirWholeRegion() {
        let saved = Threads.count
        defer { Threads.count = saved }
        Threads.count = 2
        let callers = 4, n = 257, rounds = 300
        nonisolated(unsafe) let sums = UnsafeMutablePointer<Int>.allocate(capacity: callers)
        sums.initialize(repeating: 0, count: callers)
        defer { sums.deallocate() }
        DispatchQueue.concurrentPerform(iterations: callers) { c in
            let cells = UnsafeMutablePointer<Int>.allocate(capacity: n)
            defer { cells.deallocate() }
            for _ in 0..<rounds {
                cells.initialize(repeating: 0, count: n)
                Parallel.forEach(n) { i in cells[i] += i }
                sums[c] += (0..<n).reduce(0) { $0 + cells[$1] }
            }
        }
        for c in 0..<callers { XCTAssertEqual(sums[c], rounds * n * (n - 1) / 2, "caller \(c)") }
    }

    /// summingChunks: every index contributes once into some piece's buffer, and the result is
    /// their sum whatever it held before; with a nil result the pieces get nil.
    func testSummingChunks() {
        let saved = Threads.count
        defer { Threads.count = saved }
        for threads in [1, 2] {
            Threads.count = threads
            for (count, parallel) in [(0, true), (1, true), (7, true), (100, false)] {
                let result = UnsafeMutablePointer<Float>.allocate(capacity: 3)
                defer { result.deallocate() }
                result.initialize(repeating: .nan, count: 3)
                Parallel.summingChunks(count, size: 3, into: result, parallel: parallel) { range, sum in
                    for i in range { sum![0] += 1; sum![1] += Float(i); sum![2] += 2 }
                }
                XCTAssertEqual([result[0], result[1], result[2]], [Float(count), Float(count * (count - 1) / 2), Float(2 * count)],
                               "\(count) items, \(threads) threads")
            }
            var seen = 0
            Parallel.summingChunks(10, size: 3, into: nil, parallel: false) { range, sum in
                XCTAssertNil(sum)
                seen += range.count
            }
            XCTAssertEqual(seen, 10)
        }
    }
}
