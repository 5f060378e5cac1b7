import Foundation
import XCTest

/// Engines time out, kill and retry: whatever happens mid-way, `delete --force` must leave
/// nothing, and concurrent callers must never corrupt each other.
final class ReliabilityTests: IntegrationCase {
    var cgroupParent: String { "/port-run-rel-\(getpid())" }

    override func tearDownWithError() throws {
        try super.tearDownWithError()
        removeCgroupParent(cgroupParent)
    }

    func leftoverCgroups() -> [String] {
        HostCgroups.current.hierarchies.flatMap { hierarchy in
            let parent = hierarchy.mountPoint + cgroupParent
            return ((try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []).filter { name in
                var isDirectory: ObjCBool = false
                return FileManager.default.fileExists(atPath: parent + "/" + name, isDirectory: &isDirectory) && isDirectory.boolValue
            }
        }
    }

    func testSIGKILLAtAnyPointLeavesNothingAfterForceDelete() throws {
        try writeConfig(["sleep", "0.05"]) { config in
            var linux = config["linux"] as! [String: Any]
            linux["cgroupsPath"] = self.cgroupParent + "/k"
            config["linux"] = linux
        }
        var generator = SystemRandomNumberGenerator()
        for index in 0..<200 {
            var config = self.config
            var linux = config["linux"] as! [String: Any]
            linux["cgroupsPath"] = "\(cgroupParent)/k\(index)"
            config["linux"] = linux
            try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: bundle + "/config.json"))
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Self.binary)
            process.arguments = ["--root", stateRoot, "run", "k\(index)"]
            process.currentDirectoryURL = URL(fileURLWithPath: bundle)
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(UInt32.random(in: 0...50_000, using: &generator))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        for id in stateEntries() {
            let result = try port("delete", "--force", id)
            XCTAssertEqual(result.status, 0, "\(id): \(result.stderr)")
        }
        XCTAssertEqual(stateEntries(), [])
        XCTAssertEqual(leftoverCgroups(), [], "cgroups left behind")
        for index in stride(from: 0, to: 200, by: 20) { try assertNothingLeft("k\(index)") }
    }

    func testParallelLifecyclesAndRacingCreates() throws {
        try writeConfig(["true"])
        let parallel = try shell("""
            cd '\(bundle)'; fail=0
            for i in $(seq 1 20); do
              ( '\(Self.binary)' --root '\(stateRoot)' create p$i && '\(Self.binary)' --root '\(stateRoot)' start p$i &&
                sleep 0.1 && '\(Self.binary)' --root '\(stateRoot)' delete p$i ) || echo "p$i failed" &
            done; wait
            """)
        XCTAssertEqual(parallel.stdout, "", parallel.stderr)
        try writeConfig(["sleep", "100"])
        let racing = try shell("""
            cd '\(bundle)'
            for i in $(seq 1 10); do ( '\(Self.binary)' --root '\(stateRoot)' create same 2>&1 && echo won ) & done; wait
            """)
        XCTAssertEqual(racing.stdout.components(separatedBy: "won").count - 1, 1, racing.stdout)
        XCTAssertEqual(racing.stdout.components(separatedBy: "container with id exists: same").count - 1, 9, racing.stdout)
        XCTAssertEqual(try state("same")["status"] as? String, "created")
        XCTAssertEqual(stateEntries(), ["same"])
    }

    func testFullStateRootFailsWithOneLineAndLeavesNothing() throws {
        try FileManager.default.createDirectory(atPath: stateRoot, withIntermediateDirectories: true)
        XCTAssertEqual(try shell("mount -t tmpfs -o size=1m tmpfs '\(stateRoot)' && dd if=/dev/zero of='\(stateRoot)/filler' bs=4k 2>/dev/null; true").status, 0)
        defer { _ = try? shell("umount '\(stateRoot)'") }
        try writeConfig(["sleep", "100"]) { config in
            var linux = config["linux"] as! [String: Any]
            linux["cgroupsPath"] = self.cgroupParent + "/full"
            config["linux"] = linux
        }
        let result = try port("create", "full")
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.hasSuffix("no space left on device\n"), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1)
        XCTAssertEqual(stateEntries(), ["filler"])
        XCTAssertEqual(leftoverCgroups(), [])
        try FileManager.default.removeItem(atPath: stateRoot + "/filler")
    }

    func testExhaustedFdsGiveOneLineAndLeaveNothing() throws {
        try writeConfig(["true"])
        // Each limit runs out at a different step of create.
        for limit in 4...7 {
            let result = try shell("cd '\(bundle)' && ulimit -n \(limit) && exec '\(Self.binary)' --root '\(stateRoot)' run fds\(limit)")
            XCTAssertEqual(result.status, 1)
            // With fewer namespaces (a persona's kernel) create needs fewer fds and gets as far
            // as the container's own RLIMIT_NOFILE, which is above the caller's hard limit.
            XCTAssertTrue(result.stderr.hasSuffix("too many open files\n")
                          || result.stderr.hasSuffix("setrlimit RLIMIT_NOFILE: operation not permitted\n"), result.stderr)
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            try assertNothingLeft("fds\(limit)")
        }
    }

    func testHugeConfigIsRefusedWithoutReadingIt() throws {
        XCTAssertEqual(try shell("truncate -s 100M '\(bundle)/config.json'").status, 0)
        let started = Date()
        let result = try port("create", "huge")
        XCTAssertLessThan(Date().timeIntervalSince(started), 1)
        XCTAssertEqual(result.stderr, "read \(bundle)/config.json: file is 104857600 bytes, more than the 33554432 allowed\n")
        try assertNothingLeft("huge")
    }
}

final class RaceTests: IntegrationCase {
    func testDeleteRacingStartAndKillEndsClean() throws {
        try writeConfig(["sleep", "100"])
        for round in 0..<10 {
            let id = "race\(round)"
            XCTAssertEqual(try port("create", id).status, 0)
            // start, kill and delete --force at once: whatever order the lock gives them,
            // the end is no container, no process, no state.
            _ = try shell("""
                cd '\(bundle)'; P='\(Self.binary)'; R='\(stateRoot)'
                "$P" --root "$R" start \(id) 2>/dev/null & "$P" --root "$R" kill \(id) KILL 2>/dev/null & "$P" --root "$R" delete --force \(id) & wait
                """)
            _ = try port("delete", "--force", id)
            try assertNothingLeft(id)
        }
    }

    func testAPidsLimitOnTheCallerGivesOneLine() throws {
        // The caller's own cgroup allows a single process: port-run cannot fork its init.
        guard let pids = HostCgroups.current.directory(of: "pids", "") else { throw XCTSkip("this host mounts no pids controller to limit the caller with") }
        let group = "\(pids)/port-run-callerlimit-\(getpid())"
        try FileManager.default.createDirectory(atPath: group, withIntermediateDirectories: true)
        defer { rmdir(group) }
        try writeConfig(["true"])
        let result = try shell("cd '\(bundle)' && sh -c 'echo $$ > \(group)/cgroup.procs; echo 1 > \(group)/pids.max; exec \"$0\" --root \"$1\" --cgroup-manager disabled run limited' '\(Self.binary)' '\(stateRoot)'")
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.hasSuffix("resource temporarily unavailable\n"), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
        try assertNothingLeft("limited")
    }
}
