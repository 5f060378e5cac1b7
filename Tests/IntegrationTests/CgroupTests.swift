import Foundation
import XCTest

final class CgroupTests: IntegrationCase {
    var parent: String { "/port-run-it-\(getpid())" }

    override func tearDownWithError() throws {
        try super.tearDownWithError()
        removeCgroupParent(parent)
    }

    func limited(_ args: [String], id: String, resources: [String: Any]) throws {
        try writeConfig(args) { config in
            var linux = config["linux"] as! [String: Any]
            linux["cgroupsPath"] = "\(self.parent)/\(id)"
            linux["resources"] = resources
            config["linux"] = linux
        }
    }

    var cgroups: HostCgroups { HostCgroups.current }

    func cgroupDirectories(_ id: String) -> [String] { cgroups.existingDirectories("\(parent)/\(id)") }

    /// One limit's file for the container `id`.
    func limitFile(_ controller: String, _ id: String, v1: String, v2: String) throws -> (host: String, inContainer: String, isV2: Bool) {
        try XCTUnwrap(cgroups.file(of: controller, "\(parent)/\(id)", v1: v1, v2: v2), "no \(controller) hierarchy")
    }

    func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "<missing \(path)>" }

    func testLimitsAreWrittenSeenInsideAndRemovedOnDelete() throws {
        let resources: [String: Any] = ["memory": ["limit": 67_108_864], "pids": ["limit": 40], "cpu": ["quota": 20000, "period": 100_000]]
        try limited(["true"], id: "limits", resources: resources)
        try requireControllers(["memory", "pids", "cpu"], refusing: "limits")
        let memory = try limitFile("memory", "limits", v1: "memory.limit_in_bytes", v2: "memory.max")
        let pids = try limitFile("pids", "limits", v1: "pids.max", v2: "pids.max")
        let cpu = try limitFile("cpu", "limits", v1: "cpu.cfs_quota_us", v2: "cpu.max")
        try limited(["sh", "-c", "cat \(memory.inContainer) \(pids.inContainer) \(cpu.inContainer); exec sleep 1000"], id: "limits", resources: resources)
        let process = try startInBackground("run", "limits")
        let output = readLines(process.output, count: 3)
        let expected = [(memory, "67108864"), (pids, "40"), (cpu, cpu.isV2 ? "20000 100000" : "20000")]
        XCTAssertEqual(output, expected.map { $0.1 + "\n" }.joined())
        for (file, value) in expected { XCTAssertEqual(read(file.host), value + "\n", file.host) }
        let pid = try state("limits")["pid"] as? Int ?? 0
        let procs = (pids.host as NSString).deletingLastPathComponent + "/cgroup.procs"
        // The shell's cat may not have left yet when its output is read: wait for init alone.
        _ = waitUntil { read(procs) == "\(pid)\n" }
        XCTAssertEqual(read(procs), "\(pid)\n")
        // A cgroup in every hierarchy, as runc: the named ones (name=systemd) included.
        XCTAssertEqual(cgroupDirectories("limits").count, cgroups.hierarchies.count, cgroupDirectories("limits").joined(separator: " "))
        XCTAssertEqual(try port("kill", "limits", "KILL").status, 0)
        process.run.waitUntilExit()
        XCTAssertEqual(cgroupDirectories("limits"), [], "cgroup left behind")
    }

    /// memory.kernelTCP is applied where the memory controller has the v1 file (else a
    /// warning says it is not, as for memory.kernel).
    func testKernelTCPLimitIsWrittenWhereTheFileExists() throws {
        try limited(["sleep", "100"], id: "tcp", resources: ["memory": ["kernelTCP": 1_048_576]])
        // Without any cgroup it is refused like every limit; without a memory controller (6.12
        // builds v1 without one) it is said and not applied, as where the file is missing.
        if cgroups.hierarchies.isEmpty { try requireControllers(["memory"], refusing: "tcp") }
        let result = try port("run", "-d", "tcp")
        XCTAssertEqual(result.status, 0, result.stderr)
        let files = cgroupDirectories("tcp").map { $0 + "/memory.kmem.tcp.limit_in_bytes" }.filter { FileManager.default.fileExists(atPath: $0) }
        if let file = files.first {
            XCTAssertEqual(try String(contentsOfFile: file, encoding: .utf8), "1048576\n")
            XCTAssertFalse(result.stderr.contains("kernelTCP"), result.stderr)
        } else {
            XCTAssertTrue(result.stderr.contains("memory.kernelTCP: this host's memory controller has no kernel TCP limit"), result.stderr)
        }
        XCTAssertEqual(try port("delete", "--force", "tcp").status, 0)
    }

    func testMemoryLimitOOMKillsTheContainer() throws {
        // 200 MiB into a tmpfs-backed shell variable cannot fit in 32 MiB.
        try limited(["sh", "-c", "x=$(head -c 209715200 /dev/zero | tr '\\0' a); echo survived"], id: "oom",
                    resources: ["memory": ["limit": 33_554_432, "swap": 33_554_432]])
        try requireControllers(["memory"], refusing: "oom")
        let result = try port("run", "oom")
        XCTAssertEqual(result.status, 137, result.stdout + result.stderr)
        XCTAssertFalse(result.stdout.contains("survived"))
    }

    func testPidsLimitStopsAForkBomb() throws {
        try limited(["sh", "-c", "for i in $(seq 1 50); do sleep 100 & done 2>/dev/null; sleep 100"], id: "bomb",
                    resources: ["pids": ["limit": 10]])
        try requireControllers(["pids"], refusing: "bomb")
        XCTAssertEqual(try port("run", "-d", "bomb").status, 0)
        let directory = try XCTUnwrap(cgroups.directory(of: "pids", "\(parent)/bomb"))
        // v1 and v2 both count refused forks in pids.events as "max N".
        let events = directory + "/pids.events"
        waitUntil { (try? String(contentsOfFile: events, encoding: .utf8)) != "max 0\n" }
        let current = try String(contentsOfFile: directory + "/pids.current", encoding: .utf8)
        XCTAssertLessThanOrEqual(Int(current.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 99, 10)
        XCTAssertNotEqual(try String(contentsOfFile: events, encoding: .utf8), "max 0\n", "no fork was refused")
        XCTAssertEqual(try port("delete", "--force", "bomb").status, 0)
        XCTAssertEqual(cgroupDirectories("bomb"), [])
    }

    func testPauseFreezesAndResumeThaws() throws {
        try limited(["sh", "-c", "while true; do echo tick >> /dev/shm/count; done"], id: "frozen", resources: [:])
        XCTAssertEqual(try port("run", "-d", "frozen").status, 0)
        usleep(200_000)
        let paused = try port("pause", "frozen")
        if cgroups.hierarchy(of: "freezer") == nil && !cgroups.hierarchies.contains(where: \.isV2) {
            // Nothing to freeze with: refused by name, and the container runs on.
            XCTAssertEqual(paused.status, 1)
            XCTAssertEqual(try state("frozen")["status"] as? String, "running")
            XCTAssertEqual(try port("delete", "--force", "frozen").status, 0)
            throw XCTSkip("no freezer here; the runtime refuses: \(paused.stderr.split(separator: "\n").last ?? "")")
        }
        XCTAssertEqual(paused.status, 0, paused.stderr)
        XCTAssertEqual(try state("frozen")["status"] as? String, "paused")
        let pid = try state("frozen")["pid"] as? Int ?? 0
        let counter = "/proc/\(pid)/root/dev/shm/count"
        func size() throws -> Int { try FileManager.default.attributesOfItem(atPath: counter)[.size] as? Int ?? 0 }
        let first = try size()
        usleep(200_000)
        XCTAssertEqual(try size(), first)
        XCTAssertEqual(try port("exec", "frozen", "true").status, 255)
        XCTAssertEqual(try port("resume", "frozen").status, 0)
        usleep(200_000)
        XCTAssertGreaterThan(try size(), first)
        XCTAssertEqual(try port("delete", "--force", "frozen").status, 0)
        XCTAssertEqual(cgroupDirectories("frozen"), [])
    }

    func testNoCgroupModeRunsContainersAndRefusesLimits() throws {
        try writeConfig(["sh", "-c", "echo no-cgroups"])
        XCTAssertEqual(try execute(Self.binary, ["--root", stateRoot, "--cgroup-manager", "disabled", "run", "plain"], directory: bundle).stdout,
                       "no-cgroups\n")
        try limited(["true"], id: "refused", resources: ["pids": ["limit": 10]])
        let refused = try execute(Self.binary, ["--root", stateRoot, "--cgroup-manager", "disabled", "run", "refused"], directory: bundle)
        XCTAssertEqual(refused.status, 1)
        XCTAssertEqual(refused.stderr, "config.json: linux.resources: limits need cgroups, and cgroups are disabled\n")
        try assertNothingLeft("refused")
    }

    func testDockersBlockIOWithZeroWeightRunsAndAWeightIsApplied() throws {
        // docker always sends "blockIO": {"weight": 0}: zero means unset, as in runc.
        try limited(["true"], id: "dockerish", resources: ["blockIO": ["weight": 0]])
        XCTAssertEqual(try port("run", "dockerish").status, 0)
        let weight = cgroups.file(of: "blkio", "\(parent)/weighted", v1: "blkio.weight", v2: "io.weight")
        try limited(["cat", weight?.inContainer ?? "/dev/null"], id: "weighted", resources: ["blockIO": ["weight": 300]])
        let result = try port("run", "weighted")
        if result.status == 0 {
            // v2 io.weight is 1..10000: runc's conversion of 300 gives 2930.
            XCTAssertEqual(result.stdout, weight?.isV2 == true ? "default 2930\n" : "300\n", result.stderr)
        } else {
            // No I/O scheduler with weights here: the limit is refused by name, never dropped.
            XCTAssertEqual(result.status, 1)
            let refusal = cgroups.hierarchies.isEmpty ? HostCgroups.noHierarchyRefusal
                : "linux.resources.blockIO.weight: no cgroup controller on this host has blkio.weight"
            XCTAssertTrue(result.stderr.hasPrefix(refusal), result.stderr)
            try assertNothingLeft("weighted")
        }
    }

    func testUpdateChangesTheLimitsOfARunningContainer() throws {
        try limited(["sleep", "1000"], id: "updated", resources: ["memory": ["limit": 67_108_864], "pids": ["limit": 40]])
        try requireControllers(["memory", "pids"], refusing: "updated")
        XCTAssertEqual(try port("run", "-d", "updated").status, 0)
        let memory = try limitFile("memory", "updated", v1: "memory.limit_in_bytes", v2: "memory.max").host
        let pids = try limitFile("pids", "updated", v1: "pids.max", v2: "pids.max").host
        XCTAssertEqual(try String(contentsOfFile: memory, encoding: .utf8), "67108864\n")
        XCTAssertEqual(try port("update", "--memory", "33554432", "updated").status, 0)
        XCTAssertEqual(try String(contentsOfFile: memory, encoding: .utf8), "33554432\n")
        // Sizes as runc's update takes them (docker passes "48m" when told so).
        XCTAssertEqual(try port("update", "--memory", "48m", "updated").status, 0)
        XCTAssertEqual(try String(contentsOfFile: memory, encoding: .utf8), "50331648\n")
        XCTAssertEqual(try port("update", "--memory", "1.5x", "updated").stderr,
                       "invalid --memory value \"1.5x\" (bytes, or a size such as 128M or 1.5g)\n")
        let viaStdin = try shell("echo '{\"pids\": {\"limit\": 7}}' | '\(Self.binary)' --root '\(stateRoot)' update -r - updated")
        XCTAssertEqual(viaStdin.status, 0, viaStdin.stderr)
        XCTAssertEqual(try String(contentsOfFile: pids, encoding: .utf8), "7\n")
        XCTAssertEqual(try port("update", "--pids-limit", "x", "updated").stderr, "invalid --pids-limit value \"x\"\n")
        XCTAssertEqual(try port("delete", "--force", "updated").status, 0)
        XCTAssertEqual(try port("update", "--memory", "1", "updated").stderr, "container does not exist: updated\n")
    }

    func testEventsReportStatsAndTheOOMKill() throws {
        // The shell survives: only its child, the allocating `tr`, is OOM-killed.
        try limited(["sh", "-c", "sleep 1; x=$(head -c 209715200 /dev/zero | tr '\\0' a); sleep 1000"], id: "events",
                    resources: ["memory": ["limit": 33_554_432, "swap": 33_554_432], "pids": ["limit": 20]])
        try requireControllers(["memory", "pids"], refusing: "events")
        XCTAssertEqual(try port("run", "-d", "events").status, 0)
        let once = try port("events", "--stats", "events")
        let stats = try JSONSerialization.jsonObject(with: Data(once.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(stats?["type"] as? String, "stats", once.stderr)
        let data = stats?["data"] as? [String: Any]
        XCTAssertEqual((data?["pids"] as? [String: Any])?["limit"] as? Int, 20)
        XCTAssertEqual(((data?["memory"] as? [String: Any])?["usage"] as? [String: Any])?["limit"] as? Int, 33_554_432)
        let stream = try startInBackground("events", "--interval", "500ms", "events")
        var lines: [String] = []
        let deadline = Date().addingTimeInterval(20)
        var buffer = ""
        while Date() < deadline && !lines.contains(where: { $0.contains("\"oom\"") }) {
            let data = stream.output.availableData
            if data.isEmpty { break }
            buffer += String(decoding: data, as: UTF8.self)
            lines = buffer.split(separator: "\n").map(String.init)
        }
        stream.run.terminate()
        XCTAssertTrue(lines.contains(#"{"type":"oom","id":"events"}"#), lines.joined(separator: "\n"))
        XCTAssertTrue(lines.contains { $0.hasPrefix(#"{"type":"stats","id":"events""#) })
        XCTAssertEqual(try port("delete", "--force", "events").status, 0)
    }
}
