import Foundation
import XCTest

/// The package must build on case-insensitive file systems (macOS's default): no two tracked
/// paths may differ only in letter case (`Sources/practise` beside `Sources/Practise` did).
final class PortabilityTests: XCTestCase {
    func testNoTwoPathsDifferOnlyInCase() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var seen: [String: String] = [:]
        var clashes: [String] = []
        for top in ["Sources", "Tests", "Scripts", "Assets", "Docs", "Fuzz"] {
            let base = root.appendingPathComponent(top)
            guard let walker = FileManager.default.enumerator(atPath: base.path) else { continue }
            // Every directory and file, compared case-folded with its siblings' full paths.
            while let relative = walker.nextObject() as? String {
                let path = top + "/" + relative
                let key = path.lowercased()
                if let other = seen[key], other != path { clashes.append("\(other) vs \(path)") }
                seen[key] = path
            }
        }
        XCTAssertGreaterThan(seen.count, 50, "walked too few files from \(root.path)")
        XCTAssertEqual(clashes, [], "paths that differ only in case")
    }
}
