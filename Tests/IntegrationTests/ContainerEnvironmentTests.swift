import Foundation
import XCTest

final class ContainerEnvironmentTests: IntegrationCase {
    func run(_ script: String, id: String = "env", edit: (inout [String: Any]) -> Void = { _ in }) throws -> Result {
        try writeConfig(["sh", "-c", script], edit: edit)
        let result = try port("run", id)
        XCTAssertEqual(result.stderr, "")
        return result
    }

    func testInitIsPidOneWithTheSpecHostname() throws {
        try requireNamespaces("pid")
        try writeConfig(["sh", "-c", "echo $$; hostname"]) { $0["hostname"] = "box-42" }
        XCTAssertEqual(try port("run", "pid1").stdout, "1\nbox-42\n")
    }

    func testMountsAndDevicesArePresent() throws {
        // A persona without SysV IPC has no ipc namespace, and so no mqueue mount.
        let mqueue = Self.missingNamespaces.contains("ipc") ? "" : "/dev/mqueue mqueue\n"
        let result = try run("""
            for d in null zero full random urandom tty; do [ -c /dev/$d ] && echo dev-$d; done
            [ "$(readlink /dev/ptmx)" = pts/ptmx ] && echo ptmx-link
            [ "$(readlink /dev/fd)" = /proc/self/fd ] && echo fd-link
            grep -E ' /(proc|dev|dev/pts|dev/shm|dev/mqueue|sys|sys/fs/cgroup) ' /proc/self/mounts | cut -d' ' -f2,3 | sort
            echo probe > /dev/null && head -c 4 /dev/zero | wc -c
            """)
        XCTAssertEqual(result.stdout, """
            dev-null
            dev-zero
            dev-full
            dev-random
            dev-urandom
            dev-tty
            ptmx-link
            fd-link
            /dev tmpfs
            \(mqueue)/dev/pts devpts
            /dev/shm tmpfs
            /proc proc
            /sys sysfs
            /sys/fs/cgroup tmpfs
            4

            """)
    }

    func testTheContainerSeesOnlyStdio() throws {
        // fd 3 is ls's own directory handle; nothing of the runtime may be there.
        XCTAssertEqual(try run("ls /proc/self/fd").stdout, "0\n1\n2\n3\n")
    }

    func testPreservedFdsReachTheContainer() throws {
        try writeConfig(["sh", "-c", "ls /proc/self/fd; read line <&3; echo got:$line"])
        try "through fd 3\n".write(toFile: bundle + "/input", atomically: true, encoding: .utf8)
        let result = try shell("cd '\(bundle)' && exec 3<input 4<input && '\(Self.binary)' --root '\(stateRoot)' run --preserve-fds 1 keepfd")
        XCTAssertEqual(result.stdout, "0\n1\n2\n3\n4\ngot:through fd 3\n", result.stderr)
    }

