import Foundation
import XCTest

final class ExecTests: IntegrationCase {
    func startSleeper(_ id: String, edit: (inout [String: Any]) -> Void = { _ in }) throws {
        try writeConfig(["sleep", "1000"], edit: edit)
        let result = try port("run", "-d", id)
        XCTAssertEqual(result.status, 0, result.stderr)
    }

    func testExecJoinsTheContainersNamespacesAndCapabilities() throws {
        try requireNamespaces("pid")
        try startSleeper("target") { $0["hostname"] = "exec-host" }
        let pid = try state("target")["pid"] as? Int ?? 0
        let result = try port("exec", "target", "sh", "-c", "hostname; readlink /proc/1/ns/pid; readlink /proc/self/ns/net; cat /proc/1/cmdline | tr '\\0' ' '; grep CapEff /proc/self/status; ls /proc/self/fd")
        let pidNS = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/pid")
        let netNS = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/net")
        XCTAssertEqual(result.stdout, "exec-host\n\(pidNS)\n\(netNS)\nsleep 1000 CapEff:\t0000000020000420\n0\n1\n2\n3\n", result.stderr)
        XCTAssertEqual(result.status, 0)
    }

    func testExecJoinsTheInitsCgroup() throws {
        // Put init in a cgroup of its own; the exec'd process must land there too (the pids
        // hierarchy of a v1 or hybrid host, the one tree of a pure v2 one).
        let pureV2 = FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers")
        guard pureV2 || FileManager.default.fileExists(atPath: "/sys/fs/cgroup/pids/cgroup.procs") else {
            throw XCTSkip("this host mounts neither a cgroup2 tree nor a pids hierarchy at /sys/fs/cgroup")
        }
        try startSleeper("grouped")
        let pid = try state("grouped")["pid"] as? Int ?? 0
        let group = (pureV2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/pids") + "/port-run-exec-test-\(getpid())"
        try FileManager.default.createDirectory(atPath: group, withIntermediateDirectories: true)
        defer {
            _ = try? port("delete", "--force", "grouped")
            waitUntil(attempts: 100) { rmdir(group) == 0 }
        }
        try String(pid).write(toFile: group + "/cgroup.procs", atomically: false, encoding: .utf8)
        XCTAssertEqual(try port("exec", "-d", "--pid-file", bundle + "/exec.pid", "grouped", "sleep", "100").status, 0)
        let execPid = try String(contentsOfFile: bundle + "/exec.pid", encoding: .utf8)
        let hierarchy = pureV2 ? "0::" : ":pids:"
        let line = try String(contentsOfFile: "/proc/\(execPid)/cgroup", encoding: .utf8).split(separator: "\n").first { $0.contains(hierarchy) }
        XCTAssertTrue(line?.hasSuffix("\(hierarchy)/port-run-exec-test-\(getpid())") == true, String(describing: line))
    }

    func testExecExitStatusUserEnvCwdAndFailures() throws {
        try startSleeper("target2")
        XCTAssertEqual(try port("exec", "target2", "sh", "-c", "exit 9").status, 9)
        XCTAssertEqual(try port("exec", "--user", "1000:1001", "-e", "X=y", "--cwd", "/tmp", "target2", "sh", "-c", "id -u; id -g; echo $X; pwd").stdout,
                       "1000\n1001\ny\n/tmp\n")
        let missing = try port("exec", "target2", "no-such-tool")
        XCTAssertEqual(missing.status, 255)
        XCTAssertEqual(missing.stderr, "exec failed: exec: \"no-such-tool\": executable file not found in $PATH\n")
        XCTAssertEqual(try port("exec", "ghost", "true").status, 255)
    }

    func testExecWithAProcessFile() throws {
        try startSleeper("target3")
        let process: [String: Any] = ["args": ["sh", "-c", "echo from-file $A; id -u"], "env": ["A=1", "PATH=/bin"], "cwd": "/",
                                      "user": ["uid": 7, "gid": 7]]
        try JSONSerialization.data(withJSONObject: process).write(to: URL(fileURLWithPath: bundle + "/process.json"))
        XCTAssertEqual(try port("exec", "--process", bundle + "/process.json", "target3").stdout, "from-file 1\n7\n")
        try #"{"args": "sh"}"#.write(toFile: bundle + "/bad.json", atomically: true, encoding: .utf8)
        XCTAssertEqual(try port("exec", "-p", bundle + "/bad.json", "target3").stderr,
                       "exec failed: process.json: args: expected an array of strings, got a string\n")
    }

    func testExecIntoAStoppedContainerFails() throws {
        try writeConfig(["true"])
        XCTAssertEqual(try port("create", "done").status, 0)
        XCTAssertEqual(try port("start", "done").status, 0)
        try waitUntil(attempts: 100) { (try state("done")["status"] as? String) == "stopped" }
        let result = try port("exec", "done", "true")
        XCTAssertEqual(result.status, 255)
        XCTAssertEqual(result.stderr, "exec failed: cannot exec in a stopped container\n")
    }

    func testForegroundRunWithATerminal() throws {
        try writeConfig(["sh", "-c", "tty; [ -t 0 ] && echo stdin-is-tty; exit 4"]) { config in
            var process = config["process"] as! [String: Any]
            process["terminal"] = true
            config["process"] = process
        }
        // `script` gives port-run a terminal of its own, as a person at a shell would have.
        let result = try shell("cd '\(bundle)' && script -qec \"'\(Self.binary)' --root '\(stateRoot)' run tty\" /dev/null </dev/null")
        XCTAssertTrue(result.stdout.contains("/dev/pts/0"), result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("stdin-is-tty"), result.stdout)
        XCTAssertEqual(result.status, 4)
        try assertNothingLeft("tty")
    }

    func testDetachedTerminalNeedsAConsoleSocket() throws {
        try writeConfig(["true"]) { config in
            var process = config["process"] as! [String: Any]
            process["terminal"] = true
            config["process"] = process
        }
        XCTAssertEqual(try port("create", "notty").stderr, "cannot allocate tty if port-run will detach without setting console socket\n")
        try assertNothingLeft("notty")
    }

    func testConsoleSocketReceivesThePtyMaster() throws {
        try startSleeper("console")
        let socketPath = bundle + "/console.sock"
        let receiver = try ConsoleReceiver(path: socketPath)
        let exec = try startInBackground("exec", "-t", "-d", "--console-socket", socketPath, "console", "sh", "-c", "tty; echo via-console")
        let master = try receiver.acceptMaster()
        exec.run.waitUntilExit()
        XCTAssertEqual(exec.run.terminationStatus, 0)
        let output = readTerminal(master, until: "via-console")
        XCTAssertTrue(output.contains("/dev/pts/"), output)
        XCTAssertTrue(output.contains("via-console"), output)
    }

    /// As runc's: "\n" stays "\n" (no ONLCR), and the pty belongs to the process's user.
    func testThePtyPrintsNewlinesAsTheyAreAndBelongsToTheUser() throws {
        try startSleeper("ownpty")
        let socketPath = bundle + "/console.sock"
        let receiver = try ConsoleReceiver(path: socketPath)
        let exec = try startInBackground("exec", "-t", "-d", "--user", "1000:1000", "--console-socket", socketPath, "ownpty",
                                         "sh", "-c", "stat -c '%u' /proc/self/fd/0; echo end")
        let master = try receiver.acceptMaster()
        exec.run.waitUntilExit()
        let output = readTerminal(master, until: "end\n")
        XCTAssertEqual(output, "1000\nend\n")
    }
}

/// What a pty master gives until `marker` appears (or 30 s of silence); the master is closed.
func readTerminal(_ master: Int32, until marker: String) -> String {
    defer { close(master) }
    var output = ""
    var buffer = [UInt8](repeating: 0, count: 4096)
    while !output.contains(marker), readable(master, seconds: 30) {
        let count = read(master, &buffer, buffer.count)
        if count <= 0 { break }
        output += String(decoding: buffer[0..<count], as: UTF8.self)
    }
    return output
}

/// Whether `fd` has something to read within `seconds`.
func readable(_ fd: Int32, seconds: Int32) -> Bool {
    var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    return poll(&entry, 1, seconds * 1000) > 0
}

/// A console socket as containerd's shim makes one: accepts one connection and receives
/// the pty master over SCM_RIGHTS.
final class ConsoleReceiver {
    let listener: Int32

