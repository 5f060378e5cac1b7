import Foundation
import XCTest

/// Bad input: one clear line, exit 1, and nothing left behind.
final class ErrorTests: IntegrationCase {
    func testWrongFieldTypeNamesThePathAndLeavesNothing() throws {
        try writeConfig(["true"]) { config in
            var process = config["process"] as! [String: Any]
            process["args"] = "true"
            config["process"] = process
        }
        let result = try port("run", "badtype")
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "config.json: process.args: expected an array of strings, got a string\n")
        try assertNothingLeft("badtype")
    }

    func testBrokenJSONAndUnsupportedVersion() throws {
        try "{\"ociVersion\": \"1.0.0\",".write(toFile: bundle + "/config.json", atomically: true, encoding: .utf8)
        XCTAssertEqual(try port("create", "broken").stderr, "config.json: invalid JSON at byte 23: expected a member name\n")
        try writeConfig(["true"]) { $0["ociVersion"] = "2.0.0" }
        let result = try port("create", "v2")
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.hasPrefix("config.json: ociVersion: unsupported major version 2"), result.stderr)
        try assertNothingLeft("v2")
    }

    func testForeignArchitectureBinaryReportsExecFormatError() throws {
        // An aarch64 ELF header is enough for the kernel to refuse it on x86_64.
        var elf: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0] + Array(repeating: 0, count: 8) + [2, 0, 0xB7, 0, 1, 0, 0, 0]
        elf += Array(repeating: 0, count: 100)
        let rootfs = bundle + "/rootfs"
        XCTAssertEqual(try shell("cp -a '\(Self.work)/base/rootfs' '\(rootfs)'").status, 0)
        FileManager.default.createFile(atPath: rootfs + "/bin/arm-app", contents: Data(elf), attributes: [.posixPermissions: 0o755])
        try writeConfig(["/bin/arm-app"]) { $0["root"] = ["path": "rootfs"] }

        let run = try port("run", "foreign")
        XCTAssertEqual(run.stderr, "exec /bin/arm-app: exec format error\n")
        XCTAssertEqual(run.status, 255)
        try assertNothingLeft("foreign")

        XCTAssertEqual(try port("create", "foreign2").status, 0)
        let start = try port("start", "foreign2")
        XCTAssertEqual(start.stderr, "exec /bin/arm-app: exec format error\n")
        XCTAssertEqual(start.status, 1)
        XCTAssertEqual(try state("foreign2")["status"] as? String, "stopped")
    }

    func testMissingExecutableFailsAtCreate() throws {
        try writeConfig(["no-such-tool"])
        let result = try port("create", "missing")
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "exec: \"no-such-tool\": executable file not found in $PATH\n")
        try assertNothingLeft("missing")
        try writeConfig(["/bin/nope"])
        XCTAssertEqual(try port("run", "missing2").stderr, "exec: \"/bin/nope\": stat /bin/nope: no such file or directory\n")
        try assertNothingLeft("missing2")
    }

    func testFailingMountReportsTheStageAndLeavesNothing() throws {
        try writeConfig(["true"]) { config in
            var mounts = config["mounts"] as! [[String: Any]]
            mounts.append(["destination": "/data", "type": "bind", "source": "/no/such/dir", "options": ["bind"]])
            config["mounts"] = mounts
        }
        let result = try port("run", "badmount")
        XCTAssertEqual(result.status, 1)
        let index = (config["mounts"] as! [[String: Any]]).count - 1
        XCTAssertEqual(result.stderr, "mounts[\(index)] /data: bind source /no/such/dir does not exist\n")
        try assertNothingLeft("badmount")
    }

    func testBadIDsAndDuplicateIDs() throws {
        try writeConfig(["sleep", "100"])
        for bad in ["../escape", "a/b", String(repeating: "x", count: 1000)] {
            let result = try port("create", bad)
            XCTAssertEqual(result.status, 1)
            XCTAssertTrue(result.stderr.hasPrefix("invalid container id"), result.stderr)
        }
        XCTAssertEqual(try port("create", "twice").status, 0)
        XCTAssertEqual(try port("create", "twice").stderr, "container with id exists: twice\n")
        XCTAssertEqual(try port("delete", "twice").status, 0)
    }

    func testMissingBundleAndUnknownFlag() throws {
        XCTAssertEqual(try port("create", "--bundle", "/no/bundle", "x").stderr, "bundle /no/bundle: no such file or directory\n")
        XCTAssertEqual(try port("create", "--bogus", "x").stderr, "flag provided but not defined: -bogus\n")
        XCTAssertEqual(try port("frobnicate").status, 1)
    }

    func testJSONLogLinesForEngines() throws {
        let log = bundle + "/log.json"
        let result = try execute(Self.binary, ["--root", stateRoot, "--log", log, "--log-format", "json", "state", "ghost"])
        XCTAssertEqual(result.status, 1)
        let line = try String(contentsOfFile: log, encoding: .utf8)
        let entry = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
        XCTAssertEqual(entry?["level"], "error")
        XCTAssertEqual(entry?["msg"], "container does not exist: ghost")
        XCTAssertNotNil(entry?["time"])
    }
}
