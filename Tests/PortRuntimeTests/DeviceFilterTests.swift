import XCTest
@testable import PortRuntime

/// The cgroup v2 device program, run by a small interpreter of the instructions it uses,
/// against what v1's devices controller would answer for the same rules.
final class DeviceFilterTests: XCTestCase {
    typealias Rule = CgroupResources.DeviceRule

    /// r0 after running the program on (type: 1 block, 2 char; access bits m1 r2 w4).
    func verdict(_ program: [UInt64], type: UInt32, access: UInt32, major: UInt32, minor: UInt32) throws -> UInt64 {
        var registers = [UInt64](repeating: 0, count: 11)
        let context: [UInt32] = [type | access << 16, major, minor]
        var pc = 0
        for _ in 0..<10_000 {
            let instruction = try XCTUnwrap(program.indices.contains(pc) ? program[pc] : nil, "jumped outside the program")
            let code = UInt8(instruction & 0xff), destination = Int((instruction >> 8) & 0xf), source = Int((instruction >> 12) & 0xf)
            let offset = Int(Int16(bitPattern: UInt16((instruction >> 16) & 0xffff)))
            let immediate = UInt64(UInt32(truncatingIfNeeded: instruction >> 32))
            pc += 1
            switch code {
            case 0x61: registers[destination] = UInt64(context[offset / 4])
            case 0x54: registers[destination] = (registers[destination] & immediate) & 0xffff_ffff
            case 0x74: registers[destination] = (registers[destination] & 0xffff_ffff) >> immediate
            case 0xbc: registers[destination] = registers[source] & 0xffff_ffff
            case 0xb7: registers[destination] = immediate
            case 0x55: if registers[destination] != immediate { pc += offset }
            case 0x15: if registers[destination] == immediate { pc += offset }
            case 0x95: return registers[0]
            default: XCTFail("unexpected opcode \(code)"); return 0
            }
        }
        XCTFail("no exit")
        return 0
    }

    func rule(_ allow: Bool, _ type: String, _ major: Int64? = nil, _ minor: Int64? = nil, _ access: String = "rwm") -> Rule {
        Rule(allow: allow, type: type, major: major, minor: minor, access: access)
    }

    func testDenyAllThenAllowsLetOnlyTheListedDevicesThrough() throws {
        var resources = CgroupResources()
        resources.devices = [rule(false, "a")]
        resources.allowContainerDevices([])
        let program = DeviceFilter.program(resources.devices)
        let read: UInt32 = 2, write: UInt32 = 4, mknod: UInt32 = 1
        XCTAssertEqual(try verdict(program, type: 2, access: read | write, major: 1, minor: 3), 1, "/dev/null")
        XCTAssertEqual(try verdict(program, type: 2, access: read, major: 240, minor: 0), 0, "an unknown char device")
        XCTAssertEqual(try verdict(program, type: 2, access: mknod, major: 240, minor: 0), 1, "mknod of any char device")
        XCTAssertEqual(try verdict(program, type: 1, access: read, major: 8, minor: 0), 0, "a disk")
        XCTAssertEqual(try verdict(program, type: 2, access: read, major: 136, minor: 7), 1, "a pty, any minor")
    }

    func testLaterRulesWinAndPartialAccessIsHonoured() throws {
        let program = DeviceFilter.program([rule(false, "a"), rule(true, "c", 1, nil, "rw"), rule(false, "c", 1, 5, "w")])
        XCTAssertEqual(try verdict(program, type: 2, access: 2, major: 1, minor: 5), 1, "read of 1:5 is allowed by 1:*")
        XCTAssertEqual(try verdict(program, type: 2, access: 6, major: 1, minor: 5), 0, "a write of 1:5 is denied by the later rule")
        XCTAssertEqual(try verdict(program, type: 2, access: 1, major: 1, minor: 3), 0, "mknod was not granted")
        XCTAssertEqual(try verdict(program, type: 1, access: 2, major: 1, minor: 3), 0, "the rule is for char devices only")
    }

    /// In v1 any "a" rule resets everything, whatever its numbers and access; rules before
    /// it no longer count, and the program has nothing unreachable after it.
    func testAnATypeRuleResetsEverything() throws {
        let program = DeviceFilter.program([rule(true, "c", 1, 3), rule(false, "a", 1, nil, "r"), rule(true, "c", 1, 5)])
        XCTAssertEqual(try verdict(program, type: 2, access: 2, major: 1, minor: 3), 0)
        XCTAssertEqual(try verdict(program, type: 2, access: 2, major: 1, minor: 5), 1)
        XCTAssertEqual(program.last, 0x95, "ends in exit")
        let allowAll = DeviceFilter.program([rule(true, "a")])
        XCTAssertEqual(try verdict(allowAll, type: 1, access: 7, major: 8, minor: 0), 1)
    }

    func testNoRuleAtAllAllowsAsAFreshV1Cgroup() throws {
        XCTAssertEqual(try verdict(DeviceFilter.program([rule(false, "c", 1, 3)]), type: 2, access: 2, major: 1, minor: 5), 1)
    }

    func testBadRulesAreRefusedWhenDecoded() throws {
        for (rule, message) in [(#"{"allow":true,"type":"u"}"#, #"resources.devices[0].type: "u" is no device rule type (a, b or c)"#),
                                (#"{"allow":true,"type":"c","major":4294967296}"#, "resources.devices[0].major: 4294967296 is no device number"),
                                (#"{"allow":true,"type":"c","access":"rx"}"#, #"resources.devices[0].access: "rx" is no device access (letters r, w and m)"#)] {
            let json = JSONField(try JSONParser.parse(Array(#"{"devices":[\#(rule)]}"#.utf8)), path: "resources")
            XCTAssertThrowsError(try CgroupResources(json)) { error in
                XCTAssertEqual((error as? SpecError)?.description, "config.json: " + message)
            }
        }
    }
}
