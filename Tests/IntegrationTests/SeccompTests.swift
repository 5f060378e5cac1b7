import Foundation
import XCTest

final class SeccompTests: IntegrationCase {
    func profile(_ syscalls: [[String: Any]], defaultAction: String = "SCMP_ACT_ALLOW") -> [String: Any] {
        ["defaultAction": defaultAction, "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_AARCH64"], "syscalls": syscalls]
    }

    func withSeccomp(_ args: [String], _ seccomp: [String: Any], noNewPrivileges: Bool = true) throws {
        try writeConfig(args) { config in
            var linux = config["linux"] as! [String: Any]
            linux["seccomp"] = seccomp
            config["linux"] = linux
            var process = config["process"] as! [String: Any]
            process["noNewPrivileges"] = noNewPrivileges
            config["process"] = process
        }
    }

    func testErrnoRetTrapAndFilterPresence() throws {
        try withSeccomp(["sh", "-c", "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; mkdir /tmp/x 2>&1; echo done"], profile([
            ["names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 95],
            ["names": ["no_such_syscall_anywhere"], "action": "SCMP_ACT_ERRNO"],
        ]))
        let result = try port("run", "errno")
        XCTAssertEqual(result.stdout, "NoNewPrivs:\t1\nSeccomp:\t2\nmkdir: can't create directory '/tmp/x': Operation not supported\ndone\n", result.stderr)

        try withSeccomp(["sh", "-c", "exec mkdir /tmp/y"], profile([["names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_TRAP"]]),
                        noNewPrivileges: false)
        let trapped = try port("run", "trap")
        XCTAssertEqual(trapped.status, 128 + 31, trapped.stderr)
        XCTAssertEqual(trapped.stdout, "")
    }

    func testArgumentConditionsAndDefaultErrno() throws {
        try withSeccomp(["sh", "-c", "echo $(( 1 + 1 ))"], [
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [["names": ["write"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5,
                          "args": [["index": 0, "value": 1, "op": "SCMP_CMP_EQ"]]]],
        ])
        let result = try port("run", "args")
        // writes to fd 1 fail (EIO), writes to fd 2 pass: the error appears on stderr.
        XCTAssertEqual(result.stdout, "")
        XCTAssertTrue(result.stderr.contains("Input/output error"), result.stderr)
    }

    func testAProfileThatDeniesGetcwdStillStarts() throws {
        // The runtime checks the cwd with getcwd before the filter is loaded, not after.
        for noNewPrivileges in [false, true] {
            try withSeccomp(["sh", "-c", "echo started"], profile([["names": ["getcwd"], "action": "SCMP_ACT_ERRNO"]]),
                            noNewPrivileges: noNewPrivileges)
            let result = try port("run", "getcwd-\(noNewPrivileges)")
            XCTAssertEqual(result.stdout, "started\n", result.stderr)
        }
    }

    func testBadProfileNamesTheField() throws {
        try withSeccomp(["true"], profile([["names": ["mkdir"], "action": "SCMP_ACT_BOGUS"]]))
        let result = try port("run", "bogus")
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "config.json: linux.seccomp.syscalls[0].action: unknown seccomp action \"SCMP_ACT_BOGUS\"\n")
        try assertNothingLeft("bogus")
    }

    func testExecGetsTheContainersFilter() throws {
        try withSeccomp(["sleep", "1000"], profile([["names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"]]))
        XCTAssertEqual(try port("run", "-d", "filtered").status, 0)
        let result = try port("exec", "filtered", "sh", "-c", "grep Seccomp: /proc/self/status; mkdir /tmp/z 2>&1")
        XCTAssertEqual(result.stdout, "Seccomp:\t2\nmkdir: can't create directory '/tmp/z': Operation not permitted\n")
    }
}

