import Foundation
import XCTest
@testable import ImageData

/// Folder of the committed fixtures (made by Scripts/make-fixtures.py).
let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path

func fixture(_ relative: String) -> String { fixtures + "/" + relative }

/// A fresh empty temporary folder, removed at the end of the test.
func temporaryDirectory(_ test: XCTestCase) throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("imagedata-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url.path
}

func writeBytes(_ bytes: [UInt8], to path: String) throws {
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                            withIntermediateDirectories: true)
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// Asserts that `body` throws a `DataError` whose description contains every fragment.
func assertDataError<T>(_ body: @autoclosure () throws -> T, contains fragments: [String],
                        file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected a DataError containing \(fragments)", file: file, line: line)
    } catch let error as DataError {
        let text = error.description
        for f in fragments where !text.contains(f) {
            XCTFail("error '\(text)' does not contain '\(f)'", file: file, line: line)
        }
    } catch {
        XCTFail("unexpected error type: \(error)", file: file, line: line)
    }
}

func readBytes(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// The fixture manifest written by Scripts/make-fixtures.py.
struct Manifest: Decodable {
    struct DecodeCase: Decodable { let file: String; let width: Int; let height: Int }
    struct ResizeCase: Decodable {
        let name: String; let source: String; let op: String; let params: [Int]
        let width: Int; let height: Int; let channels: Int
    }
    struct NormalizedCase: Decodable { let source: String; let file: String; let mean: [Float]; let std: [Float] }
    let decode: [DecodeCase]
    let resize: [ResizeCase]
    let normalized: NormalizedCase?

    static func load() throws -> Manifest {
        try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: fixture("manifest.json"))))
    }
}

/// A grey test image with a gradient.
func gradientImage(width: Int, height: Int, channels: Int = 3) -> Image {
    var px = [UInt8]()
    for y in 0..<height { for x in 0..<width { for c in 0..<channels { px.append(UInt8((x * 7 + y * 13 + c * 50) % 256)) } } }
    return Image(width: width, height: height, channels: channels, pixels: px)
}
