import Foundation
import XCTest
@testable import Checkpoint

/// Malicious or damaged `.pth` files: each must fail with an exact message.
final class TorchZipHostileTests: XCTestCase {
    /// The hostile fixtures try to `touch` this file if ever executed.
    let pwned = "/tmp/practise-checkpoint-pwned"

    func testForbiddenGlobalsAreRefusedNotCalled() {
        assertError(Fixtures.url("evil-os-system.pth").path + ": archive/data.pkl offset 2: pickle global 'os.system' is not allowed") {
            try Checkpoint.load(Fixtures.url("evil-os-system.pth"))
        }
        assertError(Fixtures.url("evil-builtins-eval.pth").path + ": archive/data.pkl offset 2: pickle global 'builtins.eval' is not allowed") {
            try Checkpoint.load(Fixtures.url("evil-builtins-eval.pth"))
        }
        // Written by Python's own pickler for os.system on Linux.
        assertError(Fixtures.url("evil-posix-system.pth").path + ": archive/data.pkl offset 41: pickle global 'posix.system' is not allowed") {
            try Checkpoint.load(Fixtures.url("evil-posix-system.pth"))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: pwned))
    }

    func testUnknownOpcodeIsReportedWithByteAndOffset() {
        assertError(Fixtures.url("unknown-opcode.pth").path + ": archive/data.pkl offset 3: unknown pickle opcode 0xff") {
            try Checkpoint.load(Fixtures.url("unknown-opcode.pth"))
        }
    }

    func testStorageShorterThanTensorNamesTensorAndStorage() {
        assertError(Fixtures.url("short-storage.pth").path + ": tensor 'layer1.0.conv1.weight' needs 147456 bytes but storage 'data/3' has 1024") {
            try Checkpoint.load(Fixtures.url("short-storage.pth"))
        }
    }

    func testMissingStorageEntry() {
        assertError(Fixtures.url("missing-storage.pth").path + ": tensor 'fc.bias' refers to storage 'data/9', which is not in the archive") {
            try Checkpoint.load(Fixtures.url("missing-storage.pth"))
        }
    }

    func testLegacyFormatGetsResaveAdvice() {
        assertError(Fixtures.url("legacy.pth").path + ": this is the legacy (pre-1.6) PyTorch serialization format, which is not supported; re-save it from torch >= 1.6 with torch.save(obj, path) (_use_new_zipfile_serialization=True, the default)") {
            try Checkpoint.load(Fixtures.url("legacy.pth"))
        }
    }

    func testBarePickleAndUnknownBytes() throws {
        assertError(Fixtures.url("fp32.data.pkl").path + ": this is a plain pickle file, not a torch.save zip archive; save the state dict with torch.save(model.state_dict(), path)") {
            try Checkpoint.load(Fixtures.url("fp32.data.pkl"))
        }
        assertError("notes.txt: unrecognised checkpoint format (expected a PyTorch zip checkpoint or a safetensors file)") {
            try Checkpoint.load(data: Data("hello world".utf8), fileName: "notes.txt")
        }
        assertError("empty.pth: unrecognised checkpoint format (expected a PyTorch zip checkpoint or a safetensors file)") {
            try Checkpoint.load(data: Data(), fileName: "empty.pth")
        }
    }

    func testMissingFile() {
        let url = URL(fileURLWithPath: "/nonexistent/folder/model.pth")
        XCTAssertThrowsError(try Checkpoint.load(url)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("/nonexistent/folder/model.pth: cannot read file: "), text)
        }
    }

    func testTruncatedZip() throws {
        let data = try Fixtures.data("fp32.pth")
        assertError("model.pth: not a zip archive: end of central directory record not found (truncated or corrupt file)") {
            try Checkpoint.load(data: data.prefix(data.count / 2), fileName: "model.pth")
        }
        assertError("model.pth: not a zip archive: 12 bytes is too short for an end of central directory record") {
            try Checkpoint.load(data: data.prefix(12), fileName: "model.pth")
        }
    }

    func testCorruptCentralDirectory() throws {
        var data = try Fixtures.data("fp32.pth")
        let eocd = try XCTUnwrap(lastRange(of: [0x50, 0x4b, 0x05, 0x06], in: data))
        let cdOffset = Int(data.readLE32(eocd + 16))
        data[cdOffset + 1] ^= 0xff
        assertError("model.pth: corrupt zip: bad central directory entry signature at offset \(cdOffset)") {
            try Checkpoint.load(data: data, fileName: "model.pth")
        }
        // A central directory pointing past the end of the file.
        var far = try Fixtures.data("fp32.pth")
        far.writeLE32(eocd + 16, 0x7fff_0000)
        assertError("model.pth: corrupt zip: central directory (offset 2147418112, \(data.readLE32(eocd + 12)) bytes) lies outside the file") {
            try Checkpoint.load(data: far, fileName: "model.pth")
        }
    }

    func testCorruptEntryDataFailsTheCRC() throws {
        var data = try Fixtures.data("fp32.pth")
        let pickle = try Fixtures.data("fp32.data.pkl")
        let start = try XCTUnwrap(data.range(of: pickle)).lowerBound
        data[start + 40] ^= 0x01
        assertError("model.pth: corrupt zip: CRC-32 mismatch in entry 'fp32/data.pkl'") {
            try Checkpoint.load(data: data, fileName: "model.pth")
        }
    }

    func testLocalHeaderMustMatchCentralDirectory() throws {
        var data = try Fixtures.data("fp32.pth")
        data[30] = UInt8(ascii: "X")  // first byte of the first local header's name
        assertError("model.pth: corrupt zip: local header of entry 'fp32/data.pkl' does not match the central directory") {
            try Checkpoint.load(data: data, fileName: "model.pth")
        }
    }

    func testZipWithoutDataPickleIsNotACheckpoint() throws {
        var data = try Fixtures.data("fp32.pth")
        let name = Array("fp32/data.pkl".utf8)
        var count = 0
        while let r = data.range(of: Data(name)) {
            data[r.upperBound - 1] = UInt8(ascii: "z")
            count += 1
        }
        XCTAssertEqual(count, 2)  // local header + central directory
        assertError("model.pth: zip archive has no '<folder>/data.pkl' entry, so it is not a PyTorch checkpoint") {
            try Checkpoint.load(data: data, fileName: "model.pth")
        }
    }

    private func lastRange(of pattern: [UInt8], in data: Data) -> Int? {
        data.range(of: Data(pattern), options: .backwards).map { $0.lowerBound }
    }
}

extension Data {
    func readLE32(_ offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(self[offset + $1]) << (8 * UInt32($1)) }
    }

    mutating func writeLE32(_ offset: Int, _ value: UInt32) {
        for i in 0..<4 { self[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
    }
}

extension TorchZipHostileTests {
    func testBroadcastViewCannotExhaustMemory() {
        assertError(Fixtures.url("broadcast-bomb.pth").path + ": tensor 'bomb' takes the checkpoint past 16 values per stored byte; refusing views that repeat storage data this much") {
            try Checkpoint.load(Fixtures.url("broadcast-bomb.pth"))
        }
    }
}
