import Foundation
import XCTest
@testable import Checkpoint

final class SafeTensorsTests: XCTestCase {
    private func decode(_ data: Data, _ name: String = "m.safetensors") throws -> StateDict {
        try Checkpoint.load(data: data, fileName: name)
    }

    private func tensorEntry(_ name: String, dtype: String = "F32", _ shape: [Int], _ begin: Int, _ end: Int) -> String {
        "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":[\(begin),\(end)]}"
    }

    // MARK: - Good files

    func testReadsEveryFloatAndIntegerDTypeWithMetadata() throws {
        let sd = try SafeTensors.read(Fixtures.url("dtypes.safetensors"))
        XCTAssertEqual(sd.order, ["a.f32", "b.f16", "c.bf16", "d.f64", "e.i64", "f.i32"])
        XCTAssertEqual(sd["a.f32"], TensorRecord(shape: [2, 3], values: [1.5, -2, 3, 0, 4, -8.5]))
        XCTAssertEqual(sd["b.f16"], TensorRecord(shape: [2], sourceDType: .f16, values: [0.5, -65504]))
        XCTAssertEqual(sd["c.bf16"], TensorRecord(shape: [2], sourceDType: .bf16, values: [2, -3]))
        XCTAssertEqual(sd["d.f64"], TensorRecord(shape: [1], sourceDType: .f64, values: [Float(1e-3 as Double)]))
        XCTAssertEqual(sd["e.i64"], TensorRecord(shape: [], sourceDType: .i64, values: [77]))
        XCTAssertEqual(sd["f.i32"], TensorRecord(shape: [2], sourceDType: .i32, values: [-1, 1]))
        XCTAssertEqual(sd.metadata, ["format": "pt", "note": "fixture \"quoted\""])
        XCTAssertEqual(try Checkpoint.load(Fixtures.url("dtypes.safetensors")), sd)
    }

    func testRoundTripWithMetadataAndOrder() throws {
        let folder = try temporaryDirectory(self)
        let url = folder.appendingPathComponent("out.safetensors")
        var sd = StateDict(metadata: ["epoch": "3", "quote\"and\\slash": "line\nbreak ü"])
        sd.set("z.last", TensorRecord(shape: [2, 2], values: [1, -2, 3.5, .infinity]))
        sd.set("a.first", TensorRecord(shape: [], values: [7]))
        sd.set("empty", TensorRecord(shape: [0], values: []))
        sd.set("from.half", TensorRecord(shape: [1], sourceDType: .f16, values: [0.5]))
        try SafeTensors.write(sd, to: url)

        let back = try SafeTensors.read(url)
        XCTAssertEqual(back.order, ["z.last", "a.first", "empty", "from.half"])
        XCTAssertEqual(back.metadata, sd.metadata)
        XCTAssertEqual(back["z.last"], sd["z.last"])
        XCTAssertEqual(back["a.first"], sd["a.first"])
        XCTAssertEqual(back["empty"], sd["empty"])
        XCTAssertEqual(back["from.half"], TensorRecord(shape: [1], sourceDType: .f32, values: [0.5]))

        // Header padded so the data starts 8-byte aligned; no temp files left behind.
        let bytes = try Data(contentsOf: url)
        XCTAssertEqual((8 + Int(bytes.readLE32(0))) % 8, 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["out.safetensors"])

        // Writing again replaces the file.
        try SafeTensors.write(StateDict(tensors: ["x": TensorRecord(shape: [1], values: [1])]), to: url)
        XCTAssertEqual(try SafeTensors.read(url).order, ["x"])
    }

    func testWriteRejectsInconsistentRecords() throws {
        let folder = try temporaryDirectory(self)
        let url = folder.appendingPathComponent("bad.safetensors")
        assertError(url.path + ": tensor 'w' has shape [2,2] but 3 values") {
            try SafeTensors.write(StateDict(tensors: ["w": TensorRecord(shape: [2, 2], values: [1, 2, 3])]), to: url)
        }
        assertError(url.path + ": cannot write a tensor named '__metadata__': the name is reserved") {
            try SafeTensors.write(StateDict(tensors: ["__metadata__": TensorRecord(shape: [], values: [1])]), to: url)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
        let missing = folder.appendingPathComponent("missing/out.safetensors")
        XCTAssertThrowsError(try SafeTensors.write(StateDict(), to: missing)) {
            XCTAssertTrue("\($0)".hasPrefix(missing.path + ": cannot write file: "), "\($0)")
        }
    }

    func testDetectionByExtensionWhenHeaderDoesNotStartWithBrace() throws {
        let data = safetensors(header: "  {" + tensorEntry("w", [1], 0, 4) + "}", data: floatBytes([2]))
        XCTAssertEqual(try decode(data)["w"]?.values, [2])
        assertError("m.bin: unrecognised checkpoint format (expected a PyTorch zip checkpoint or a safetensors file)") {
            try decode(data, "m.bin")
        }
    }

    // MARK: - Bad files

    func testTruncatedFiles() throws {
        let good = try Fixtures.data("dtypes.safetensors")
        assertError("m.safetensors: truncated safetensors file: 5 bytes, need at least 8 for the header length") {
            try decode(good.prefix(5))
        }
        let headerLength = Int(good.readLE32(0))
        assertError("m.safetensors: truncated safetensors file: header length is \(headerLength) bytes but only 92 follow") {
            try decode(good.prefix(100))
        }
        assertError("m.safetensors: tensor 'f.i32' has data_offsets [48, 56] outside the 52-byte data buffer") {
            try decode(good.prefix(good.count - 4))
        }
    }

    func testHeaderOver100MBIsRefusedBeforeReading() {
        var data = Data()
        withUnsafeBytes(of: UInt64(100_000_001).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: Array("{}".utf8))
        assertError("m.safetensors: safetensors header length 100000001 exceeds the limit of 100000000 bytes") {
            try decode(data)
        }
        data.replaceSubrange(0..<8, with: [UInt8](repeating: 0xff, count: 8))
        assertError("m.safetensors: safetensors header length 18446744073709551615 exceeds the limit of 100000000 bytes") {
            try decode(data)
        }
    }

    func testOverlappingOffsets() {
        let data = safetensors(header: "{" + tensorEntry("a", [2], 0, 8) + "," + tensorEntry("b", [2], 4, 12) + "}", data: floatBytes([1, 2, 3]))
        assertError("m.safetensors: tensors 'a' and 'b' overlap: data_offsets [0, 8] and [4, 12]") { try decode(data) }
    }

    func testOutOfRangeAndReversedOffsets() {
        let data = safetensors(header: "{" + tensorEntry("a", [2], 0, 8) + "}", data: floatBytes([1]))
        assertError("m.safetensors: tensor 'a' has data_offsets [0, 8] outside the 4-byte data buffer") { try decode(data) }
        let reversed = safetensors(header: "{" + tensorEntry("a", [0], 4, 0) + "}", data: floatBytes([1]))
        assertError("m.safetensors: tensor 'a' has data_offsets [4, 0] with begin after end") { try decode(reversed) }
        let negative = safetensors(header: "{" + tensorEntry("a", [1], -4, 0) + "}", data: floatBytes([1]))
        assertError("m.safetensors: tensor 'a': \"data_offsets\" must be [begin, end] with non-negative integers") {
            try decode(negative)
        }
        let huge = safetensors(header: "{" + tensorEntry("a", [1], 0, 0).replacingOccurrences(of: "[0,0]", with: "[0,1e3]") + "}")
        assertError("m.safetensors: tensor 'a': \"data_offsets\" must be [begin, end] with non-negative integers") {
            try decode(huge)
        }
    }

    func testGapsAndTrailingBytes() {
        let gap = safetensors(header: "{" + tensorEntry("a", [1], 0, 4) + "," + tensorEntry("b", [1], 8, 12) + "}", data: floatBytes([1, 2, 3]))
        assertError("m.safetensors: data buffer bytes 4..<8 between tensors 'a' and 'b' belong to no tensor") { try decode(gap) }
        let leading = safetensors(header: "{" + tensorEntry("b", [1], 4, 8) + "}", data: floatBytes([1, 2]))
        assertError("m.safetensors: data buffer bytes 0..<4 before tensor 'b' belong to no tensor") { try decode(leading) }
        let trailing = safetensors(header: "{" + tensorEntry("a", [1], 0, 4) + "}", data: floatBytes([1, 2]))
        assertError("m.safetensors: data buffer has 4 trailing bytes after the last tensor") { try decode(trailing) }
    }

    func testWrongDTypes() {
        let unknown = safetensors(header: "{" + tensorEntry("w", dtype: "Q4", [2], 0, 8) + "}", data: floatBytes([1, 2]))
        assertError("m.safetensors: tensor 'w' has unsupported dtype \"Q4\"") { try decode(unknown) }
        // F64 × 2 needs 16 bytes, the offsets give 8.
        let mismatch = safetensors(header: "{" + tensorEntry("w", dtype: "F64", [2], 0, 8) + "}", data: floatBytes([1, 2]))
        assertError("m.safetensors: tensor 'w' has dtype F64 and shape [2] (16 bytes) but data_offsets [0, 8] span 8 bytes") {
            try decode(mismatch)
        }
        let notString = safetensors(header: "{\"w\":{\"dtype\":4,\"shape\":[],\"data_offsets\":[0,4]}}", data: floatBytes([1]))
        assertError("m.safetensors: tensor 'w': \"dtype\" must be a string") { try decode(notString) }
        let missing = safetensors(header: "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", data: floatBytes([1]))
        assertError("m.safetensors: tensor 'w' is missing \"shape\"") { try decode(missing) }
        let overflow = safetensors(header: "{" + tensorEntry("w", [Int.max, 4], 0, 4) + "}", data: floatBytes([1]))
        assertError("m.safetensors: tensor 'w' has shape [9223372036854775807, 4] whose size overflows") { try decode(overflow) }
    }

    func testDuplicateKeysAreRefused() {
        let tensors = safetensors(header: "{" + tensorEntry("a", [1], 0, 4) + "," + tensorEntry("a", [1], 4, 8) + "}", data: floatBytes([1, 2]))
        assertError("m.safetensors: invalid safetensors header: duplicate key \"a\" at byte 54") { try decode(tensors) }
        let metadata = safetensors(header: "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}")
        assertError("m.safetensors: invalid safetensors header: duplicate key \"k\" at byte 25") { try decode(metadata) }
    }

    func testMalformedHeaders() {
        assertError("m.safetensors: invalid safetensors header: unexpected end of JSON at byte 5") {
            try decode(safetensors(header: "{\"a\":", pad: false) + Data([0x20]))
        }
        assertError("m.safetensors: safetensors header must be a JSON object, found array") {
            try decode(safetensors(header: "[]"))
        }
        assertError("m.safetensors: \"__metadata__\" entry 'n' must be a string, found number") {
            try decode(safetensors(header: "{\"__metadata__\":{\"n\":1}}"))
        }
        assertError("m.safetensors: invalid safetensors header: unexpected data after the JSON value at byte 3") {
            try decode(safetensors(header: "{} x"))
        }
    }
}
