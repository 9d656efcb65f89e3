import CKernels
import XCTest

/// The large-buffer cache behind tensor storage (allocator.c).
final class AllocatorTests: XCTestCase {
    let large = 33 << 20

    func testLargeBlocksAreReusedForTheSameSize() {
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
        // A request of another size releases what is cached rather than keep it alongside.
        let d = pk_buffer_alloc(large + 128)!
        XCTAssertEqual(pk_buffer_cached_bytes(), 0)
        pk_buffer_free(d, large + 128)
        XCTAssertEqual(pk_buffer_cached_bytes(), large + 128)
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