/// SCMP_ACT_NOTIFY: the listener reaches the agent at listenerPath with the process state,
/// and the agent's answer is what the container's syscall returns.
final class SeccompAgentTests: IntegrationCase {
    func testNotifyHandsTheListenerToTheAgentWhichAnswersTheSyscall() throws {
        let base = (stateRoot as NSString).deletingLastPathComponent
        // sun_path holds 108 bytes: the test's own directory is too deep for it.
        let socketPath = "/tmp/port-run-agent-\(getpid()).sock", report = base + "/agent.json"
        defer { unlink(socketPath); unlink(socketPath + ".ready") }
        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        agent.arguments = [Self.repo + "/Tests/IntegrationTests/Agents/seccomp-agent.py", socketPath, report]
        try agent.run()
        defer { if agent.isRunning { agent.terminate() } }
        waitUntil { FileManager.default.fileExists(atPath: socketPath + ".ready") }

        try writeConfig(["sh", "-c", "mkdir /tmp/agent 2>&1; echo done"]) { config in
            var linux = config["linux"] as! [String: Any]
            linux["seccomp"] = [
                "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": socketPath, "listenerMetadata": "from-the-test",
                "syscalls": [["names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"]],
            ]
            config["linux"] = linux
        }
        let result: Result
        do { result = try port("run", "agent") } catch {
            agent.terminate()   // a persona's refusal (no seccomp listeners before 5.0) skips
            throw error
        }
        // Without the agent's answer the read-only rootfs would say "Read-only file system".
        XCTAssertEqual(result.stdout, "mkdir: can't create directory '/tmp/agent': Permission denied\ndone\n", result.stderr)
        waitUntil(attempts: 500) { !agent.isRunning }
        guard !agent.isRunning else { return XCTFail("the agent never got a notification") }
        let seen = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any] ?? [:]
        XCTAssertEqual(seen["fdKind"] as? String, "anon_inode:seccomp notify")
        XCTAssertTrue([83, 258].contains(seen["syscall"] as? Int ?? -1), "\(seen)")   // mkdir, mkdirat on x86_64
        let state = seen["state"] as? [String: Any] ?? [:]
        XCTAssertEqual(state["metadata"] as? String, "from-the-test")
        XCTAssertEqual(state["fds"] as? [String], ["seccompFd"])
        XCTAssertEqual((state["state"] as? [String: Any])?["id"] as? String, "agent")
    }

    /// WAIT_KILLABLE_RECV (5.19; loaded by port-run itself, as libseccomp 2.5 cannot): a
    /// signal that comes while the agent holds the notification does not cancel it. The
    /// same run without the flag is the control: there the signal does cancel it. A kernel
    /// without the flag runs the container without it, with a warning.
    func testWaitKillableRecvKeepsTheNotificationThroughASignal() throws {
        let lacking = Self.personaLacks("seccomp_wait_killable_recv")
        let base = (stateRoot as NSString).deletingLastPathComponent
        var outlived: [Bool] = []
        for (id, flags) in [("killable", ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]), ("plain", [])] {
            let socketPath = "/tmp/port-run-agent-\(getpid())-\(id).sock", report = base + "/agent-\(id).json"
            defer { unlink(socketPath); unlink(socketPath + ".ready") }
            let agent = Process()
            agent.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            agent.arguments = [Self.repo + "/Tests/IntegrationTests/Agents/seccomp-agent.py", socketPath, report, "signal"]
            try agent.run()
            defer { if agent.isRunning { agent.terminate() } }
            waitUntil { FileManager.default.fileExists(atPath: socketPath + ".ready") }
            // cd is the shell's own chdir, made by the process that has the SIGUSR1 handler.
            try writeConfig(["sh", "-c", "trap 'echo signalled' USR1; cd /tmp 2>/dev/null; echo done"]) { config in
                var linux = config["linux"] as! [String: Any]
                linux["seccomp"] = ["defaultAction": "SCMP_ACT_ALLOW", "listenerPath": socketPath, "flags": flags,
                                    "syscalls": [["names": ["chdir"], "action": "SCMP_ACT_NOTIFY"]]]
                config["linux"] = linux
            }
            let result: Result
            do { result = try port("run", id) } catch {
                agent.terminate()
                throw error
            }
            if lacking && !flags.isEmpty {
                XCTAssertTrue(result.stderr.contains("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV dropped: this kernel lacks it (Linux 5.19)"), result.stderr)
            } else {
                XCTAssertEqual(result.stderr, "", id)
            }
            XCTAssertTrue(result.stdout.hasSuffix("done\n"), "\(id): \(result.stdout)")
            waitUntil(attempts: 500) { !agent.isRunning }
            let seen = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any] ?? [:]
            outlived.append(seen["validAfterSignal"] as? Bool ?? false)
        }
        XCTAssertEqual(outlived, [!lacking, false], "with the flag the notification outlives the signal, without it it does not")
    }

    func testNotifyWithoutAListenerIsRefusedByField() throws {
        try writeConfig(["true"]) { config in
            var linux = config["linux"] as! [String: Any]
            linux["seccomp"] = ["defaultAction": "SCMP_ACT_ALLOW", "syscalls": [["names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"]]]
            config["linux"] = linux
        }
        let result = try port("run", "nolistener")
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "config.json: linux.seccomp.listenerPath: SCMP_ACT_NOTIFY needs a seccomp agent: listenerPath is required\n")
        try assertNothingLeft("nolistener")
    }
}
