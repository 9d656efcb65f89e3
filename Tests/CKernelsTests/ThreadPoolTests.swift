import CKernels
import Foundation
import XCTest

/// pk_parallel_run directly: pieces run once each, and after the thread count is lowered the
/// extra workers take no part (they would otherwise compete with the caller for the cores).
final class ThreadPoolTests: XCTestCase {
    /// Runs `pieces` pieces on up to `threads` threads; returns each piece's run count and the
    /// number of distinct threads that ran them.
    private func run(pieces: Int, threads: Int) -> (counts: [Int], threads: Int) {
        struct Record { var counts: [Int]; var threadIDs: [pthread_t?] }
        var record = Record(counts: Array(repeating: 0, count: pieces), threadIDs: Array(repeating: nil, count: pieces))
        withUnsafeMutablePointer(to: &record) { ctx in
            pk_parallel_run(Int32(pieces), Int32(threads), { ctx, p in
                let r = ctx!.assumingMemoryBound(to: Record.self)
                r.pointee.counts[Int(p)] += 1
                r.pointee.threadIDs[Int(p)] = pthread_self()
                usleep(200)  // long enough for every active worker to claim some pieces
            }, ctx)
        }
        var distinct: [pthread_t] = []
        for id in record.threadIDs.compactMap({ $0 }) where !distinct.contains(where: { pthread_equal($0, id) != 0 }) {
            distinct.append(id)
        }
        return (record.counts, distinct.count)
    }

    func testLoweredThreadCountLeavesExtraWorkersOut() {
        let wide = run(pieces: 64, threads: 6)
        XCTAssertEqual(wide.counts, Array(repeating: 1, count: 64))
        XCTAssertLessThanOrEqual(wide.threads, 6)
        XCTAssertGreaterThan(wide.threads, 1, "workers took part")
        for _ in 0..<5 {
            let narrow = run(pieces: 64, threads: 2)
            XCTAssertEqual(narrow.counts, Array(repeating: 1, count: 64))
            XCTAssertLessThanOrEqual(narrow.threads, 2)
        }
        let single = run(pieces: 8, threads: 1)
        XCTAssertEqual(single.counts, Array(repeating: 1, count: 8))
        XCTAssertEqual(single.threads, 1)
    }
}
