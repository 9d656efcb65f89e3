@testable import Engine
import XCTest

final class StorageTests: XCTestCase {
    /// Large buffers are recycled (CKernels' buffer cache): a zeroed storage must still start at 0.
    func testZeroedStorageIsZeroEvenWhenItsBufferIsReused() {
        let count = 9 << 20  // 36 MiB of floats: above the cache threshold
        var first: Storage? = Storage(count: count, zeroed: false)
        let address = first!.pointer
        first!.pointer.update(repeating: .nan, count: count)
        first = nil
        let second = Storage(count: count)
        XCTAssertEqual(second.pointer, address, "the freed buffer is reused")
        XCTAssertFalse(UnsafeBufferPointer(start: second.pointer, count: count).contains { $0 != 0 })
    }
}
