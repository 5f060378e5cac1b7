import Foundation
import XCTest

final class HookTests: IntegrationCase {
    /// A hook that records its kind, its mount namespace and the state it read on stdin.
    func recorder(_ kind: String, logs: String) -> [String: Any] {
        ["path": "/bin/sh", "args": ["sh", "-c", "echo \(kind) >> \(logs)/order; readlink /proc/self/ns/mnt > \(logs)/\(kind).ns; cat > \(logs)/\(kind).state"]]
    }

    func testAllSixHooksRunInOrderWithStateAndInTheRightNamespace() throws {
        let logs = bundle + "/logs"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        try writeConfig(["sleep", "1000"]) { config in
            var hooks: [String: Any] = [:]
            for kind in ["prestart", "createRuntime", "createContainer", "poststart", "poststop"] {
                hooks[kind] = [self.recorder(kind, logs: logs)]
            }
            // startContainer runs inside the container: its paths are the container's.
            hooks["startContainer"] = [self.recorder("startContainer", logs: "/logs")]
            config["hooks"] = hooks
            var mounts = config["mounts"] as! [[String: Any]]
            mounts.append(["destination": "/logs", "type": "bind", "source": logs, "options": ["bind"]])
            config["mounts"] = mounts
            config["annotations"] = ["org.example": "yes"]
        }
        XCTAssertEqual(try port("create", "hooked").status, 0)
        XCTAssertEqual(try String(contentsOfFile: logs + "/order", encoding: .utf8), "prestart\ncreateRuntime\ncreateContainer\n")
        let pid = try state("hooked")["pid"] as? Int ?? 0
        XCTAssertEqual(try port("start", "hooked").status, 0)
        XCTAssertEqual(try port("kill", "hooked", "KILL").status, 0)
        try waitUntil { (try state("hooked")["status"] as? String) == "stopped" }
        XCTAssertEqual(try port("delete", "hooked").status, 0)
        XCTAssertEqual(try String(contentsOfFile: logs + "/order", encoding: .utf8),
                       "prestart\ncreateRuntime\ncreateContainer\nstartContainer\npoststart\npoststop\n")

        let hostNS = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/mnt")
        func namespace(_ kind: String) throws -> String {
            try String(contentsOfFile: "\(logs)/\(kind).ns", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        XCTAssertEqual(try namespace("prestart"), hostNS)
        XCTAssertEqual(try namespace("createRuntime"), hostNS)
        XCTAssertNotEqual(try namespace("createContainer"), hostNS)
        XCTAssertEqual(try namespace("startContainer"), try namespace("createContainer"))
        XCTAssertEqual(try namespace("poststop"), hostNS)

        for (kind, status) in [("prestart", "created"), ("createRuntime", "creating"), ("createContainer", "creating"),
                               ("startContainer", "created"), ("poststart", "running"), ("poststop", "stopped")] {
            let data = try Data(contentsOf: URL(fileURLWithPath: "\(logs)/\(kind).state"))
            let state = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            XCTAssertEqual(state?["id"] as? String, "hooked", kind)
            XCTAssertEqual(state?["status"] as? String, status, kind)
            XCTAssertEqual(state?["pid"] as? Int, pid, kind)
            XCTAssertEqual(state?["bundle"] as? String, bundle, kind)
            XCTAssertEqual((state?["annotations"] as? [String: String])?["org.example"], "yes", kind)
        }
    }

    func testFailingCreateRuntimeHookAbortsCreateAndRunsPoststop() throws {
        try writeConfig(["true"]) { config in
            config["hooks"] = [
                "createRuntime": [["path": "/bin/sh", "args": ["sh", "-c", "echo broken >&2; exit 3"]]],
                "poststop": [["path": "/bin/sh", "args": ["sh", "-c", "touch \(self.bundle)/poststop-ran"]]],
            ]
        }
        let result = try port("create", "hookfail")
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "createRuntime hook #0 (/bin/sh): exit status 3, output: broken\n")
        XCTAssertTrue(FileManager.default.fileExists(atPath: bundle + "/poststop-ran"))
        try assertNothingLeft("hookfail")
    }

    func testHookTimeoutIsEnforced() throws {
        try writeConfig(["true"]) { config in
            config["hooks"] = ["prestart": [["path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1]]]
        }
        let started = Date()
        let result = try port("run", "slowhook")
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
        XCTAssertEqual(result.stderr, "prestart hook #0 (/bin/sleep): timed out after 1s\n")
        try assertNothingLeft("slowhook")
    }

    func testFailingPoststartOnlyWarns() throws {
        try writeConfig(["sh", "-c", "echo ran"]) { config in
            config["hooks"] = ["poststart": [["path": "/bin/false"]]]
        }
        let result = try port("run", "warnhook")
        XCTAssertEqual(result.status, 0)
        XCTAssertEqual(result.stdout, "ran\n")
        XCTAssertTrue(result.stderr.contains("level=warning msg=\"poststart hook #0 (/bin/false): exit status 1\""), result.stderr)
    }

    /// The spec: a failing poststart or poststop hook is a warning, and the hooks after it
    /// still run.
    func testAFailingPoststartOrPoststopHookDoesNotStopTheOthers() throws {
        let record = (stateRoot as NSString).deletingLastPathComponent + "/after-failure"
        try writeConfig(["true"]) { config in
            let after = { (kind: String) -> [String: Any] in ["path": "/bin/sh", "args": ["sh", "-c", "echo \(kind) >> '\(record)'"]] }
            config["hooks"] = ["poststart": [["path": "/bin/false"], after("poststart")],
                               "poststop": [["path": "/bin/false"], after("poststop")]]
        }
        let result = try port("run", "hookchain")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try String(contentsOfFile: record, encoding: .utf8), "poststart\npoststop\n")
        XCTAssertTrue(result.stderr.contains("poststart hook #0 (/bin/false): exit status 1"), result.stderr)
        XCTAssertTrue(result.stderr.contains("poststop hook #0 (/bin/false): exit status 1"), result.stderr)
        try assertNothingLeft("hookchain")
    }
}
