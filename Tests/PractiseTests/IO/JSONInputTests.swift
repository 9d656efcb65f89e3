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
        XCTAssertEqual(problem("{\"model\": "), "not valid JSON")
        XCTAssertEqual(problem("{\"model\": \"r\"}"), "missing key 'sizes'")
        XCTAssert(problem("{\"model\": \"r\", \"sizes\": [1, \"x\"]}").hasPrefix("at sizes.1: "), problem("{\"model\": \"r\", \"sizes\": [1, \"x\"]}"))
        XCTAssertFalse(problem("{\"model\": 3, \"sizes\": []}").contains("DecodingError"))
    }
}
