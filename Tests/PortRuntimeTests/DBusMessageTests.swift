import XCTest
@testable import PortRuntime

/// The D-Bus marshalling the systemd driver will speak: alignment, array lengths without
/// their padding, and whole messages read back as written.
final class DBusMessageTests: XCTestCase {
    func testValuesAreAlignedAndArrayLengthsLeaveOutTheirPadding() {
        var writer = DBusWriter()
        writer.write(.byte(7))
        writer.write(.uint32(1))
        XCTAssertEqual(writer.bytes, [7, 0, 0, 0, 1, 0, 0, 0])
        writer = DBusWriter()
        // a(sv) with one entry: its length (20: the struct, not the padding before it), padding to 8, the struct.
        writer.write(.array("(sv)", [.property("Delegate", .bool(true))]))
        XCTAssertEqual(Array(writer.bytes[0..<8]), [20, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(Array(writer.bytes[8..<12]), [8, 0, 0, 0])
        XCTAssertEqual(String(decoding: writer.bytes[12..<20], as: UTF8.self), "Delegate")
        XCTAssertEqual(Array(writer.bytes[20..<24]), [0, 1, UInt8(ascii: "b"), 0])
        XCTAssertEqual(Array(writer.bytes[24..<28]), [1, 0, 0, 0])
        XCTAssertEqual(writer.bytes.count, 28)
    }

    func testAStartTransientUnitCallReadsBackAsWritten() throws {
        let properties: [DBusValue] = [
            .property("Description", .string("port-run container abc")),
            .property("PIDs", .array("u", [.uint32(4242)])),
            .property("MemoryMax", .uint64(67_108_864)),
            .property("DeviceAllow", .array("(ss)", [.structure([.string("char-pts"), .string("rwm")])])),
        ]
        let call = DBusMessage.call("org.freedesktop.systemd1", path: "/org/freedesktop/systemd1",
                                    interface: "org.freedesktop.systemd1.Manager", member: "StartTransientUnit", serial: 3,
                                    [.string("port-run-abc.scope"), .string("replace"), .array("(sv)", properties),
                                     .array("(sa(sv))", [])])
        let bytes = call.encode()
        XCTAssertEqual(DBusMessage.totalLength(header: Array(bytes[0..<16])), bytes.count)
        XCTAssertEqual(try DBusMessage.decode(bytes), call)
        XCTAssertEqual(call.body.map(\.signature).joined(), "ssa(sv)a(sa(sv))")
    }

    func testAnErrorReplyAndItsSerialAreRead() throws {
        var reply = DBusMessage(kind: .error, serial: 9)
        reply.replySerial = 3
        reply.errorName = "org.freedesktop.systemd1.UnitExists"
        reply.body = [.string("Unit port-run-abc.scope already exists.")]
        let decoded = try DBusMessage.decode(reply.encode())
        XCTAssertEqual(decoded.replySerial, 3)
        XCTAssertEqual(decoded.errorName, "org.freedesktop.systemd1.UnitExists")
        XCTAssertEqual(decoded.body.first?.text, "Unit port-run-abc.scope already exists.")
    }

    func testTruncatedAndMalformedInputIsAnErrorNotACrash() {
        let bytes = DBusMessage.call("d", path: "/p", interface: "i", member: "m", serial: 1, [.string("x")]).encode()
        for cut in [0, 10, 16, bytes.count - 1] {
            XCTAssertThrowsError(try DBusMessage.decode(Array(bytes[0..<cut])), "cut at \(cut)")
        }
        var lying = bytes
        lying[4] = 200  // a body length past the end
        XCTAssertThrowsError(try DBusMessage.decode(lying))
        XCTAssertThrowsError(try DBusSignature.split("a(sv"))
        XCTAssertEqual(try DBusSignature.split("sa(sv)u").map(String.init), ["s", "a(sv)", "u"])
    }
}
