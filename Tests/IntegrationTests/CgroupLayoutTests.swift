import Foundation
import XCTest

/// Cgroup layouts other than this host's hybrid one, made in private mount namespaces, and
/// the ways the runtime empties a cgroup.
final class CgroupLayoutTests: IntegrationCase {
    var parent: String { "/port-run-layout-\(getpid())" }

    override func tearDownWithError() throws {
        try super.tearDownWithError()
        removeCgroupParent(parent)
    }

    func configure(_ args: [String], id: String, resources: [String: Any] = [:]) throws {
        try writeConfig(args) { config in
            var linux = config["linux"] as! [String: Any]
            linux["cgroupsPath"] = "\(self.parent)/\(id)"
            linux["resources"] = resources
            config["linux"] = linux
        }
    }

    var cgroups: HostCgroups { HostCgroups.current }

    /// Every cgroup directory below the test's parent, in every hierarchy.
    func leftovers() -> [String] {
        cgroups.hierarchies.flatMap { hierarchy in
            let directory = hierarchy.mountPoint + parent
            return ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
                .filter { FileManager.default.fileExists(atPath: "\(directory)/\($0)/cgroup.procs") }
                .map { "\(directory)/\($0)" }
        }
    }

    func testRepeatedCreateDeleteLeavesNoCgroup() throws {
        try configure(["true"], id: "cycle", resources: ["pids": ["limit": 20]])
        try requireControllers(["pids"], refusing: "cycle")
        for round in 0..<(Self.inEmulatedMachine ? 25 : 100) {
            let created = try port("create", "cycle")
            XCTAssertEqual(created.status, 0, "round \(round): \(created.stderr)")
            XCTAssertEqual(try port("delete", "--force", "cycle").status, 0)
        }
        XCTAssertEqual(leftovers(), [])
        XCTAssertEqual(stateEntries(), [])
    }

    /// cgroup2 unmounted in a private mount namespace: a hybrid (or Android) host looks like
    /// pure v1.
    func testPureV1WhenTheUnifiedMountIsHidden() throws {
        guard let v2 = cgroups.hierarchies.first(where: \.isV2), let memory = cgroups.hierarchy(of: "memory"), !memory.isV2 else {
            throw XCTSkip("this host has no cgroup2 mount beside a v1 memory hierarchy to hide")
        }
        try configure(["sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; sleep 1000"], id: "v1",
                      resources: ["memory": ["limit": 50_331_648]])
        let inner = Self.simulated(Self.binary, ["--root", stateRoot, "run", "-d", "v1"]).map { "'\($0)'" }.joined(separator: " ")
        let result = try shell("cd '\(bundle)' && unshare -m --propagation private sh -c \"umount -l '\(v2.mountPoint)' && '\(Self.binary)' \(inner)\"")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(memory.mountPoint)\(parent)/v1"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(v2.mountPoint)\(parent)/v1"), "the hidden v2 tree was used")
        let limit = try String(contentsOfFile: "\(memory.mountPoint)\(parent)/v1/memory.limit_in_bytes", encoding: .utf8)
        XCTAssertEqual(limit, "50331648\n")
        XCTAssertEqual(try port("delete", "--force", "v1").status, 0)
        XCTAssertEqual(leftovers(), [])
    }

    /// kill --all KILL empties the cgroup with cgroup.kill where the v2 tree has it, and by
    /// freeze, kill, thaw where it does not; no process survives either way.
    func testKillAllUsesCgroupKillOrFreezesFirst() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/strace") else {
            return XCTFail("strace is missing: scripts/install-deps test installs it")
        }
        guard let any = cgroups.hierarchies.first else { throw XCTSkip("this host mounts no cgroup hierarchy: kill --all has no cgroup to empty") }
        for (id, overrides) in [("withkill", ""), ("frozen", "no-cgroup-kill")] {
            try configure(["sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 1000 & done; wait"], id: id)
            let started = try port("run", "-d", id)
            XCTAssertEqual(started.status, 0, started.stderr)
            // cgroup.kill came in 5.14; a persona with v1 only gives the container no v2 cgroup.
            let v2 = cgroups.hierarchies.first(where: \.isV2)
            let hasKill = overrides.isEmpty && v2.map { FileManager.default.fileExists(atPath: "\($0.mountPoint)\(parent)/\(id)/cgroup.kill") } == true
            XCTAssertTrue(hasKill || !overrides.isEmpty || v2 == nil || Self.persona != nil || !HostCgroups.kernelHasCgroupKill,
                          "no cgroup.kill on this host's v2 tree")
            let expected = hasKill ? "cgroup.kill" : cgroups.hierarchy(of: "freezer") != nil ? "freezer.state" : "cgroup.freeze"
            let procs = (cgroups.hierarchy(of: "pids") ?? any).mountPoint + "\(parent)/\(id)/cgroup.procs"
            waitUntil { ((try? String(contentsOfFile: procs, encoding: .utf8)) ?? "").split(separator: "\n").count >= 9 }
            let trace = try shell("""
                cd '\(bundle)' && PORT_RUN_TEST_OVERRIDES='\(overrides)' strace -f -e trace=openat \
                '\(Self.binary)' --root '\(stateRoot)' kill --all \(id) KILL 2>&1 >/dev/null | grep -E 'cgroup.kill|freezer.state|cgroup.freeze'
                """)
            XCTAssertTrue(trace.stdout.contains(expected), "\(id): \(trace.stdout)")
            if expected != "cgroup.kill" { XCTAssertFalse(trace.stdout.contains("cgroup.kill"), trace.stdout) }
            waitUntil { ((try? String(contentsOfFile: procs, encoding: .utf8)) ?? "").isEmpty }
            XCTAssertEqual(try String(contentsOfFile: procs, encoding: .utf8), "", "\(id): processes survived kill --all")
            XCTAssertEqual(try port("delete", id).status, 0)
        }
        XCTAssertEqual(leftovers(), [])
    }
}
