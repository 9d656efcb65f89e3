import XCTest
@testable import Checkpoint

final class JSONScannerTests: XCTestCase {
    private func parse(_ text: String) throws -> JSONValue {
        try Array(text.utf8).withUnsafeBytes { try JSONScanner.parse($0, context: "json") }
    }

    func testValuesKeepObjectOrder() throws {
        let value = try parse(#" { "b" : [1, -2.5e1, true, false, null], "a" : {"x": "y"} } "#)
        XCTAssertEqual(value, .object([
            ("b", .array([.int(1), .number(-25), .bool(true), .bool(false), .null])),
            ("a", .object([("x", .string("y"))])),
        ]))
    }

    func testStringEscapesAndUnicode() throws {
        XCTAssertEqual(try parse(#""a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00ü""#), .string("a\"b\\c/d\u{8}\u{c}\n\r\té😀ü"))
        assertError("json: unpaired surrogate at byte 7") { try parse(#""\ud83d""#) }
        assertError("json: invalid escape at byte 3") { try parse(#""\x""#) }
        assertError("json: control character in string at byte 1") { try parse("\"\u{1}\"") }
        assertError("json: invalid UTF-8 in string at byte 3") {
            try ([0x22, 0xff, 0x22] as [UInt8]).withUnsafeBytes { try JSONScanner.parse($0, context: "json") }
        }
    }

    func testNumbers() throws {
        XCTAssertEqual(try parse("0"), .int(0))
        XCTAssertEqual(try parse("-12"), .int(-12))
        XCTAssertEqual(try parse("99999999999999999999"), .number(1e20))
        assertError("json: leading zero in number at byte 2") { try parse("01") }
        assertError("json: invalid number at byte 1") { try parse("-") }
        assertError("json: invalid number at byte 2") { try parse("1.") }
    }

    func testStructureErrors() {
        assertError("json: duplicate key \"a\" at byte 8") { try parse(#"{"a":1, "a":2}"#) }
        assertError("json: expected a string key at byte 1") { try parse("{1:2}") }
        assertError("json: expected '}' at byte 7") { try parse(#"{"a":1 "b":2}"#) }
        assertError("json: invalid literal at byte 0") { try parse("tru") }
        assertError("json: JSON nested deeper than 64 levels at byte 64") {
            try parse(String(repeating: "[", count: 100_000))
        }
    }
}
