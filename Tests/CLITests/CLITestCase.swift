import Foundation
import XCTest

/// Runs the built `practise` executable in a scratch folder.
class CLITestCase: XCTestCase {
    /// The `practise` executable built next to this test bundle.
    var binary: URL {
        var dir = Bundle(for: CLITestCase.self).bundleURL
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("practise").path) && dir.path != "/" {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("practise")
    }

    lazy var work: String = {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("practise-cli-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    override func tearDown() { try? FileManager.default.removeItem(atPath: work) }

    /// Runs the tool; returns (exit status, stdout, stderr).
    func runSplit(_ args: [String], environment: [String: String] = [:]) throws -> (Int32, String, String) {
        guard FileManager.default.fileExists(atPath: binary.path) else { throw XCTSkip("practise executable not built next to the tests") }
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: work)
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read stderr on another thread so neither pipe can fill up and block the tool.
        final class Box: @unchecked Sendable { var data = Data() }
        let errBox = Box()
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread { errBox.data = err.fileHandleForReading.readDataToEndOfFile(); done.signal() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        done.wait()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errBox.data, as: UTF8.self))
    }

    /// Runs the tool; returns (exit status, stdout + stderr).
    func run(_ args: [String], environment: [String: String] = [:]) throws -> (Int32, String) {
        let (status, out, err) = try runSplit(args, environment: environment)
        return (status, out + err)
    }

    /// A random-init ResNet-20 saved by the tool itself, as weights for the other checks.
    func weights(_ name: String = "r20", extra: [String] = []) throws -> String {
        let path = work + "/\(name).safetensors"
        if FileManager.default.fileExists(atPath: path) { return path }
        let (status, out) = try run(["export", "--model", "resnet20", "--random-init", "--format", "safetensors", "--out", path] + extra)
        XCTAssertEqual(status, 0, out)
        return path
    }

    /// Contents of the scratch folder (to check that nothing was written).
    func listing() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: work).sorted() }

    /// Runs the tool and checks that it fails with `message`, without a crash or a Foundation
    /// dump, and that the scratch folder is unchanged.
    func assertRefused(_ args: [String], _ message: String, environment: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) throws {
        let before = try listing()
        let (status, out) = try run(args, environment: environment)
        XCTAssertNotEqual(status, 0, "\(args) was accepted: \(out)", file: file, line: line)
        XCTAssert(out.contains(message), "\(args): expected '\(message)' in: \(out)", file: file, line: line)
        let internals = ["Fatal error", "Precondition failed", "Backtrace", "crashed", "NSCocoaErrorDomain", "EncodingError", "DecodingError"]
        XCTAssertFalse(internals.contains(where: out.contains), "\(args): \(out)", file: file, line: line)
        XCTAssertEqual(try listing(), before, "\(args) wrote something", file: file, line: line)
    }
}
