import XCTest
@testable import PortRuntime

final class JSONTests: XCTestCase {
    func testParsesNestedValuesAndKeepsNumberText() throws {
        let value = try JSONParser.parse(#"{"a": [1, -2.5e3, true, null], "b": {"c": "d"}, "big": 18446744073709551615}"#)
        XCTAssertEqual(value, .object(["a": .array([.number("1"), .number("-2.5e3"), .bool(true), .null]),
                                       "b": .object(["c": .string("d")]), "big": .number("18446744073709551615")]))
    }

    func testDecodesEscapesAndSurrogatePairs() throws {
        XCTAssertEqual(try JSONParser.parse(#""a\"b\\c\n\u00e9\ud83d\ude00""#), .string("a\"b\\c\né😀"))
    }

    func testRejectsBrokenInputWithOffset() {
        for text in ["{", "[1,]", "{\"a\" 1}", "\"abc", "01x", "tru", "{} {}", "\"\\ud800\"", "-"] {
            XCTAssertThrowsError(try JSONParser.parse(text), text)
        }
        XCTAssertThrowsError(try JSONParser.parse("[1, @]")) { error in
            XCTAssertEqual((error as? JSONSyntaxError)?.offset, 4)
        }
    }

    func testBoundsNestingDepth() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        XCTAssertThrowsError(try JSONParser.parse(deep))
    }

    func testWriterEscapesLikeGo() {
        let out = JSONOutput.object([("k", .string("a\"<b>\n")), ("n", .int(-3)), ("l", .array([]))]).render()
        XCTAssertEqual(out, #"{"k":"a\"\u003cb\u003e\n","n":-3,"l":[]}"#)
    }

    func testRoundTripThroughWriter() throws {
        let text = #"{"a":[1,2.5,"x"],"b":{"c":null,"d":false}}"#
        XCTAssertEqual(try JSONParser.parse(text).output.render(), text)
    }
}