    func testRootIsReadOnlyAndSysIsReadOnly() throws {
        let result = try run("touch /x 2>&1; touch /sys/x 2>&1; touch /tmp/x && echo tmp-ok") { config in
            var mounts = config["mounts"] as! [[String: Any]]
            mounts.append(["destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid"]])
            config["mounts"] = mounts
        }
        XCTAssertEqual(result.stdout, "touch: /x: Read-only file system\ntouch: /sys/x: Read-only file system\ntmp-ok\n")
    }

    func testMaskedAndReadonlyPaths() throws {
        let result = try run("cat /proc/timer_list | wc -c; ls /proc/acpi | wc -l; (echo 1 > /proc/sys/kernel/domainname) 2>/dev/null || echo ro-sys")
        XCTAssertEqual(result.stdout.split(separator: "\n").map(String.init), ["0", "0", "ro-sys"])
    }

    func testBindMountHonoursReadOnly() throws {
        let shared = bundle + "/shared"
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
        try "host file\n".write(toFile: shared + "/f", atomically: true, encoding: .utf8)
        let result = try run("cat /data/f; touch /data/g 2>&1; cat /rw/f; touch /rw/g && echo rw-ok") { config in
            var mounts = config["mounts"] as! [[String: Any]]
            mounts.append(["destination": "/data", "type": "bind", "source": shared, "options": ["rbind", "ro"]])
            mounts.append(["destination": "/rw", "type": "bind", "source": "shared", "options": ["bind"]])
            config["mounts"] = mounts
        }
        XCTAssertEqual(result.stdout, "host file\ntouch: /data/g: Read-only file system\nhost file\nrw-ok\n")
        XCTAssertTrue(FileManager.default.fileExists(atPath: shared + "/g"))
    }

    func testUserCwdUmaskRlimitsAndHome() throws {
        let result = try run("id; pwd; umask; ulimit -n; echo $HOME") { config in
            var process = config["process"] as! [String: Any]
            process["user"] = ["uid": 65534, "gid": 65534, "additionalGids": [5, 7], "umask": 63]
            process["cwd"] = "/tmp/work"
            process["rlimits"] = [["type": "RLIMIT_NOFILE", "soft": 512, "hard": 600]]
            config["process"] = process
            var mounts = config["mounts"] as! [[String: Any]]
            mounts.append(["destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["mode=1777"]])
            config["mounts"] = mounts
        }
        XCTAssertEqual(result.stdout, "uid=65534(nobody) gid=65534(nogroup) groups=5,7\n/tmp/work\n0077\n512\n/nonexistent\n")
    }

    func testSysctlAndOOMScoreAdj() throws {
        let result = try run("cat /proc/sys/net/ipv4/ip_forward; cat /proc/self/oom_score_adj") { config in
            var linux = config["linux"] as! [String: Any]
            linux["sysctl"] = ["net.ipv4.ip_forward": "1"]
            config["linux"] = linux
            var process = config["process"] as! [String: Any]
            process["oomScoreAdj"] = 123
            config["process"] = process
        }
        XCTAssertEqual(result.stdout, "1\n123\n")
    }

    func testNoPivotStillGivesTheContainerItsRoot() throws {
        try requireNamespaces("pid")
        try writeConfig(["sh", "-c", "ls /etc; echo $$"])
        let result = try port("run", "--no-pivot", "nopivot")
        XCTAssertEqual(result.stdout, "group\npasswd\n1\n", result.stderr)
    }

    func testNamespacesJoinedByPath() throws {
        try requireNamespaces("pid")
        try writeConfig(["sleep", "1000"]) { $0["hostname"] = "first" }
        XCTAssertEqual(try port("run", "-d", "first").status, 0)
        let pid = try state("first")["pid"] as? Int ?? 0
        try writeConfig(["sh", "-c", "hostname; readlink /proc/1/ns/uts"]) { config in
            config["hostname"] = nil
            var linux = config["linux"] as! [String: Any]
            var namespaces = (linux["namespaces"] as! [[String: Any]]).filter { $0["type"] as? String != "uts" }
            namespaces.append(["type": "uts", "path": "/proc/\(pid)/ns/uts"])
            linux["namespaces"] = namespaces
            config["linux"] = linux
        }
        let result = try port("run", "second")
        let hostUTS = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/uts")
        XCTAssertEqual(result.stdout, "first\n\(hostUTS)\n", result.stderr)
    }

    func testSymlinkInTheImageCannotRedirectAMountToTheHost() throws {
        let rootfs = bundle + "/rootfs"
        XCTAssertEqual(try shell("cp -a '\(Self.work)/base/rootfs' '\(rootfs)' && ln -s /etc '\(rootfs)/evil'").status, 0)
        let before = try FileManager.default.contentsOfDirectory(atPath: "/etc").sorted()
        let result = try run("ls /etc/marker-dir && echo inside") { config in
            config["root"] = ["path": "rootfs", "readonly": false]
            var mounts = config["mounts"] as! [[String: Any]]
            mounts.append(["destination": "/evil/marker-dir", "type": "tmpfs", "source": "tmpfs"])
            config["mounts"] = mounts
        }
        XCTAssertEqual(result.stdout, "inside\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: "/etc").sorted(), before)
        XCTAssertTrue(FileManager.default.fileExists(atPath: rootfs + "/etc/marker-dir"))
    }
}

final class EngineCompatibilityTests: IntegrationCase {
    func testTmpcopyupAndTmpfsModeAsPodmanReadOnlyUsesThem() throws {
        // podman --read-only mounts tmpfs with runc's `tmpcopyup` over directories of the image.
        try writeConfig(["sh", "-c", "ls /etc; stat -c %a /etc; echo x > /etc/new && echo writable"]) { config in
            var mounts = config["mounts"] as! [[String: Any]]
            mounts.append(["destination": "/etc", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "tmpcopyup", "size=1m"]])
            config["mounts"] = mounts
        }
        let result = try port("run", "copyup")
        XCTAssertEqual(result.stdout, "group\npasswd\n755\nwritable\n", result.stderr)
    }

    func testNestedDeviceNode() throws {
        try writeConfig(["sh", "-c", "ls -l /dev/net/tun | cut -c1"]) { config in
            var linux = config["linux"] as! [String: Any]
            linux["devices"] = [["type": "c", "path": "/dev/net/tun", "major": 10, "minor": 200, "fileMode": 438]]
            config["linux"] = linux
        }
        XCTAssertEqual(try port("run", "tun").stdout, "c\n")
    }

    func testPsListsTheContainersProcesses() throws {
        try writeConfig(["sh", "-c", "sleep 1000 & sleep 1001"])
        XCTAssertEqual(try port("run", "-d", "listed").status, 0)
        var pids: [Int] = []
        for _ in 0..<100 {
            pids = try JSONSerialization.jsonObject(with: Data(try port("ps", "--format", "json", "listed").stdout.utf8)) as? [Int] ?? []
            if pids.count == 2 { break }
            usleep(10_000)
        }
        XCTAssertEqual(pids.count, 2)
        XCTAssertEqual(pids.first, try state("listed")["pid"] as? Int)
        let table = try port("ps", "listed")
        XCTAssertTrue(table.stdout.hasPrefix("UID"), table.stdout + table.stderr)
        XCTAssertTrue(table.stdout.contains("sleep 1001"), table.stdout)
        XCTAssertTrue(table.stdout.contains("sleep 1000"), table.stdout)
        XCTAssertEqual(table.stdout.split(separator: "\n").count, 3)
    }

    /// A label asked for where its LSM is off is refused by name, as runc and crun refuse it:
    /// running the container unconfined would drop what the user asked for in silence.
    func testLabelsOfAnInactiveLSMAreRefusedByName() throws {
        let lsms = (try? String(contentsOfFile: "/sys/kernel/security/lsm", encoding: .utf8)) ?? ""
        guard !FileManager.default.fileExists(atPath: "/sys/fs/selinux/enforce"), !lsms.contains("apparmor") else {
            throw XCTSkip("an LSM is active here: the labels would be applied")
        }
        for (field, value) in [("apparmorProfile", "docker-default"), ("selinuxLabel", "system_u:system_r:container_t:s0:c1,c2")] {
            try writeConfig(["echo", "ran"]) { config in
                var process = config["process"] as! [String: Any]
                process["apparmorProfile"] = nil
                process["selinuxLabel"] = nil
                process[field] = value
                config["process"] = process
            }
            let result = try port("run", "labelled")
            XCTAssertEqual(result.status, 1, result.stderr)
            XCTAssertEqual(result.stdout, "")
            let lsm = field == "apparmorProfile" ? "AppArmor" : "SELinux"
            XCTAssertEqual(result.stderr, "config.json: process.\(field): \"\(value)\" asked for, but \(lsm) is not enabled on this host\n")
            try assertNothingLeft("labelled")
        }
        try writeConfig(["echo", "ran"]) { config in
            var process = config["process"] as! [String: Any]
            process["selinuxLabel"] = nil
            config["process"] = process
            var linux = config["linux"] as! [String: Any]
            linux["mountLabel"] = "system_u:object_r:container_file_t:s0:c1,c2"
            config["linux"] = linux
        }
        let mountLabel = try port("run", "labelled")
        XCTAssertEqual(mountLabel.status, 1)
        XCTAssertTrue(mountLabel.stderr.hasPrefix("config.json: linux.mountLabel: "), mountLabel.stderr)
        try assertNothingLeft("labelled")
    }
}
