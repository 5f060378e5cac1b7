import Foundation
import XCTest

/// runc's command line: flags on either side of the container id, nothing after it ignored,
/// and run's --keep.
final class CommandLineTests: IntegrationCase {
    var parent: String { "/port-run-cli-\(getpid())" }

    override func tearDownWithError() throws {
        try super.tearDownWithError()
        removeCgroupParent(parent)
    }

    func testUpdateTakesItsOptionsAfterTheIdAndRefusesUnknownOnes() throws {
        try writeConfig(["sleep", "1000"]) { config in
            var linux = config["linux"] as! [String: Any]
            linux["cgroupsPath"] = self.parent + "/upd"
            linux["resources"] = ["pids": ["limit": 100]]
            config["linux"] = linux
        }
        try requireControllers(["pids"], refusing: "upd")
        XCTAssertEqual(try port("run", "-d", "upd").status, 0)
        let pids = try XCTUnwrap(HostCgroups.current.file(of: "pids", parent + "/upd", v1: "pids.max", v2: "pids.max")).host
        let update = try port("update", "upd", "--pids-limit", "42")
        XCTAssertEqual(update.status, 0, update.stderr)
        XCTAssertEqual(try String(contentsOfFile: pids, encoding: .utf8), "42\n")
        let bogus = try port("update", "upd", "--bogus", "1")
        XCTAssertEqual(bogus.status, 1)
        XCTAssertEqual(bogus.stderr, "flag provided but not defined: -bogus\n")
        let extra = try port("update", "upd", "other")
        XCTAssertEqual(extra.status, 1)
        XCTAssertEqual(extra.stderr, "\"update\" takes only the container id; unexpected: \"other\"\n")
        XCTAssertEqual(try String(contentsOfFile: pids, encoding: .utf8), "42\n")
        // Every command with a fixed argument list reads flags after the id too.
        XCTAssertEqual(try port("state", "upd", "extra").stderr, "\"state\" takes only the container id; unexpected: \"extra\"\n")
        XCTAssertEqual(try port("kill", "upd", "KILL", "more").stderr, "\"kill\" takes at most 2 arguments; unexpected: \"more\"\n")
        XCTAssertEqual(try port("list", "upd").stderr, "\"list\" takes no arguments; unexpected: \"upd\"\n")
        let delete = try port("delete", "upd", "--force")
        XCTAssertEqual(delete.status, 0, delete.stderr)
        try assertNothingLeft("upd")
    }

    func testRunKeepLeavesTheStoppedContainerForDelete() throws {
        try writeConfig(["sh", "-c", "exit 3"])
        let run = try port("run", "--keep", "kept")
        XCTAssertEqual(run.status, 3, run.stderr)
        XCTAssertEqual(try state("kept")["status"] as? String, "stopped")
        XCTAssertEqual(try port("delete", "kept").status, 0)
        try assertNothingLeft("kept")
        XCTAssertEqual(try port("run", "-d", "--keep", "kept2").stderr, "--detach and --keep cannot be used together\n")
        try assertNothingLeft("kept2")
    }
}
