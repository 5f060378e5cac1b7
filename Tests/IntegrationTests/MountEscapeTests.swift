import Foundation
import XCTest

/// The escape classes of the rootfs: what a container (or its image) controls in the paths
/// the runtime mounts on, masks and creates. Each is the published attack, run for real.
final class MountEscapeTests: IntegrationCase {
    /// CVE-2021-30465 and CVE-2024-45310: container A swaps a directory of a volume it shares
    /// with B for a symlink, as fast as it can, while B is created with a mount below that
    /// directory. Resolved as a path and then mounted (or mkdir'd) by path, the symlink is
    /// followed on the host, and the runtime creates the mount point there; resolved once to
    /// an fd inside B's root, it never is.
    func testMountTargetSwappedForASymlinkStaysInsideTheRootfs() throws {
        let tool = try attackTool()
        let base = (stateRoot as NSString).deletingLastPathComponent
        let volume = base + "/volume", mountPoint = "/port-run-volume-\(getpid())"
        try FileManager.default.createDirectory(atPath: volume + "/dir", withIntermediateDirectories: true)
        // In B's root the link leads back into the volume; on the host to a decoy directory.
        try FileManager.default.createSymbolicLink(atPath: volume + "/link", withDestinationPath: mountPoint)
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: mountPoint) }
        let decoyIsEmpty = { ((try? FileManager.default.contentsOfDirectory(atPath: mountPoint)) ?? ["?"]).isEmpty }

        try writeConfig(["/attack", "swap", "/v/dir", "/v/link", String(raceSeconds)]) { config in
            config["mounts"] = (config["mounts"] as! [[String: Any]]) + [
                ["destination": "/v", "type": "bind", "source": volume, "options": ["rbind", "rw"]],
                ["destination": "/attack", "type": "bind", "source": tool, "options": ["bind", "ro"]],
            ]
        }
        let racer = try startInBackground("run", "racer")
        let bundleB = base + "/bundle-b"
        try FileManager.default.createDirectory(atPath: bundleB, withIntermediateDirectories: true)
        var configB = config
        var process = configB["process"] as! [String: Any]
        process["args"] = ["true"]
        configB["process"] = process
        configB["mounts"] = (config["mounts"] as! [[String: Any]]).filter { $0["destination"] as? String != "/attack" && $0["destination"] as? String != "/v" } + [
            ["destination": mountPoint, "type": "bind", "source": volume, "options": ["rbind", "rw"]],
            ["destination": mountPoint + "/dir/target", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid"]],
        ]
        try JSONSerialization.data(withJSONObject: configB).write(to: URL(fileURLWithPath: bundleB + "/config.json"))
        let start = Date()
        var created = 0, refused: [String] = []
        for round in 0..<raceRounds where Date().timeIntervalSince(start) < raceSeconds - 1 {
            let result = try execute(Self.binary, ["--root", stateRoot, "create", "b\(round)"], directory: bundleB)
            if result.status == 0 { created += 1 } else { refused.append(result.stderr) }
            _ = try port("delete", "--force", "b\(round)")
            XCTAssertTrue(decoyIsEmpty(), "round \(round): the runtime created the mount point in the host's \(mountPoint)")
            if !decoyIsEmpty() { break }
        }
        racer.run.waitUntilExit()
        let swaps = String(decoding: racer.output.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(swaps.hasPrefix("exchanged "), "the racer never ran: \(swaps)")
        XCTAssertGreaterThan(created + refused.count, 10)
        // A refusal is one line that names the mount, never a crash.
        for message in refused {
            XCTAssertEqual(message.split(separator: "\n").count, 1, message)
            XCTAssertTrue(message.hasPrefix("mounts["), message)
        }
    }

    /// CVE-2019-19921, CVE-2023-27561: an image whose /proc is a symlink would send the masked
    /// and read-only paths to a decoy. It is refused in one line, and nothing is left.
    func testSymlinkedProcInTheImageIsRefused() throws {
        let rootfs = try copyOfRootfs()
        try FileManager.default.removeItem(atPath: rootfs + "/proc")
        try FileManager.default.createDirectory(atPath: rootfs + "/decoy", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: rootfs + "/proc", withDestinationPath: "/decoy")
        try writeConfig(["true"]) { config in config["root"] = ["path": rootfs, "readonly": true] }
        let result = try port("run", "decoy")
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "mounts[0] /proc: proc must be mounted on a real directory: /proc is a symbolic link in the rootfs\n")
        try assertNothingLeft("decoy")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: rootfs + "/decoy"), [])
    }

    /// CVE-2025-31133: masked paths bound from the container's /dev/null would bind whatever
    /// that names (here /proc/sys/kernel/core_pattern, which is not namespaced) over the masked
    /// file, writable. The runtime masks with its own, checked null device.
    func testMaskedPathsUseTheRuntimesOwnNullDevice() throws {
        let dev = (stateRoot as NSString).deletingLastPathComponent + "/dev"
        try FileManager.default.createDirectory(atPath: dev, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dev + "/null", withDestinationPath: "/proc/sys/kernel/core_pattern")
        // Which of the masked files exist depends on the kernel's configuration.
        try writeConfig(["sh", "-c", "for f in /proc/timer_list /proc/keys /proc/kcore /proc/sched_debug; do [ -e $f ] && stat -c '%F %t:%T' $f; done; true"]) { config in
            var mounts = (config["mounts"] as! [[String: Any]]).filter { $0["destination"] as? String != "/dev" }
            mounts.insert(["destination": "/dev", "type": "bind", "source": dev, "options": ["rbind", "rw"]], at: 1)
            config["mounts"] = mounts
        }
        let result = try port("run", "masked")
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n")
        XCTAssertFalse(lines.isEmpty, result.stderr)
        XCTAssertEqual(Set(lines), ["character special file 1:3"], result.stdout)
    }

    /// CVE-2025-52565: the terminal is bound onto /dev/console; a /dev/console that is a
    /// symlink (here to a procfs file) would take the bind elsewhere. It is refused.
    func testConsoleIsNeverBoundThroughASymlink() throws {
        let dev = (stateRoot as NSString).deletingLastPathComponent + "/dev"
        try FileManager.default.createDirectory(atPath: dev, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dev + "/console", withDestinationPath: "/proc/sysrq-trigger")
        try writeConfig(["true"]) { config in
            var mounts = (config["mounts"] as! [[String: Any]]).filter { $0["destination"] as? String != "/dev" }
            mounts.insert(["destination": "/dev", "type": "bind", "source": dev, "options": ["rbind", "rw"]], at: 1)
            config["mounts"] = mounts
            var process = config["process"] as! [String: Any]
            process["terminal"] = true
            config["process"] = process
        }
        let socketPath = "/tmp/port-run-console-\(getpid()).sock"
        defer { unlink(socketPath) }
        let receiver = try ConsoleReceiver(path: socketPath)
        _ = receiver
        let result = try port("create", "--console-socket", socketPath, "console")
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "/dev/console in the container is not a file (a symbolic link?): refusing to bind the terminal there\n")
        try assertNothingLeft("console")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: dev + "/console"), "/proc/sysrq-trigger")
    }

    /// runc's rule: below /proc only what lxcfs emulates may be mounted, so that nothing the
    /// spec chooses covers what the runtime writes and masks there (CVE-2025-52881).
    func testMountsInsideProcAreRefused() throws {
        try writeConfig(["true"]) { config in
            config["mounts"] = (config["mounts"] as! [[String: Any]]) + [["destination": "/proc/sys", "type": "tmpfs", "source": "tmpfs"]]
        }
        let result = try port("run", "covered")
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.hasSuffix("/proc/sys: /proc/sys is inside /proc, where only the files lxcfs emulates may be mounted\n"), result.stderr)
        try assertNothingLeft("covered")
    }

    /// The runtime writes sysctls through its own procfs, checked: a mount over the file
    /// (made here in the runtime's own mount namespace) is found and refused, not written to.
    func testASysctlUnderAMountIsNotWrittenThere() throws {
        let decoy = (stateRoot as NSString).deletingLastPathComponent + "/decoy"
        FileManager.default.createFile(atPath: decoy, contents: Data("untouched\n".utf8))
        try writeConfig(["cat", "/proc/sys/kernel/domainname"]) { config in
            var linux = config["linux"] as! [String: Any]
            linux["sysctl"] = ["kernel.domainname": "written"]
            config["linux"] = linux
        }
        let simulated = Self.simulated(Self.binary, ["--root", stateRoot, "run", "sysctl"]).map { "'\($0)'" }.joined(separator: " ")
        let result = try shell("cd '\(bundle)' && unshare -m sh -c \"mount --bind '\(decoy)' /proc/sys/kernel/domainname && '\(Self.binary)' \(simulated)\"")
        XCTAssertEqual(result.status, 1, result.stdout)
        XCTAssertEqual(result.stderr, "sysctl kernel.domainname: /proc/sys/kernel/domainname is covered by another mount: refusing to use it\n")
        XCTAssertEqual(try String(contentsOfFile: decoy, encoding: .utf8), "untouched\n")
        try assertNothingLeft("sysctl")
    }

    /// A sysctl that is not namespaced would change the host: refused as runc refuses it.
    func testSysctlsOutsideTheContainersNamespacesAreRefused() throws {
        for (key, reason) in [("kernel.core_pattern", "is not in a separate kernel namespace"),
                              ("kernel.hostname", "is not allowed: it conflicts with the hostname field")] {
            try writeConfig(["true"]) { config in
                var linux = config["linux"] as! [String: Any]
                linux["sysctl"] = [key: "x"]
                config["linux"] = linux
            }
            let result = try port("run", "sysctl")
            XCTAssertEqual(result.status, 1)
            XCTAssertEqual(result.stderr, "config.json: linux.sysctl: sysctl \"\(key)\" \(reason)\n")
            try assertNothingLeft("sysctl")
        }
    }

    /// The host's root, or a directory that holds the runtime's state, is no container's rootfs.
    func testRootfsThatIsTheHostsRootIsRefused() throws {
        let link = (stateRoot as NSString).deletingLastPathComponent + "/slash"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "/")
        for path in ["/", link] {
            try writeConfig(["true"]) { config in config["root"] = ["path": path, "readonly": true] }
            let result = try port("run", "host")
            XCTAssertEqual(result.status, 1)
            XCTAssertEqual(result.stderr, "rootfs \(path): is the host's root directory; refusing to use it as a container's\n")
            try assertNothingLeft("host")
        }
        try writeConfig(["true"]) { config in config["root"] = ["path": Self.work, "readonly": true] }
        let above = try port("run", "above")
        XCTAssertEqual(above.status, 1)
        XCTAssertTrue(above.stderr.hasSuffix("refusing to use it as a container's\n") && above.stderr.contains("holds the runtime's state"), above.stderr)
        try assertNothingLeft("above")
    }

    /// A deny-all device rule stays a deny-all for the spec's own device nodes: /dev/kmsg is
    /// made, but cannot be opened, even for writing, which needs no capability (runc allows
    /// only its default devices after the spec's rules).
    func testDenyAllDeviceRuleIsNotUndoneByTheSpecsDevices() throws {
        try writeConfig(["sh", "-c", "ls /dev/kmsg && exec 3>/dev/kmsg && echo opened"]) { config in
            var linux = config["linux"] as! [String: Any]
            linux["devices"] = [["type": "c", "path": "/dev/kmsg", "major": 1, "minor": 11, "fileMode": 0o644]]
            linux["resources"] = ["devices": [["allow": false, "access": "rwm"]]]
            config["linux"] = linux
        }
        let result = try port("run", "kmsg")
        if result.stderr.contains("device rules are not enforced") { throw XCTSkip("no device cgroup here: \(result.stderr)") }
        XCTAssertEqual(result.stdout, "/dev/kmsg\n", result.stderr)
        XCTAssertTrue(result.stderr.contains("Operation not permitted"), result.stderr)
        XCTAssertNotEqual(result.status, 0)
    }

    /// --no-pivot leaves the host's mounts in the container's mount namespace: runc's test of
    /// a fresh procfs mounted from a new user namespace inside. With the host's full procfs
    /// and sysfs gone first, the kernel refuses it as it does with pivot_root.
    func testNoPivotLeavesNoWayToAFreshProcfs() throws {
        try requireNamespaces("user")
        let script = "unshare -mrpf sh -c 'echo inside; mount -t proc none /proc && echo mounted'"
        try writeConfig(["sh", "-c", script]) { config in
            Self.grant("CAP_SETFCAP", in: &config)
        }
        let result = try port("run", "--no-pivot", "nopivot")
        if !result.stdout.contains("inside") { throw XCTSkip("no user namespace can be made inside the container: \(result.stderr)") }
        XCTAssertEqual(result.stdout, "inside\n", result.stderr)
        XCTAssertTrue(result.stderr.contains("mount: permission denied"), result.stderr)
        try assertNothingLeft("nopivot")
    }
}