    init(path: String) throws {
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(listener, 1) == 0 else { throw NSError(domain: "bind", code: Int(errno)) }
    }

    deinit { close(listener) }

    /// Waits at most `seconds` for the runtime to connect: a runtime that fails before it
    /// connects must fail the test, not hang it.
    func acceptMaster(seconds: Int32 = 60) throws -> Int32 {
        guard readable(listener, seconds: seconds) else { throw NSError(domain: "accept: no connection within \(seconds) s", code: 0) }
        let connection = accept(listener, nil, nil)
        guard connection >= 0 else { throw NSError(domain: "accept", code: Int(errno)) }
        defer { close(connection) }
        var data = [UInt8](repeating: 0, count: 256)
        var control = [UInt8](repeating: 0, count: 64)
        return try data.withUnsafeMutableBytes { dataBuffer in
            try control.withUnsafeMutableBytes { controlBuffer in
                var vector = iovec(iov_base: dataBuffer.baseAddress, iov_len: dataBuffer.count)
                return try withUnsafeMutablePointer(to: &vector) { vectorPointer in
                    var message = msghdr()
                    message.msg_iov = vectorPointer
                    message.msg_iovlen = 1
                    message.msg_control = controlBuffer.baseAddress
                    message.msg_controllen = controlBuffer.count
                    guard recvmsg(connection, &message, 0) > 0 else { throw NSError(domain: "recvmsg", code: Int(errno)) }
                    // struct cmsghdr is 16 bytes on 64-bit Linux; the fd follows it.
                    return controlBuffer.load(fromByteOffset: 16, as: Int32.self)
                }
            }
        }
    }
}

final class SocketActivationTests: IntegrationCase {
    func testListenFdsReachTheContainerAsFdThree() throws {
        try writeConfig(["sh", "-c", "echo $LISTEN_FDS $LISTEN_PID; ls /proc/self/fd; read line <&3; echo got:$line"])
        try "activated\n".write(toFile: bundle + "/socket-stand-in", atomically: true, encoding: .utf8)
        // `exec` keeps the shell's pid, so LISTEN_PID names port-run as systemd would.
        let result = try shell("cd '\(bundle)' && exec 3<socket-stand-in; LISTEN_FDS=1 LISTEN_PID=$$ exec '\(Self.binary)' --root '\(stateRoot)' run activated")
        XCTAssertEqual(result.stdout, "1 1\n0\n1\n2\n3\n4\ngot:activated\n", result.stderr)
        let ignored = try shell("cd '\(bundle)' && exec 3<socket-stand-in; LISTEN_FDS=1 LISTEN_PID=1 exec '\(Self.binary)' --root '\(stateRoot)' run not-for-us")
        // Activation meant for another process is not passed on, nor is its fd.
        XCTAssertEqual(ignored.stdout, "\n0\n1\n2\n3\ngot:\n")
    }
}
