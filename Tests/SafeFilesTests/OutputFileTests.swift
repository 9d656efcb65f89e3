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

final class OutputFileStreamTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("safefiles-s-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func testASymlinkKeepsPointingAtItsTargetWhichIsReplaced() throws {
        try OutputFile.write("old", to: dir + "/target")
        XCTAssertEqual(symlink(dir + "/target", dir + "/link"), 0)
        try OutputFile.write("new", to: dir + "/link")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: dir + "/link"), dir + "/target")
        XCTAssertEqual(try String(contentsOfFile: dir + "/target", encoding: .utf8), "new")
        XCTAssertEqual(symlink(dir + "/absent", dir + "/dangling"), 0)
        try OutputFile.write("created", to: dir + "/dangling")
        XCTAssertEqual(try String(contentsOfFile: dir + "/absent", encoding: .utf8), "created")
    }

    func testAFIFOIsWrittenThroughNotReplaced() throws {
        let fifo = dir + "/fifo"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        signal(SIGPIPE, SIG_IGN)  // a reader gone early must fail the write, not kill the test
        final class Box: @unchecked Sendable { var text = "" }
        let received = Box()
        let done = expectation(description: "read")
        Thread.detachNewThread {
            let handle = FileHandle(forReadingAtPath: fifo)
            received.text = String(decoding: handle?.readDataToEndOfFile() ?? Data("<failed>".utf8), as: UTF8.self)
            done.fulfill()
        }
        try OutputFile.write("through the pipe", to: fifo)
        wait(for: [done], timeout: 10)
        XCTAssertEqual(received.text, "through the pipe")
        var info = stat()
        XCTAssertEqual(lstat(fifo, &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFIFO, "still a FIFO")
    }

    func testDevStdoutLeadingToARegularFileAppendsToItInsteadOfReplacingIt() throws {
        let log = dir + "/log"
        try OutputFile.write("earlier output\n", to: log)
        let fd = open(log, O_WRONLY | O_APPEND)
        defer { close(fd) }
        try OutputFile.write("through fd", to: "/proc/self/fd/\(fd)")
        XCTAssertEqual(try String(contentsOfFile: log, encoding: .utf8), "earlier output\nthrough fd")
        var before = stat(), after = stat()
        XCTAssertEqual(fstat(fd, &before), 0)
        XCTAssertEqual(stat(log, &after), 0)
        XCTAssertEqual(before.st_ino, after.st_ino, "the file the descriptor writes to was not replaced")
    }

    func testDevicesAreWrittenThroughAndADirectoryIsRefused() throws {
        try OutputFile.write("discarded", to: "/dev/null")
        var info = stat()
        XCTAssertEqual(stat("/dev/null", &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFCHR, "/dev/null is still a device")
        if FileManager.default.fileExists(atPath: "/dev/full") {
            XCTAssertThrowsError(try OutputFile.write("x", to: "/dev/full")) {
                XCTAssertEqual("\($0)", "cannot write /dev/full: No space left on device")
            }
            XCTAssertEqual(stat("/dev/full", &info), 0)
            XCTAssertEqual(info.st_mode & S_IFMT, S_IFCHR, "/dev/full is still a device")
        }
        XCTAssertThrowsError(try OutputFile.write("x", to: dir)) { XCTAssertEqual("\($0)", "cannot write \(dir!): it is a directory") }
        XCTAssertTrue(OutputFile.isStream("-"))
        XCTAssertTrue(OutputFile.isStream("/dev/null"))
        XCTAssertTrue(OutputFile.isStream("/dev/stdout"))
        XCTAssertFalse(OutputFile.isStream(dir + "/new"))
    }
}

final class FileLockTests: XCTestCase {
    func testASecondLockFailsAtOnceNamingTheHolderAndReleaseRemovesTheFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("lock-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        let first = try FileLock.acquire(path)
        XCTAssertThrowsError(try FileLock.acquire(path)) {
            XCTAssertEqual("\($0)", "another practise run (pid \(getpid())) holds \(path); wait for it to finish or use another output folder")
        }
        first.release()
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        let second = try FileLock.acquire(path)
        second.release()
    }
}

final class PathPartsTests: XCTestCase {
    func testFolderAndName() {
        XCTAssertEqual(PathParts.folder(of: "o"), ".")
        XCTAssertEqual(PathParts.folder(of: "a/b/c"), "a/b")
        XCTAssertEqual(PathParts.folder(of: "/c"), "/")
        XCTAssertEqual(PathParts.folder(of: "a/b/"), "a")
        XCTAssertEqual(PathParts.name(of: "a/b/c"), "c")
        XCTAssertEqual(PathParts.name(of: "o"), "o")
    }

    func testAOneCharacterRelativeNameIsWrittenInTheCurrentFolder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pp-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let old = FileManager.default.currentDirectoryPath
        FileManager.default.changeCurrentDirectoryPath(dir)
        defer { FileManager.default.changeCurrentDirectoryPath(old) }
        try OutputFile.write("x", to: "o")
        XCTAssertEqual(try String(contentsOfFile: dir + "/o", encoding: .utf8), "x")
    }
}
