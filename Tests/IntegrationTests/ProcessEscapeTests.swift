import Foundation
import XCTest

/// The escape classes of the runtime's own processes and files: the waiting init, the exec
/// process before its filter, the cwd, the pid file and the state directory.
final class ProcessEscapeTests: IntegrationCase {
    /// The init of a created container waits for `start` holding nothing of the host's but
    /// the exec fifo (an O_PATH fd of a fifo, which has no "..").
    func testTheWaitingInitHoldsOnlyTheFifo() throws {
        try writeConfig(["true"])
        XCTAssertEqual(try port("create", "waiting").status, 0)
        let pid = try XCTUnwrap(try state("waiting")["pid"] as? Int)
        let fds = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").compactMap(Int.init).filter { $0 > 2 }
        let targets = fds.map { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)")) ?? "?" }
        XCTAssertEqual(targets, [stateRoot + "/waiting/exec.fifo"], "init's fds above stdio")
        XCTAssertEqual(try port("delete", "--force", "waiting").status, 0)
    }

    /// While init builds the rootfs it holds nothing of the runtime's either: not the lock on
    /// the state directory, not the bundle. A createContainer hook (root on the host, in the
    /// container's namespaces before the switch of root) lists init's fds at that moment.
    func testInitHoldsNoHostDirectoryWhileItBuildsTheRootfs() throws {
        let listing = bundle + "/init-fds"
        let hook = bundle + "/list-fds.sh"
        try """
            #!/bin/sh
            pid=$(sed 's/.*"pid": *\\([0-9]*\\).*/\\1/')
            for f in /proc/$pid/fd/*; do readlink "$f"; done > \(listing)
            """.write(toFile: hook, atomically: true, encoding: .utf8)
        chmod(hook, 0o755)
        try writeConfig(["true"]) { config in
            config["hooks"] = ["createContainer": [["path": hook]]]
        }
        let created = try port("create", "building")
        XCTAssertEqual(created.status, 0, created.stderr)
        let targets = try String(contentsOfFile: listing, encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertGreaterThan(targets.count, 3, "the hook saw init's fds")
        let reachingHost = targets.filter { $0.hasPrefix(stateRoot) && !$0.hasSuffix("/exec.fifo") || $0 == bundle }
        XCTAssertEqual(reachingHost, [], "init's fds while it builds the rootfs: \(targets)")
        XCTAssertEqual(try port("delete", "--force", "building").status, 0)
    }

    /// An exec process enters the container's pid namespace only once it is inside the
    /// container's root and mounts: a container process that may ptrace (CAP_SYS_PTRACE, no
    /// user namespace) scanning /proc/PID/root of every process never finds the host there,
    /// however many exec processes come and go meanwhile.
    func testAnExecProcessNeverShowsTheHostsRootToTheContainer() throws {
        try requireNamespaces("pid")
        let tool = try attackTool()
        let marker = (stateRoot as NSString).deletingLastPathComponent + "/host-only-marker"
        FileManager.default.createFile(atPath: marker, contents: Data())
        try writeConfig(["sleep", "100"]) { config in
            Self.grant("CAP_SYS_PTRACE", in: &config)
            config["mounts"] = (config["mounts"] as! [[String: Any]]) + [["destination": "/attack", "type": "bind", "source": tool, "options": ["bind", "ro"]]]
        }
        XCTAssertEqual(try port("run", "-d", "peeked").status, 0)
        let attacker = try startInBackground("exec", "peeked", "/attack", "peek", String(raceSeconds), marker)
        usleep(200_000)
        var execs = 0
        while attacker.run.isRunning && execs < raceRounds {
            let exec = try port("exec", "peeked", "true")
            XCTAssertEqual(exec.status, 0, exec.stderr)
            execs += 1
        }
        attacker.run.waitUntilExit()
        let reached = String(decoding: attacker.output.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(reached, "", "a container process saw the host's root through an exec process (\(execs) execs)")
        XCTAssertEqual(attacker.run.terminationStatus, 0)
        XCTAssertEqual(try port("delete", "--force", "peeked").status, 0)
    }

    /// The published attack: a process of the container (root in it, without CAP_SYS_PTRACE)
    /// goes through the waiting init's fds to the host. Init is not dumpable, so neither from
    /// the container itself (`exec` into the created container) nor from a sibling sharing
    /// its pid namespace (where it is pid 1 too) can its fds even be read.
    func testNoContainerProcessReachesTheHostThroughTheWaitingInit() throws {
        try requireNamespaces("pid")
        let attack = """
            for f in /proc/1/fd/*; do readlink $f >/dev/null 2>&1 && echo "read $f"; done
            for n in 3 4 5 6 7 8 9 10 11 12; do
                (cd /proc/1/fd/$n 2>/dev/null && cat ../../../../../../etc/hostname && echo "escaped through fd $n"); done; echo done
            """
        try writeConfig(["sleep", "100"])
        XCTAssertEqual(try port("create", "waiting").status, 0)
        let fromInside = try port("exec", "waiting", "sh", "-c", attack)
        XCTAssertEqual(fromInside.stdout, "done\n", fromInside.stderr)

        // A sibling in the same pid namespace (a pod with shareProcessNamespace).
        let pid = try XCTUnwrap(try state("waiting")["pid"] as? Int)
        let sibling = (stateRoot as NSString).deletingLastPathComponent + "/sibling"
        try FileManager.default.createDirectory(atPath: sibling, withIntermediateDirectories: true)
        var configB = config
        var process = configB["process"] as! [String: Any]
        process["args"] = ["sh", "-c", attack]
        configB["process"] = process
        var linux = configB["linux"] as! [String: Any]
        linux["namespaces"] = (linux["namespaces"] as! [[String: Any]]).filter { $0["type"] as? String != "pid" } + [["type": "pid", "path": "/proc/\(pid)/ns/pid"]]
        configB["linux"] = linux
        try JSONSerialization.data(withJSONObject: configB).write(to: URL(fileURLWithPath: sibling + "/config.json"))
        let fromSibling = try execute(Self.binary, ["--root", stateRoot, "run", "sibling"], directory: sibling)
        XCTAssertEqual(fromSibling.status, 0, fromSibling.stderr)
        XCTAssertEqual(fromSibling.stdout, "done\n", fromSibling.stderr)
        XCTAssertEqual(try port("delete", "--force", "waiting").status, 0)
    }

    /// An exec process is not dumpable until its execve: a process of the container cannot
    /// ptrace it once it has dropped to the container's capabilities, before its seccomp
    /// filter is in (the attacker would skip the filter). A seccomp agent that stalls the
    /// hand-over of the listener holds the exec process at exactly that point.
    func testTheExecProcessCannotBePtracedBeforeItsFilter() throws {
        let tool = try attackTool()
        let socketPath = "/tmp/port-run-stall-\(getpid()).sock"
        defer { unlink(socketPath); unlink(socketPath + ".ready") }
        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        // Init, the attacker's exec and then the exec under attack, held for 3 s.
        agent.arguments = [Self.repo + "/Tests/IntegrationTests/Agents/stall-agent.py", socketPath, "3", "3"]
        try agent.run()
        defer { if agent.isRunning { agent.terminate() } }
        XCTAssertTrue(waitUntil { FileManager.default.fileExists(atPath: socketPath + ".ready") })
        try writeConfig(["sleep", "100"]) { config in
            var linux = config["linux"] as! [String: Any]
            linux["seccomp"] = ["defaultAction": "SCMP_ACT_ALLOW", "listenerPath": socketPath,
                                "syscalls": [["names": ["mknodat"], "action": "SCMP_ACT_NOTIFY"]]]
            config["linux"] = linux
            var process = config["process"] as! [String: Any]
            process["noNewPrivileges"] = true
            config["process"] = process
            config["mounts"] = (config["mounts"] as! [[String: Any]]) + [["destination": "/attack", "type": "bind", "source": tool, "options": ["bind", "ro"]]]
        }
        let started: Result
        do { started = try port("run", "-d", "traced") } catch {
            agent.terminate()   // a persona's refusal (no seccomp listeners before 5.0) skips
            throw error
        }
        XCTAssertEqual(started.status, 0, started.stderr)
        let attacker = try startInBackground("exec", "traced", "/attack", "ptrace-any", "5", "/bin/busybox")
        usleep(300_000)
        let exec = try port("exec", "traced", "true")
        XCTAssertEqual(exec.status, 0, exec.stderr)
        attacker.run.waitUntilExit()
        let caught = String(decoding: attacker.output.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(caught, "", "a container process ptraced a runtime process")
        XCTAssertEqual(attacker.run.terminationStatus, 0)
        XCTAssertEqual(try port("delete", "--force", "traced").status, 0)
    }

    /// A cwd under /proc/self/fd/N/.. may lead nowhere outside the rootfs, and nothing may be
    /// created there on the host: cwd is made inside the root, after the runtime's fds close.
    func testACwdThroughTheRuntimesFdsCreatesNothingOnTheHost() throws {
        let name = "port-run-cwd-\(getpid())"
        for fd in 3...9 {
            try writeConfig(["true"]) { config in
                var process = config["process"] as! [String: Any]
                process["cwd"] = "/proc/self/fd/\(fd)/../\(name)"
                config["process"] = process
            }
            _ = try port("run", "cwd\(fd)")
            try assertNothingLeft("cwd\(fd)")
        }
        // Where a directory fd of the runtime's would have led: its state, the bundle, the roots.
        let parent = { (path: String) in (path as NSString).deletingLastPathComponent }
        for directory in [stateRoot, parent(stateRoot), bundle, parent(bundle), "/", "/tmp", "/run", Self.work] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/" + name), "the runtime made \(directory)/\(name) on the host")
        }
    }

    /// The container's /etc/passwd (read for HOME) is the container's to make: a fifo or a
    /// device there neither hangs `run` and `exec` nor is read, and HOME falls back to "/".
    func testAFifoForPasswdHangsNothing() throws {
        let rootfs = try copyOfRootfs()
        try FileManager.default.removeItem(atPath: rootfs + "/etc/passwd")
        XCTAssertEqual(mkfifo(rootfs + "/etc/passwd", 0o644), 0)
        let withoutHome = { (config: inout [String: Any]) in
            config["root"] = ["path": rootfs]
            var process = config["process"] as! [String: Any]
            process["env"] = ["PATH=/bin:/usr/bin"]
            config["process"] = process
        }
        try writeConfig(["sh", "-c", "echo HOME=$HOME"], edit: withoutHome)
        let bounded = { (arguments: [String]) throws -> Result in
            try self.execute("/usr/bin/timeout", ["-k", "5", "20", Self.binary] + Self.simulated(Self.binary, ["--root", self.stateRoot] + arguments), directory: self.bundle)
        }
        let run = try bounded(["run", "fifo"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.stdout, "HOME=/\n")
        try writeConfig(["sleep", "100"], edit: withoutHome)
        XCTAssertEqual(try bounded(["run", "-d", "fifo2"]).status, 0)
        let exec = try bounded(["exec", "fifo2", "sh", "-c", "echo HOME=$HOME"])
        XCTAssertEqual(exec.status, 0, exec.stderr)
        XCTAssertEqual(exec.stdout, "HOME=/\n")
        XCTAssertEqual(try bounded(["delete", "--force", "fifo2"]).status, 0)
    }

    /// --pid-file is written beside itself and renamed into place: a symlink planted at its
    /// name, or at any temporary name the runtime may pick for the next pids, is never
    /// followed (here they point at a file that must stay as it is).
    func testThePidFileNeverFollowsASymlink() throws {
        let base = (stateRoot as NSString).deletingLastPathComponent
        let victim = base + "/precious", pidFile = base + "/pid"
        FileManager.default.createFile(atPath: victim, contents: Data("precious\n".utf8))
        try FileManager.default.createSymbolicLink(atPath: pidFile, withDestinationPath: victim)
        let lastPid = Int(try String(contentsOfFile: "/proc/sys/kernel/ns_last_pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        for pid in lastPid..<(lastPid + 400) {
            for name in ["\(pidFile).tmp\(pid)", "\(pidFile).tmp\(pid)-0"] {
                try FileManager.default.createSymbolicLink(atPath: name, withDestinationPath: victim)
            }
        }
        try writeConfig(["true"])
        XCTAssertEqual(try port("create", "--pid-file", pidFile, "pidfile").status, 0)
        let pid = try XCTUnwrap(try state("pidfile")["pid"] as? Int)
        XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), "precious\n")
        XCTAssertNil(try? FileManager.default.destinationOfSymbolicLink(atPath: pidFile))
        XCTAssertEqual(try String(contentsOfFile: pidFile, encoding: .utf8), String(pid))
        XCTAssertEqual(try port("delete", "--force", "pidfile").status, 0)
    }

    /// The state root is 0700 and the exec fifo 0600, as in runc: no other local user can
    /// open the fifo and hold `start` up.
    func testNoOtherUserReachesTheStateOrTheFifo() throws {
        try writeConfig(["true"])
        XCTAssertEqual(try port("create", "modes").status, 0)
        let mode = { (path: String) -> Int in ((try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int) ?? -1 }
        XCTAssertEqual(String(mode(stateRoot), radix: 8), "700")
        XCTAssertEqual(String(mode(stateRoot + "/modes/exec.fifo"), radix: 8), "600")
        let fifo = stateRoot + "/modes/exec.fifo"
        let other = try shell("timeout 2 setpriv --reuid 65534 --regid 65534 --clear-groups sh -c 'exec 3>\(fifo)'")
        XCTAssertNotEqual(other.status, 0)
        XCTAssertTrue(other.stderr.contains("Permission denied"), other.stderr)
        XCTAssertEqual(try port("start", "modes").status, 0)
        XCTAssertEqual(try port("delete", "--force", "modes").status, 0)
    }
}
