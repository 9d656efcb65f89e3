import XCTest
@testable import Checkpoint

/// The restricted unpickler on hand-assembled opcode streams.
final class UnpicklerTests: XCTestCase {
    /// Unpickles `bytes` and passes the result to `inspect` before the
    /// arena is torn down.
    private func unpickle(_ bytes: [UInt8], _ inspect: (PickleValue) throws -> Void = { _ in }) throws {
        let arena = PickleArena()
        defer { arena.teardown() }
        let value = try bytes.withUnsafeBytes { try Unpickler.load($0, name: "t.pkl", arena: arena) }
        try inspect(value)
    }

    private func assertPickleError(_ expected: String, _ bytes: [UInt8], line: UInt = #line) {
        assertError(expected, line: line) { try unpickle(bytes) }
    }

    private func ascii(_ s: String) -> [UInt8] { Array(s.utf8) }

    func testScalarsStringsAndMemo() throws {
        // PROTO 2, MARK, BININT1 7, BININT2 0x1234, BININT -2, LONG1 (-1), LONG1 8 bytes (Int64.min),
        // BINFLOAT 1.5, SHORT_BINUNICODE "hé", BINPUT 0, BINGET 0, NONE, NEWTRUE, TUPLE, STOP
        var p: [UInt8] = [0x80, 2, 0x28, 0x4b, 7, 0x4d, 0x34, 0x12, 0x4a, 0xfe, 0xff, 0xff, 0xff]
        p += [0x8a, 1, 0xff]
        p += [0x8a, 8, 0, 0, 0, 0, 0, 0, 0, 0x80]
        p += [0x47, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]
        p += [0x8c, 3, 0x68, 0xc3, 0xa9, 0x71, 0, 0x68, 0, 0x4e, 0x88, 0x74, 0x2e]
        try unpickle(p) { value in
            guard case .tuple(let t) = value else { return XCTFail("not a tuple: \(value.kind)") }
            XCTAssertEqual(t.items.count, 10)
            guard case .int(7) = t.items[0], case .int(0x1234) = t.items[1], case .int(-2) = t.items[2],
                  case .int(-1) = t.items[3], case .int(Int.min) = t.items[4], case .float(1.5) = t.items[5],
                  case .string("hé") = t.items[6], case .string("hé") = t.items[7], case .none = t.items[8],
                  case .bool(true) = t.items[9]
            else { return XCTFail("unexpected items") }
        }
    }

    func testDictsAndListsAreSharedThroughTheMemo() throws {
        // EMPTY_DICT, BINPUT 0, X'a', EMPTY_LIST, BINPUT 1, SETITEM, BINGET 1, K 5, APPEND, POP, STOP
        let p: [UInt8] = [0x7d, 0x71, 0, 0x58, 1, 0, 0, 0, 0x61, 0x5d, 0x71, 1, 0x73, 0x68, 1, 0x4b, 5, 0x61, 0x30, 0x2e]
        try unpickle(p) { value in
            guard case .dict(let d) = value, case .list(let l)? = d["a"] else { return XCTFail("bad structure") }
            XCTAssertEqual(l.items.count, 1)
        }
    }

    func testSelfReferenceAndDeepNestingDoNotCrash() throws {
        // A list that contains itself: EMPTY_LIST, BINPUT 0, BINGET 0, APPEND, STOP
        try unpickle([0x5d, 0x71, 0, 0x68, 0, 0x61, 0x2e])
        // 100,000 nested lists: MARK × n, then LIST × n.
        let lists = [UInt8](repeating: 0x28, count: 100_000) + [UInt8](repeating: 0x6c, count: 100_000) + [0x2e]
        try unpickle(lists)
        // 200,000 nested 1-tuples.
        var tuples: [UInt8] = [0x80, 2, 0x29]
        tuples += [UInt8](repeating: 0x85, count: 200_000)
        tuples.append(0x2e)
        try unpickle(tuples)
        // Nested tuples as a dict key hit the key depth limit instead of recursing.
        var key: [UInt8] = [0x7d, 0x29] + [UInt8](repeating: 0x85, count: 1000) + [0x4e, 0x73, 0x2e]
        assertPickleError("t.pkl offset \(key.count - 2): pickle dict key nested more than 16 levels deep", key)
        key = [0x7d, 0x5d, 0x4e, 0x73, 0x2e]
        assertPickleError("t.pkl offset 3: unsupported pickle dict key of type list", key)
    }

