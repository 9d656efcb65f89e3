import Foundation
@testable import Practise
import XCTest

/// A JSON file of the tool's that does not decode is described in words.
final class JSONInputTests: XCTestCase {
    struct Settings: Decodable { var model: String; var sizes: [Int] }

    func problem(_ text: String) -> String {
        let data = Data(text.utf8)
        do { _ = try JSONDecoder().decode(Settings.self, from: data); return "decoded" } catch { return JSONInput.describe(error, data: data) }
    }

    func testEachKindOfDamageIsNamed() {
        XCTAssertEqual(problem(""), "the file is empty")
        XCTAssertEqual(problem(" \n"), "the file is empty")
        // Broken JSON says what the parser found, not only that it failed.
        let cut = problem("{\"model\": ")
        XCTAssert(cut.hasPrefix("not valid JSON (") && cut.hasSuffix(")"), cut)
        let huge = problem("{\"model\": \"r\", \"sizes\": [1e400]}")
        XCTAssert(huge.hasPrefix("not valid JSON (") && huge.contains("1e400"), huge)
        XCTAssertEqual(problem("{\"model\": \"r\"}"), "missing key 'sizes'")
        XCTAssert(problem("{\"model\": \"r\", \"sizes\": [1, \"x\"]}").hasPrefix("at sizes.1: "), problem("{\"model\": \"r\", \"sizes\": [1, \"x\"]}"))
        XCTAssertFalse(problem("{\"model\": 3, \"sizes\": []}").contains("DecodingError"))
    }
}
