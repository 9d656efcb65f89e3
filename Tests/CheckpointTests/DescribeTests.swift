import XCTest
@testable import Checkpoint

final class DescribeTests: XCTestCase {
    func testTableAndTotals() throws {
        var sd = StateDict(metadata: ["epoch": "7"], rmBlocks: ["layer1.1"])
        sd.set("conv1.weight", TensorRecord(shape: [64, 3, 7, 7], values: [Float](repeating: 0, count: 9408)))
        sd.set("bn1.num_batches_tracked", TensorRecord(shape: [], sourceDType: .i64, values: [0]))
        sd.set("fc.bias", TensorRecord(shape: [1000], sourceDType: .f16, values: [Float](repeating: 0, count: 1000)))
        XCTAssertEqual(Checkpoint.describe(sd), """
            name                     dtype  shape          params
            conv1.weight             F32    [64, 3, 7, 7]   9,408
            bn1.num_batches_tracked  I64    []                  1
            fc.bias                  F16    [1000]          1,000

            3 tensors, 10,409 parameters, 39,640 bytes as stored
            rm_blocks: layer1.1
            metadata epoch: 7
            """)
    }

    func testEmptyStateDict() {
        XCTAssertEqual(Checkpoint.describe(StateDict()), """
            name  dtype  shape  params

            0 tensors, 0 parameters, 0 bytes as stored
            """)
    }

    func testGrouping() {
        XCTAssertEqual(Checkpoint.grouped(0), "0")
        XCTAssertEqual(Checkpoint.grouped(999), "999")
        XCTAssertEqual(Checkpoint.grouped(1000), "1,000")
        XCTAssertEqual(Checkpoint.grouped(-1_234_567), "-1,234,567")
    }
}
