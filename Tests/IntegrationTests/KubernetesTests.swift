import Foundation
import XCTest

/// What containerd's runc shim (and so Kubernetes) asks of a runtime, as it asks it.
final class KubernetesTests: IntegrationCase {
    /// containerd turns a pod cgroup parent ending in ".slice" into "slice:prefix:name" even
    /// without the systemd driver; runc's cgroupfs driver takes that as a relative directory
    /// name below its own cgroup, and so does port-run.
    func testSystemdFormCgroupsPathIsADirectoryInCgroupfsMode() throws {
        let name = "kubepods.slice:cri-containerd:pod\(getpid())"
        try writeConfig(["sleep", "100"]) { config in
            var linux = config["linux"] as! [String: Any]
            linux["cgroupsPath"] = name
            config["linux"] = linux
        }
        XCTAssertEqual(try port("run", "-d", "pod").status, 0)
        let pid = try XCTUnwrap(try state("pod")["pid"] as? Int)
        let own = try String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8).split(separator: "\n")
            .first { $0.contains(":pids:") }.map { String($0.split(separator: ":", maxSplits: 2)[2]) } ?? ""
        let lines = try String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8).split(separator: "\n")
        XCTAssertTrue(lines.contains { $0.hasSuffix("/" + name) }, lines.joined(separator: "\n"))
        if Self.persona == nil, let line = lines.first(where: { $0.contains(":pids:") }) {
            XCTAssertEqual(String(line), "\(line.split(separator: ":").first ?? ""):pids:\((own == "/" ? "" : own) + "/" + name)")
        }
        XCTAssertEqual(try port("delete", "--force", "pod").status, 0)
        try assertNothingLeft("pod")
    }

    /// The shim calls `kill --all ID SIGKILL` on every stop, also once init is gone: what is
    /// left in the cgroup (no pid namespace of its own, so init's children outlive it) is
    /// killed, and that is a success, as with runc. Without --all a stopped container is
    /// "container not running".
    func testKillAllOfAStoppedContainerKillsWhatIsLeftAndSucceeds() throws {
        try writeConfig(["sh", "-c", "sleep 300 & exit 0"]) { config in
            var linux = config["linux"] as! [String: Any]
            linux["namespaces"] = (linux["namespaces"] as! [[String: Any]]).filter { $0["type"] as? String != "pid" }
            config["linux"] = linux
        }
        XCTAssertEqual(try port("run", "-d", "leftover").status, 0)
        XCTAssertTrue(waitUntil { (try? self.state("leftover")["status"] as? String) == "stopped" })
        let left = try shell("pgrep -f '^sleep 300$'").stdout.split(separator: "\n").compactMap { Int32($0) }
        XCTAssertFalse(left.isEmpty, "the orphan is not there")
        let plain = try port("kill", "leftover", "KILL")
        XCTAssertEqual(plain.status, 1)
        XCTAssertEqual(plain.stderr, "container not running\n")
        let all = try port("kill", "--all", "leftover", "KILL")
        XCTAssertEqual(all.status, 0, all.stderr)
        XCTAssertTrue(waitUntil { left.allSatisfy { kill($0, 0) != 0 } }, "the orphan outlived kill --all")
        XCTAssertEqual(try port("delete", "leftover").status, 0)
        try assertNothingLeft("leftover")
    }

    /// Kubernetes' Bidirectional mount propagation (CSI node plugins): with rootfsPropagation
    /// rshared, a mount the container makes in a shared volume reaches the host, and so does
    /// its unmount.
    func testBidirectionalPropagationReachesTheHost() throws {
        let shared = (stateRoot as NSString).deletingLastPathComponent + "/shared"
        try FileManager.default.createDirectory(atPath: shared + "/inner", withIntermediateDirectories: true)
        XCTAssertEqual(try shell("mount --bind '\(shared)' '\(shared)' && mount --make-shared '\(shared)'").status, 0)
        defer { _ = try? shell("umount -R '\(shared)'") }
        try writeConfig(["sh", "-c", "mount -t tmpfs tmpfs /shared/inner && touch /shared/inner/made-inside && " +
                         "while [ ! -e /shared/seen ]; do sleep 0.05; done; umount /shared/inner"]) { config in
            var linux = config["linux"] as! [String: Any]
            linux["rootfsPropagation"] = "rshared"
            config["linux"] = linux
            Self.grant("CAP_SYS_ADMIN", in: &config)
            config["mounts"] = (config["mounts"] as! [[String: Any]]) + [
                ["destination": "/shared", "type": "bind", "source": shared, "options": ["rbind", "rshared"]],
            ]
        }
        let run = try startInBackground("run", "bidirectional")
        let reached = waitUntil(attempts: 300) { FileManager.default.fileExists(atPath: shared + "/inner/made-inside") }
        FileManager.default.createFile(atPath: shared + "/seen", contents: nil)
        run.run.waitUntilExit()
        XCTAssertTrue(reached, "the container's mount never reached the host")
        XCTAssertEqual(run.run.terminationStatus, 0)
        let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        XCTAssertFalse(mounts.contains(" \(shared)/inner "), "the container's unmount did not reach the host")
        try assertNothingLeft("bidirectional")
    }

    /// rootfsPropagation unbindable: the root is private for the rootfs's bind and becomes
    /// unbindable after pivot_root (crun's order); before, the bind failed with EINVAL.
    func testUnbindableRootfsPropagation() throws {
        try writeConfig(["awk", "$5 == \"/\"", "/proc/self/mountinfo"]) { config in
            var linux = config["linux"] as! [String: Any]
            linux["rootfsPropagation"] = "unbindable"
            config["linux"] = linux
        }
        let result = try port("run", "unbindable")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("unbindable"), result.stdout)
        try assertNothingLeft("unbindable")
    }

    /// The exact command lines containerd's runc shim runs for a container, with its json log.
    func testTheShimsCommandLines() throws {
        let base = (stateRoot as NSString).deletingLastPathComponent
        let log = base + "/log.json", pidFile = base + "/init.pid"
        // pid 1 ignores a signal it has no handler for: this one has one for SIGTERM.
        try writeConfig(["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]) { config in
            var linux = config["linux"] as! [String: Any]
            linux["cgroupsPath"] = "kubepods.slice:cri-containerd:shim\(getpid())"
            config["linux"] = linux
        }
        let shim = ["--root", stateRoot, "--log", log, "--log-format", "json"]
        let create = try execute(Self.binary, shim + ["create", "--bundle", bundle, "--pid-file", pidFile, "shim"], directory: bundle)
        XCTAssertEqual(create.status, 0, create.stderr)
        XCTAssertEqual(try execute(Self.binary, shim + ["start", "shim"], directory: bundle).status, 0)
        XCTAssertEqual(try execute(Self.binary, shim + ["kill", "shim", "15"], directory: bundle).status, 0)
        XCTAssertTrue(waitUntil { (try? self.state("shim")["status"] as? String) == "stopped" })
        XCTAssertEqual(try execute(Self.binary, shim + ["kill", "--all", "shim", "9"], directory: bundle).status, 0)
        XCTAssertEqual(try execute(Self.binary, shim + ["delete", "shim"], directory: bundle).status, 0)
        // Nothing runc would not log: no error or warning line.
        let lines = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n")
        XCTAssertFalse(lines.contains { $0.contains("\"level\":\"error\"") || $0.contains("\"level\":\"warning\"") }, lines.joined(separator: "\n"))
        try assertNothingLeft("shim")
    }
}
