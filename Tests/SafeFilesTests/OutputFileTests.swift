import Foundation
import SafeFiles
import XCTest

final class OutputFileTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("safefiles-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func read(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    func testReplacesARegularFileKeepingItsPermissionsAndLeavesNoTemporaries() throws {
        let path = dir + "/r.json"
        try OutputFile.write("old", to: path)
        XCTAssertEqual(chmod(path, 0o600), 0)
        try OutputFile.write("new", to: path)
        XCTAssertEqual(try read(path), "new")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["r.json"])
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as! Int
        XCTAssertEqual(mode, 0o600)
    }

    func testFailuresNameThePathAndTheReasonAndLeaveNothing() throws {
        XCTAssertThrowsError(try OutputFile.write("x", to: dir + "/missing/x.json")) {
            XCTAssertEqual("\($0)", "cannot write \(dir!)/missing/x.json: cannot create a file in \(dir!)/missing: No such file or directory")
        }
        try OutputFile.write("file", to: dir + "/file")
        XCTAssertThrowsError(try OutputFile.write("x", to: dir + "/file/sub")) {
            XCTAssert("\($0)".hasSuffix("Not a directory"), "\($0)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["file"])
    }
}
