import XCTest
@testable import PortRuntime

final class SpecTests: XCTestCase {
    func decode(_ text: String) throws -> Spec { try Spec.decode(Array(text.utf8)) }

    func decodeError(_ text: String) -> String? {
        do { _ = try decode(text); return nil } catch { return (error as? SpecError)?.description }
    }

    func validationError(_ text: String) throws -> String? {
        do { try decode(text).validateForCreate(); return nil } catch let error as SpecError { return error.description }
    }

    func testDefaultSpecDecodesAndValidates() throws {
        let spec = try decode(DefaultSpec.render(args: ["true"], terminal: false))
        XCTAssertEqual(spec.process?.args, ["true"])
        XCTAssertEqual(spec.root.path, "rootfs")
        XCTAssertTrue(spec.root.readonly)
        XCTAssertEqual(spec.linux.namespaces.map(\.type), [.pid, .network, .ipc, .uts, .mount, .cgroup])
        XCTAssertEqual(spec.mounts.count, 7)
        XCTAssertEqual(spec.process?.rlimits.first?.soft, 1024)
        XCTAssertNoThrow(try spec.validateForCreate())
    }

    func testAcceptsEveryMinorOfVersionOneAndIgnoresUnknownFields() throws {
        for version in ["1.0.0", "1.0.2-dev", "1.1.0", "1.2.1", "1.3.0", "1.3.7"] {
            let spec = try decode(#"{"ociVersion":"\#(version)","root":{"path":"r"},"somethingNew":{"x":[1]}}"#)
            XCTAssertEqual(spec.ociVersion, version)
        }
    }

    func testWrongTypeNamesTheJSONPath() {
        XCTAssertEqual(decodeError(#"{"ociVersion":"1.0.0","root":{"path":"r"},"process":{"args":"sh"}}"#),
                       "config.json: process.args: expected an array of strings, got a string")
        XCTAssertEqual(decodeError(#"{"ociVersion":"1.0.0","root":{"path":"r"},"process":{"args":["sh",3]}}"#),
                       "config.json: process.args[1]: expected a string, got a number")
        XCTAssertEqual(decodeError(#"{"ociVersion":"1.0.0","root":{"path":"r"},"process":{"user":{"uid":-1}}}"#),
                       "config.json: process.user.uid: -1 is out of range (0...4294967295)")
        XCTAssertEqual(decodeError(#"{"ociVersion":"1.0.0","root":{"path":"r"},"linux":{"namespaces":[{"type":"bogus"}]}}"#),
                       "config.json: linux.namespaces[0].type: unknown namespace type \"bogus\"")
        XCTAssertEqual(decodeError(#"{"ociVersion":"1.0.0","root":{"path":"r"},"mounts":[{"type":"tmpfs"}]}"#),
                       "config.json: mounts[0].destination: required field is missing")
    }

    func testRefusesOtherMajorVersionsAndBrokenJSON() {
        XCTAssertEqual(decodeError(#"{"ociVersion":"2.0.0","root":{"path":"r"}}"#),
                       "config.json: ociVersion: unsupported major version 2 (\"2.0.0\"); port-run supports 1.0.0 through 1.3.x")
        XCTAssertEqual(decodeError(#"{"ociVersion":"one","root":{"path":"r"}}"#),
                       "config.json: ociVersion: \"one\" is not a semantic version")
        XCTAssertEqual(decodeError(#"{"ociVersion":"1.0.0","root":{"path":"r"},"#), "config.json: invalid JSON at byte 42: expected a member name")
        XCTAssertEqual(decodeError(#"[]"#), "config.json: expected an object, got an array")
    }

    func testValidationNamesTheField() throws {
        let base = #""ociVersion":"1.0.0","root":{"path":"r"},"linux":{"namespaces":[{"type":"mount"}]}"#
        XCTAssertEqual(try validationError("{\(base)}"), "config.json: process: required to create a container")
        XCTAssertEqual(try validationError(#"{\#(base),"process":{"args":[],"cwd":"/"}}"#),
                       "config.json: process.args: must not be empty")
        XCTAssertEqual(try validationError(#"{\#(base),"process":{"args":["a"],"cwd":"tmp"}}"#),
                       "config.json: process.cwd: must be an absolute path, got \"tmp\"")
        XCTAssertEqual(try validationError(#"{\#(base),"process":{"args":["a"],"rlimits":[{"type":"RLIMIT_FOO","soft":1,"hard":1}]}}"#),
                       "config.json: process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\"")
        XCTAssertEqual(try validationError(#"{\#(base),"process":{"args":["a"],"rlimits":[{"type":"RLIMIT_NOFILE","soft":2,"hard":1}]}}"#),
                       "config.json: process.rlimits[0]: soft limit 2 is above hard limit 1")
        XCTAssertEqual(try validationError(#"{\#(base),"hostname":"h","process":{"args":["a"]}}"#),
                       "config.json: hostname: cannot set a hostname without a private UTS namespace")
        XCTAssertEqual(try validationError(#"{\#(base),"mounts":[{"destination":"proc"}],"process":{"args":["a"]}}"#),
                       "config.json: mounts[0].destination: must be an absolute path, got \"proc\"")
    }
}
