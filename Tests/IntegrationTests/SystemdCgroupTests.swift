import Foundation
import XCTest

/// The systemd driver against a real systemd (PID 1 of scripts/vm-test's "systemd" and
/// "systemd-hybrid" layouts): the cgroup is a transient scope holding the limits, and delete
/// leaves no unit. Where systemd does not run, the driver must refuse in one line.
final class SystemdCgroupTests: IntegrationCase {
    var systemdRuns: Bool { FileManager.default.fileExists(atPath: "/run/systemd/system") }

    func requireSystemd() throws {
        guard systemdRuns else { throw XCTSkip("systemd is not PID 1 here (scripts/vm-test --layouts systemd boots a kernel where it is)") }
        try skipUnderSuitePersona()
    }

    /// `systemctl show -p NAME unit` for each name.
    func unitProperties(_ unit: String, _ names: [String]) throws -> [String: String] {
        let shown = try execute("/bin/systemctl", ["show", unit] + names.flatMap { ["-p", $0] }).stdout
        var values: [String: String] = [:]
        for line in shown.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
        }
        return values
    }

    func limitedSleeper(_ id: String, cgroupsPath: String? = nil) throws {
        try writeConfig(["sleep", "1000"]) { config in
            var linux = config["linux"] as! [String: Any]
            linux["resources"] = ["memory": ["limit": 64 << 20], "pids": ["limit": 42], "cpu": ["shares": 512]]
            if let cgroupsPath { linux["cgroupsPath"] = cgroupsPath }
            config["linux"] = linux
            // runc's way to set any other property of the unit.
            config["annotations"] = ["org.systemd.property.TimeoutStopSec": "uint64 123",
                                     "org.systemd.property.CollectMode": "'inactive-or-failed'"]
        }
    }

    func testWithoutSystemdTheDriverIsRefusedInOneLineAndLeavesNothing() throws {
        guard !systemdRuns else { throw XCTSkip("systemd runs here: the refusal cannot be seen") }
        try writeConfig(["true"])
        let refused = try port("--systemd-cgroup", "run", "nosystemd")
        XCTAssertEqual(refused.status, 1)
        XCTAssertEqual(refused.stderr, "--systemd-cgroup: systemd is not running on this host (no /run/systemd/system); use the cgroupfs driver\n")
        try assertNothingLeft("nosystemd")
        XCTAssertEqual(try port("--cgroup-manager", "cgroupfs", "--systemd-cgroup", "run", "nosystemd").stderr,
                       "--systemd-cgroup contradicts --cgroup-manager cgroupfs\n")
    }

    func testAPathNotInTheSystemdFormIsRefusedByName() throws {
        try writeConfig(["true"]) { config in
            var linux = config["linux"] as! [String: Any]
            linux["cgroupsPath"] = "/not/a/slice"
            config["linux"] = linux
        }
        let refused = try port("--systemd-cgroup", "run", "badpath")
        XCTAssertEqual(refused.stderr, "config.json: linux.cgroupsPath: expected \"slice:prefix:name\" for systemd cgroups, got \"/not/a/slice\"\n")
        try assertNothingLeft("badpath")
    }

    func testTheCgroupIsATransientScopeWithTheLimitsAndDeleteStopsIt() throws {
        try requireSystemd()
        let id = "sd\(getpid() % 100_000)"
        let unit = "port-run-\(id).scope"
        try limitedSleeper(id)
        let created = try port("--systemd-cgroup", "run", "-d", id)
        XCTAssertEqual(created.status, 0, created.stderr)
        defer { _ = try? port("delete", "--force", id) }
        let cgroups = HostCgroups.current
        let memoryName = cgroups.hierarchy(of: "memory")?.isV2 == true ? "MemoryMax" : "MemoryLimit"
        let shown = try unitProperties(unit, ["ActiveState", "Delegate", "Slice", memoryName, "TasksMax", "TimeoutStopUSec", "CollectMode"])
        XCTAssertEqual(shown["ActiveState"], "active", "\(shown)")
        XCTAssertEqual(shown["Delegate"], "yes")
        XCTAssertEqual(shown["Slice"], "system.slice")
        XCTAssertEqual(shown[memoryName], String(64 << 20))
        XCTAssertEqual(shown["TasksMax"], "42")
        XCTAssertEqual(shown["TimeoutStopUSec"], "2min 3s")
        XCTAssertEqual(shown["CollectMode"], "inactive-or-failed")

        // init is in the scope, and only the container is: the placeholder that held the
        // scope until init joined is gone.
        let pid = try state(id)["pid"] as? Int ?? 0
        let path = "/system.slice/\(unit)"
        let membership = try String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8)
        XCTAssertTrue(membership.split(separator: "\n").contains { $0.hasSuffix(":" + path) }, membership)
        let procs = try XCTUnwrap(cgroups.directory(of: "pids", path)) + "/cgroup.procs"
        XCTAssertEqual(try String(contentsOfFile: procs, encoding: .utf8), "\(pid)\n")
        let memory = try XCTUnwrap(cgroups.file(of: "memory", path, v1: "memory.limit_in_bytes", v2: "memory.max"))
        XCTAssertEqual(try String(contentsOfFile: memory.host, encoding: .utf8), "\(64 << 20)\n")

        // update: both the file and the unit, or a daemon-reload would put the old limit back.
        let update = try port("update", "--memory", "128M", id)
        XCTAssertEqual(update.status, 0, update.stderr)
        XCTAssertEqual(try unitProperties(unit, [memoryName])[memoryName], String(128 << 20))
        XCTAssertEqual(try execute("/bin/systemctl", ["daemon-reload"]).status, 0)
        XCTAssertEqual(try String(contentsOfFile: memory.host, encoding: .utf8), "\(128 << 20)\n")

        XCTAssertEqual(try port("delete", "--force", id).status, 0)
        XCTAssertTrue(waitUntil { (try? unitProperties(unit, ["LoadState"]))?["LoadState"] == "not-found" },
                      "the unit outlived delete: \(String(describing: try? unitProperties(unit, ["LoadState", "ActiveState"])))")
        XCTAssertEqual(cgroups.existingDirectories(path), [])
        try assertNothingLeft(id)
    }

    func testADaemonReloadDoesNotOpenTheDevices() throws {
        try requireSystemd()
        let id = "sddev\(getpid() % 100_000)"
        // With mknod in its capabilities (the default rules allow mknod of anything), only
        // the device rules stop the container from opening a virtual console of the host
        // through a node of its own (no capability guards that open, unlike /dev/kmsg's).
        try writeConfig(["sleep", "1000"]) { Self.grant("CAP_MKNOD", in: &$0) }
        XCTAssertEqual(try port("--systemd-cgroup", "run", "-d", id).status, 0)
        defer { _ = try? port("delete", "--force", id) }
        XCTAssertEqual(try execute("/bin/systemctl", ["daemon-reload"]).status, 0)
        let attempt = try port("exec", id, "sh", "-c", "mknod /dev/console1 c 4 1 && : < /dev/console1 && echo opened")
        XCTAssertEqual(attempt.stderr, "sh: can't open /dev/console1: Operation not permitted\n")
        XCTAssertFalse(attempt.stdout.contains("opened"), "after a daemon-reload the container opened the host's tty1")
        XCTAssertEqual(try port("exec", id, "sh", "-c", "echo x > /dev/null && echo null-ok").stdout, "null-ok\n")
    }

    /// A pod container as containerd's runc shim drives it with SystemdCgroup = true: its
    /// global flags, create, start, kill --all, delete; the scope sits in the pod's slice.
    func testAKubernetesPodContainerAsTheShimDrivesIt() throws {
        try requireSystemd()
        let id = "sdpod\(getpid() % 100_000)"
        let slice = "kubepods-besteffort-pod\(id).slice"
        let scope = "cri-containerd-\(id).scope"
        try limitedSleeper(id, cgroupsPath: "\(slice):cri-containerd:\(id)")
        let log = bundle + "/log.json"
        func shim(_ arguments: String...) throws -> Result {
            try port(["--log", log, "--log-format", "json", "--systemd-cgroup"] + arguments)
        }
        XCTAssertEqual(try shim("create", "--bundle", bundle, "--pid-file", bundle + "/init.pid", id).status, 0)
        defer {
            _ = try? port("delete", "--force", id)
            _ = try? execute("/bin/systemctl", ["stop", slice])
        }
        XCTAssertEqual(try shim("start", id).status, 0)
        let pid = try String(contentsOfFile: bundle + "/init.pid", encoding: .utf8)
        let membership = try String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8)
        XCTAssertTrue(membership.contains("/kubepods.slice/kubepods-besteffort.slice/\(slice)/\(scope)"), membership)

        // A second container may not take the same unit; it leaves nothing behind, and the
        // first one's unit stays as it was.
        let second = "sdpod2\(getpid() % 100_000)"
        let refused = try port("--systemd-cgroup", "run", "-d", second)
        XCTAssertEqual(refused.status, 1)
        XCTAssertEqual(refused.stderr, "systemd unit \(scope) already exists: is a container of that name running?\n")
        try assertNothingLeft(second)
        XCTAssertEqual(try unitProperties(scope, ["ActiveState"])["ActiveState"], "active")

        XCTAssertEqual(try shim("kill", "--all", id, "9").status, 0)
        XCTAssertTrue(waitUntil { (try? self.state(id)["status"] as? String) == "stopped" })
        XCTAssertEqual(try shim("delete", id).status, 0)
        XCTAssertTrue(waitUntil { (try? unitProperties(scope, ["LoadState"]))?["LoadState"] == "not-found" })
        try assertNothingLeft(id)
        // Nothing logged that runc would not log: no warning, no error.
        let logged = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        XCTAssertFalse(logged.contains("\"level\":\"warning\"") || logged.contains("\"level\":\"error\""), logged)
    }

    /// containerd with SystemdCgroup = true, as a kubeadm node runs it: its runc shim runs
    /// port-run with --systemd-cgroup; the container lives in its scope, which is gone after.
    func testContainerdWithTheSystemdDriverRunsAContainer() throws {
        try requireSystemd()
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/containerd") else {
            XCTFail("containerd is missing: scripts/install-deps test installs it")
            return
        }
        let id = "ctr\(getpid() % 100_000)"
        let base = (stateRoot as NSString).deletingLastPathComponent + "/containerd"
        // A unix socket's path has at most 107 bytes: not below this test's long directory.
        let socket = Self.work + "/\(id).sock"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        try """
            version = 2
            root = "\(base)/root"
            state = "\(base)/state"
            disabled_plugins = ["io.containerd.grpc.v1.cri"]
            [grpc]
              address = "\(socket)"
            """.write(toFile: base + "/config.toml", atomically: true, encoding: .utf8)
        let daemon = try shell("containerd --config '\(base)/config.toml' > '\(base)/log' 2>&1 & echo $!")
        let daemonPid = try XCTUnwrap(Int32(daemon.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        defer {
            kill(daemonPid, SIGTERM)
            _ = waitUntil(attempts: 500) { kill(daemonPid, 0) != 0 }
            _ = try? shell("findmnt -rn -o TARGET | grep -F '\(base)/' | sort -r | xargs -r umount -l")
        }
        let ctr = ["/usr/bin/ctr", "--address", socket, "--namespace", "port-run-test"]
        func logTail() -> String {
            ((try? String(contentsOfFile: base + "/log", encoding: .utf8)) ?? "").split(separator: "\n").suffix(5).joined(separator: "\n")
        }
        guard waitUntil(attempts: 300, interval: 200_000, { (try? self.execute(ctr[0], Array(ctr.dropFirst()) + ["version"]))?.status == 0 }) else {
            XCTFail("containerd did not answer within a minute: \(logTail())")
            return
        }
        let rootfs = try copyOfRootfs()
        let ran = try execute(ctr[0], Array(ctr.dropFirst()) + [
            "run", "--rm", "--rootfs", "--runtime", "io.containerd.runc.v2", "--runc-binary", Self.binary,
            "--runc-root", base + "/runtime", "--fifo-dir", base + "/fifo", "--runc-systemd-cgroup",
            "--cgroup", "system.slice:port-run-ctr:\(id)", rootfs, id, "cat", "/proc/self/cgroup"])
        XCTAssertEqual(ran.status, 0, ran.stderr + logTail())
        XCTAssertTrue(ran.stdout.contains("/system.slice/port-run-ctr-\(id).scope"), ran.stdout)
        XCTAssertTrue(waitUntil { (try? unitProperties("port-run-ctr-\(id).scope", ["LoadState"]))?["LoadState"] == "not-found" },
                      "the container's unit outlived it")
    }

    /// `run` in the foreground: the exit status is the container's, and the unit goes with it.
    func testAForegroundRunEndsWithItsUnit() throws {
        try requireSystemd()
        let id = "sdfg\(getpid() % 100_000)"
        // Without a cgroup namespace of its own, the container sees where its cgroup is.
        try writeConfig(["sh", "-c", "grep -c 'port-run-\(id).scope' /proc/self/cgroup; exit 3"]) { config in
            var linux = config["linux"] as! [String: Any]
            linux["namespaces"] = (linux["namespaces"] as! [[String: Any]]).filter { $0["type"] as? String != "cgroup" }
            config["linux"] = linux
        }
        let ran = try port("--systemd-cgroup", "run", id)
        XCTAssertEqual(ran.status, 3, ran.stderr)
        XCTAssertNotEqual(ran.stdout, "0\n", "the container did not run in its scope")
        XCTAssertEqual(ran.stderr, "")
        XCTAssertTrue(waitUntil { (try? unitProperties("port-run-\(id).scope", ["LoadState"]))?["LoadState"] == "not-found" })
        try assertNothingLeft(id)
    }
}