    func testStackGlobalAndGlobalAllowList() {
        // Protocol 4 STACK_GLOBAL naming os.system.
        assertPickleError("t.pkl offset 14: pickle global 'os.system' is not allowed",
                          [0x80, 4, 0x8c, 2] + ascii("os") + [0x8c, 6] + ascii("system") + [0x93, 0x2e])
        assertPickleError("t.pkl offset 0: pickle global '__torch__.MyNet' is not allowed (this looks like a TorchScript archive; save model.state_dict() with torch.save instead)",
                          [0x63] + ascii("__torch__\nMyNet\n") + [0x2e])
        // An allowed global that is not callable.
        assertPickleError("t.pkl offset 21: 'torch.FloatStorage' cannot be called",
                          [0x63] + ascii("torch\nFloatStorage\n") + [0x29, 0x52, 0x2e])
        assertPickleError("t.pkl offset 4: REDUCE on int, which is not callable", [0x4b, 1, 0x4b, 1, 0x52])
    }

    func testMalformedStreams() {
        assertPickleError("t.pkl offset 2: pickle stack underflow", [0x80, 2, 0x52, 0x2e])
        assertPickleError("t.pkl offset 1: pickle ends without STOP", [0x4e])
        assertPickleError("t.pkl offset 2: STOP with 2 values on the stack", [0x4e, 0x4e, 0x2e])
        assertPickleError("t.pkl offset 0: unsupported pickle protocol 6", [0x80, 6, 0x2e])
        assertPickleError("t.pkl offset 0: unsupported pickle opcode NEWOBJ (0x81)", [0x81])
        assertPickleError("t.pkl offset 0: unsupported pickle opcode INST (0x69)", [0x69])
        assertPickleError("t.pkl offset 0: memo entry 3 is not defined", [0x68, 3])
        assertPickleError("t.pkl offset 0: MARK expected but not found", [0x74])
        assertPickleError("t.pkl offset 2: pickle stack underflow past MARK", [0x4e, 0x28, 0x30])
        assertPickleError("t.pkl offset 2: APPEND on None, expected a list", [0x4e, 0x4e, 0x61])
        assertPickleError("t.pkl offset 0: string is not valid UTF-8", [0x8c, 1, 0xff, 0x2e])
        // Hostile lengths are checked before any allocation.
        assertPickleError("truncated pickle t.pkl: length 2147483647 at offset 5 exceeds the 1 remaining bytes",
                          [0x58, 0xff, 0xff, 0xff, 0x7f, 0x2e])
        assertPickleError("truncated pickle t.pkl: length 18446744073709551615 at offset 9 exceeds the 0 remaining bytes",
                          [0x8e] + [UInt8](repeating: 0xff, count: 8))
        assertPickleError("truncated pickle t.pkl: needs 2147483647 bytes at offset 5 but only 0 remain",
                          [0x8b, 0xff, 0xff, 0xff, 0x7f])
        assertPickleError("truncated pickle t.pkl: needs 4 bytes at offset 1 but only 2 remain", [0x4a, 1, 2])
    }

    func testPersistentIdsMustBeTorchStorages() {
        // BINPERSID on a plain string.
        assertPickleError("t.pkl offset 6: unsupported persistent id (expected ('storage', torch.<Type>Storage, key, location, numel))",
                          [0x58, 1, 0, 0, 0, 0x78, 0x51, 0x2e])
    }

    func testRebuildTensorArgumentsAreValidated() {
        // _rebuild_tensor_v2 called with an empty tuple.
        assertPickleError("t.pkl offset 34: torch._utils._rebuild_tensor_v2 expects (storage, offset, size, stride, requires_grad, hooks)",
                          [0x63] + ascii("torch._utils\n_rebuild_tensor_v2\n") + [0x29, 0x52, 0x2e])
    }
}
