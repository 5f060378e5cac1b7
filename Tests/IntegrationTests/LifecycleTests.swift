import Foundation
import XCTest

final class LifecycleTests: IntegrationCase {
    func testRunPrintsAndExitsWithTheContainerStatus() throws {
        try writeConfig(["sh", "-c", "echo hello from inside; exit 7"])
        let result = try port("run", "exit7")
        XCTAssertEqual(result.stdout, "hello from inside\n")
        XCTAssertEqual(result.status, 7, result.stderr)
        try assertNothingLeft("exit7")
    }

    func testRunReportsDeathBySignalAs128PlusN() throws {
        // pid 1 ignores signals from inside its namespace, so the kill comes from the host.
        try writeConfig(["sh", "-c", "echo ready; sleep 1000"])
        let process = try startInBackground("run", "killed")
        XCTAssertEqual(String(decoding: process.output.availableData, as: UTF8.self), "ready\n")
        XCTAssertEqual(try port("kill", "killed", "KILL").status, 0)
        process.run.waitUntilExit()
        XCTAssertEqual(process.run.terminationStatus, 137)
        try assertNothingLeft("killed")
    }

    func testCreateStartStateKillDeleteCycle() throws {
        try writeConfig(["sleep", "1000"])
        let created = try port("create", "--pid-file", bundle + "/pid", "cycle")
        XCTAssertEqual(created.status, 0, created.stderr)
        var current = try state("cycle")
        XCTAssertEqual(current["status"] as? String, "created")
        XCTAssertEqual(current["id"] as? String, "cycle")
        XCTAssertEqual(current["bundle"] as? String, bundle)
        let pid = current["pid"] as? Int ?? 0
        XCTAssertGreaterThan(pid, 0)
        XCTAssertEqual(try String(contentsOfFile: bundle + "/pid", encoding: .utf8), String(pid))
        // While created, init is the runtime's own single-threaded process, waiting on the fifo.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").count, 1)

        XCTAssertEqual(try port("start", "cycle").status, 0)
        XCTAssertEqual(try state("cycle")["status"] as? String, "running")
        XCTAssertEqual(try port("start", "cycle").stderr, "cannot start an already running container\n")
        let refused = try port("delete", "cycle")
        XCTAssertEqual(refused.status, 1)
        XCTAssertEqual(refused.stderr, "cannot delete container cycle that is not stopped: running\n")

        XCTAssertEqual(try port("kill", "cycle", "KILL").status, 0)
        try waitUntil { (try state("cycle")["status"] as? String) == "stopped" }
        current = try state("cycle")
        XCTAssertEqual(current["status"] as? String, "stopped")
        XCTAssertEqual(current["pid"] as? Int, 0)
        XCTAssertEqual(try port("kill", "cycle").stderr, "container not running\n")
        XCTAssertEqual(try port("delete", "cycle").status, 0)
        XCTAssertEqual(try port("state", "cycle").stderr, "container does not exist: cycle\n")
        try assertNothingLeft("cycle")
    }

    func testDeleteOfACreatedContainerKillsItsInit() throws {
        try writeConfig(["true"])
        XCTAssertEqual(try port("create", "pending").status, 0)
        XCTAssertEqual(try port("delete", "pending").status, 0)
        try assertNothingLeft("pending")
    }

    /// `delete --force` of a created container polls for init's end, and stops polling once
    /// init is gone: a few reads of its /proc stat, not one per millisecond of the timeout.
    func testForceDeleteStopsPollingOnceInitIsGone() throws {
        try skipUnderSuitePersona()
        try writeConfig(["true"])
        XCTAssertEqual(try port("create", "polled").status, 0)
        let pid = try XCTUnwrap(try state("polled")["pid"] as? Int)
        let (result, lines) = try traced("openat", follow: false, [Self.binary, "--root", stateRoot, "delete", "--force", "polled"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let reads = lines.filter { $0.contains("/proc/\(pid)/stat\"") }
        XCTAssertGreaterThan(reads.count, 0)
        XCTAssertLessThan(reads.count, 100, "init's stat was read \(reads.count) times")
        try assertNothingLeft("polled")
    }

    func testForceDeleteOfARunningContainerAndKillAll() throws {
        try writeConfig(["sh", "-c", "sleep 1000 & sleep 1000 & wait"])
        XCTAssertEqual(try port("run", "-d", "busy").status, 0)
        let pid = try state("busy")["pid"] as? Int ?? 0
        XCTAssertEqual(try port("kill", "--all", "busy", "KILL").status, 0)
        waitUntil { !FileManager.default.fileExists(atPath: "/proc/\(pid)/ns") }
        XCTAssertEqual(try port("delete", "busy").status, 0)
        try writeConfig(["sleep", "1000"])
        XCTAssertEqual(try port("run", "-d", "busy2").status, 0)
        XCTAssertEqual(try port("delete", "--force", "busy2").status, 0)
        try assertNothingLeft("busy2")
        XCTAssertEqual(try port("delete", "--force", "never-existed").status, 0)
    }

    func testListShowsContainersAsTableJSONAndIDs() throws {
        try writeConfig(["sleep", "1000"])
        XCTAssertEqual(try port("create", "listed").status, 0)
        let table = try port("list")
        XCTAssertTrue(table.stdout.hasPrefix("ID          PID         STATUS      BUNDLE"), table.stdout)
        XCTAssertTrue(table.stdout.contains("listed"))
        XCTAssertTrue(table.stdout.contains("created"))
        XCTAssertEqual(try port("list", "-q").stdout, "listed\n")
        let json = try JSONSerialization.jsonObject(with: Data(try port("list", "--format", "json").stdout.utf8)) as? [[String: Any]]
        XCTAssertEqual(json?.first?["id"] as? String, "listed")
        XCTAssertEqual(json?.first?["owner"] as? String, "root")
    }

    func testOneHundredSequentialRunsLoseNoOutput() throws {
        try writeConfig(["sh", "-c", "echo line-$PORT_N"]) { config in
            var process = config["process"] as! [String: Any]
            process["env"] = ["PATH=/bin", "PORT_N=x"]
            config["process"] = process
        }
        var lines: [String] = []
        for index in 0..<100 {
            let result = try port("run", "seq\(index)")
            XCTAssertEqual(result.status, 0, result.stderr)
            lines.append(result.stdout)
        }
        XCTAssertEqual(lines, Array(repeating: "line-x\n", count: 100))
        XCTAssertEqual(stateEntries(), [])
    }

    func testOutputWrittenRightBeforeExitIsKept() throws {
        // 64 KiB then exit: a runtime that tears stdio down early loses the tail.
        try writeConfig(["sh", "-c", "head -c 65536 /dev/zero | tr '\\0' a; echo END"])
        let result = try port("run", "tail")
        XCTAssertEqual(result.stdout.count, 65536 + 4)
        XCTAssertTrue(result.stdout.hasSuffix("aEND\n"))
    }

    func testRunForwardsSignalsToTheContainer() throws {
        try writeConfig(["sh", "-c", "trap 'echo got-term; exit 42' TERM; echo ready; while true; do sleep 0.05; done"])
        let process = try startInBackground("run", "fwd")
        XCTAssertEqual(String(decoding: process.output.availableData, as: UTF8.self), "ready\n")
        kill(process.run.processIdentifier, SIGTERM)
        process.run.waitUntilExit()
        XCTAssertEqual(String(decoding: process.output.readDataToEndOfFile(), as: UTF8.self), "got-term\n")
        XCTAssertEqual(process.run.terminationStatus, 42)
        try assertNothingLeft("fwd")
    }
}
