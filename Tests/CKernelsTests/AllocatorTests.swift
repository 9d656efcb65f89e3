import CKernels
import XCTest

/// The large-buffer cache behind tensor storage (allocator.c).
final class AllocatorTests: XCTestCase {
    let large = 33 << 20

    func testLargeBlocksAreReusedForTheSameSize() {
        pk_buffer_release_cached()
        let a = pk_buffer_alloc(large)!
        XCTAssertEqual(Int(bitPattern: a) % 64, 0, "64-byte aligned")
        a.storeBytes(of: 42, as: Int.self)
        pk_buffer_free(a, large)
        let b = pk_buffer_alloc(large)!
        XCTAssertEqual(a, b, "a freed block of the same size comes back")
        let c = pk_buffer_alloc(large + 64)!
        XCTAssertNotEqual(b, c, "a block in use is never handed out twice")
        pk_buffer_free(b, large)
        pk_buffer_free(c, large + 64)
        XCTAssertEqual(pk_buffer_cached_bytes(), 2 * large + 64)
        // A request of another size takes the nearest cached block (resized) and releases the
        // other, which would exceed the most that was in use at once (2 · large + 64).
        let d = pk_buffer_alloc(large + 128)!
        XCTAssertEqual(pk_buffer_cached_bytes(), 0)
        pk_buffer_free(d, large + 128)
        XCTAssertEqual(pk_buffer_cached_bytes(), large + 128)
    }

    func testAnotherSizeReusesTheNearestBlocksPagesOnLinux() {
        pk_buffer_release_cached()
        let a = pk_buffer_alloc(large)!
        a.storeBytes(of: 42, as: Int.self)
        pk_buffer_free(a, large)
        let b = pk_buffer_alloc(2 * large)!
        XCTAssertEqual(pk_buffer_cached_bytes(), 0)
        let f = b.bindMemory(to: UInt8.self, capacity: 2 * large)
        f[2 * large - 1] = 7   // the grown part is usable
        #if os(Linux)
        XCTAssertEqual(b.load(as: Int.self), 42, "resized with mremap: the cached block's pages are kept")
        #endif
        XCTAssertEqual(Int(bitPattern: b) % 64, 0)
        pk_buffer_free(b, 2 * large)
        pk_buffer_release_cached()
        XCTAssertEqual(pk_buffer_cached_bytes(), 0)
    }

    func testCachedBlocksStayWithinThePeakInUse() {
        pk_buffer_release_cached()
        let a = pk_buffer_alloc(large)!, b = pk_buffer_alloc(large + 64)!, c = pk_buffer_alloc(large + 128)!
        pk_buffer_free(a, large)
        pk_buffer_free(b, large + 64)
        // Nearest to large − 4096 is a's block; c plus the new block plus b's cached block stay
        // within the peak of a, b and c in use together, so b's block stays cached.
        let d = pk_buffer_alloc(large - 4096)!
        XCTAssertEqual(pk_buffer_cached_bytes(), large + 64)
        for (p, s) in [(c, large + 128), (d, large - 4096)] { pk_buffer_free(p, s) }
        pk_buffer_release_cached()
    }

    func testSmallBlocksAndEvictionUnderLoad() {
        // More distinct large sizes than the cache has slots, freed and reallocated many times,
        // with small blocks in between: every block is usable and distinct while alive.
        for round in 0..<3 {
            let sizes = (0..<5).map { large + $0 * 4096 + round * 64 }
            let blocks = sizes.map { pk_buffer_alloc($0)! }
            XCTAssertEqual(Set(blocks).count, blocks.count)
            for (b, s) in zip(blocks, sizes) {
                let f = b.bindMemory(to: UInt8.self, capacity: s)
                f[0] = 1; f[s - 1] = 2
            }
            let small = pk_buffer_alloc(100)!
            XCTAssertEqual(Int(bitPattern: small) % 64, 0)
            pk_buffer_free(small, 100)
            for (b, s) in zip(blocks, sizes) { pk_buffer_free(b, s) }
        }
        pk_buffer_free(nil, large)
    }
}
