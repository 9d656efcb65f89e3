import Foundation
import XCTest

/// Runs the built `practise` executable in a scratch folder removed after each test.
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
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("practise-cli-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    override func tearDown() { try? FileManager.default.removeItem(atPath: work) }

    /// Runs the tool; returns (exit status, stdout + stderr).
    func run(_ args: [String]) throws -> (Int32, String) {
        guard FileManager.default.fileExists(atPath: binary.path) else { throw XCTSkip("practise executable not built next to the tests") }
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// A random-init ResNet-20 saved by the tool itself, as weights for the other checks.
    func weights() throws -> String {
        let path = work + "/r20.safetensors"
        let (status, out) = try run(["export", "--model", "resnet20", "--format", "safetensors", "--out", path])
        XCTAssertEqual(status, 0, out)
        return path
    }
}
