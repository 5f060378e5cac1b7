import Foundation
import XCTest

/// runtime-spec 1.1-1.3 fields that set how the kernel treats the container's processes:
/// each applied to init and to `exec`, or refused by name; none accepted and dropped.
final class ProcessPolicyTests: IntegrationCase {
    func edited(_ edit: @escaping (inout [String: Any], inout [String: Any]) -> Void) -> (inout [String: Any]) -> Void {
        return { config in
            var process = config["process"] as! [String: Any]
            var linux = config["linux"] as! [String: Any]
            edit(&process, &linux)
            config["process"] = process
            config["linux"] = linux
        }
    }

    /// "SCHED_BATCH" as /proc/PID/sched shows it: policy and nice (prio is 120 + nice).
    func schedulingOf(_ pid: Int) throws -> (policy: Int, prio: Int) {
        let lines = try String(contentsOfFile: "/proc/\(pid)/sched", encoding: .utf8).split(separator: "\n")
        func value(_ name: String) -> Int {
            lines.first { $0.hasPrefix(name + " ") }.flatMap { Int($0.split(separator: ":").last!.trimmingCharacters(in: .whitespaces)) } ?? -1
        }
        return (value("policy"), value("prio"))
    }

    func testSchedulerIsAppliedToInitAndToExec() throws {
        try writeConfig(["sleep", "100"], edit: edited { process, _ in
            process["scheduler"] = ["policy": "SCHED_BATCH", "priority": 0, "nice": 19]
        })
        let started = try port("run", "-d", "sched")
        XCTAssertEqual(started.status, 0, started.stderr)
        let pid = try state("sched")["pid"] as? Int ?? 0
        let initScheduling = try schedulingOf(pid)
        XCTAssertEqual(initScheduling.policy, 3, "SCHED_BATCH")
        XCTAssertEqual(initScheduling.prio, 139, "nice 19")
        // An exec takes the container's scheduler unless its process.json names one.
        let inherited = try port("exec", "sched", "sh", "-c", "grep -E '^(policy|prio) ' /proc/self/sched | tr -s ' '")
        XCTAssertEqual(inherited.stdout, "policy : 3\nprio : 139\n", inherited.stderr)
        // grep itself, not a shell's child: SCHED_FLAG_RESET_ON_FORK gives a child SCHED_OTHER.
        let own: [String: Any] = ["args": ["grep", "-E", "^policy ", "/proc/self/sched"],
                                  "cwd": "/", "scheduler": ["policy": "SCHED_DEADLINE", "flags": ["SCHED_FLAG_RESET_ON_FORK"],
                                                            "runtime": 42000, "deadline": 100_000, "period": 1_000_000]]
        try JSONSerialization.data(withJSONObject: own).write(to: URL(fileURLWithPath: bundle + "/process.json"))
        let deadline = try port("exec", "--process", bundle + "/process.json", "sched")
        XCTAssertEqual(deadline.status, 0, deadline.stderr)
        let shown = deadline.stdout.replacingOccurrences(of: " +", with: " ", options: .regularExpression)
        XCTAssertEqual(shown, "policy : 6\n", "SCHED_DEADLINE")
    }

    func testSchedulerRulesAreCheckedBeforeAnythingIsMade() throws {
        for (scheduler, message) in [
            (["policy": "SCHED_BOGUS"], "process.scheduler.policy: invalid scheduler policy \"SCHED_BOGUS\""),
            (["policy": "SCHED_OTHER", "priority": 5], "process.scheduler: scheduler.priority can only be specified for SCHED_FIFO or SCHED_RR policy"),
            (["policy": "SCHED_BATCH", "nice": 40], "process.scheduler: invalid scheduler.nice: 40 when scheduler.policy is SCHED_BATCH"),
            (["policy": "SCHED_RR", "runtime": 5], "process.scheduler: scheduler runtime/deadline/period can only be specified for SCHED_DEADLINE policy"),
            (["policy": "SCHED_FIFO", "flags": ["SCHED_FLAG_NOPE"]], "process.scheduler.flags[0]: invalid scheduler flag \"SCHED_FLAG_NOPE\""),
        ] as [([String: Any], String)] {
            try writeConfig(["true"], edit: edited { process, _ in process["scheduler"] = scheduler })
            let result = try port("run", "bad-sched")
            XCTAssertEqual(result.status, 1)
            XCTAssertEqual(result.stderr, "config.json: \(message)\n")
            try assertNothingLeft("bad-sched")
        }
    }

    func testIOPriorityIsAppliedToInitAndToExec() throws {
        try writeConfig(["sleep", "100"], edit: edited { process, _ in process["ioPriority"] = ["class": "IOPRIO_CLASS_BE", "priority": 4] })
        let started = try port("run", "-d", "ioprio")
        XCTAssertEqual(started.status, 0, started.stderr)
        // Without a pid namespace (a GKI persona) init is seen by its host pid.
        let initPid = Self.missingNamespaces.contains("pid") ? try state("ioprio")["pid"] as? Int ?? 0 : 1
        XCTAssertEqual(try port("exec", "ioprio", "ionice", "-p", String(initPid)).stdout, "best-effort: prio 4\n")
        XCTAssertEqual(try port("exec", "ioprio", "ionice").stdout, "best-effort: prio 4\n")
        let own: [String: Any] = ["args": ["ionice"], "cwd": "/", "ioPriority": ["class": "IOPRIO_CLASS_IDLE"]]
        try JSONSerialization.data(withJSONObject: own).write(to: URL(fileURLWithPath: bundle + "/process.json"))
        XCTAssertEqual(try port("exec", "--process", bundle + "/process.json", "ioprio").stdout, "idle\n")

        try writeConfig(["true"], edit: edited { process, _ in process["ioPriority"] = ["class": "IOPRIO_CLASS_BE", "priority": 8] })
        XCTAssertEqual(try port("run", "bad-ioprio").stderr, "config.json: process.ioPriority.priority: invalid ioPriority.priority: 8 (0 to 7)\n")
        try assertNothingLeft("bad-ioprio")
    }

    func testPersonalityLinux32ReachesInitAndExecEvenWithPersonalityDenied() throws {
        #if arch(x86_64)
        try writeConfig(["sh", "-c", "uname -m; sleep 100"], edit: edited { _, linux in
            linux["personality"] = ["domain": "LINUX32", "flags": [String]()]
            // The container may not change it back: set before the filter goes in.
            linux["seccomp"] = ["defaultAction": "SCMP_ACT_ALLOW",
                                "syscalls": [["names": ["personality"], "action": "SCMP_ACT_ERRNO"]]]
        })
        let process = try startInBackground("run", "linux32")
        let first = readLines(process.output, count: 1)
        XCTAssertEqual(first, "i686\n")
        XCTAssertEqual(try port("exec", "linux32", "uname", "-m").stdout, "i686\n")
        XCTAssertEqual(try port("kill", "linux32", "KILL").status, 0)
        process.run.waitUntilExit()
        #else
        throw XCTSkip("LINUX32 is i686 on x86_64 only")
        #endif
        try writeConfig(["true"], edit: edited { _, linux in linux["personality"] = ["domain": "LINUX", "flags": ["ADDR_NO_RANDOMIZE"]] })
        XCTAssertEqual(try port("run", "bad-persona").stderr,
                       "config.json: linux.personality.flags[0]: personality flag ADDR_NO_RANDOMIZE is not supported (runtime-spec defines none)\n")
        try assertNothingLeft("bad-persona")
    }

    func testMemoryPolicyIsAppliedOrRefusedAsRuncDoes() throws {
        guard FileManager.default.fileExists(atPath: "/proc/self/numa_maps") else {
            throw XCTSkip("this kernel has no NUMA (CONFIG_NUMA): no numa_maps to read a policy from")
        }
        let firstMapping = ["sh", "-c", "head -n 1 /proc/self/numa_maps | cut -d ' ' -f 2"]
        for (policy, expected) in [
            (["mode": "MPOL_INTERLEAVE", "nodes": "0"], "interleave:0"),
            (["mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]], "bind=static:0"),
            (["mode": "MPOL_DEFAULT"], "default"),
        ] as [([String: Any], String)] {
            try writeConfig(firstMapping, edit: edited { _, linux in linux["memoryPolicy"] = policy })
            let result = try port("run", "mpol")
            XCTAssertEqual(result.stdout, expected + "\n", "\(policy): \(result.stderr)")
        }
        try writeConfig(["sleep", "100"], edit: edited { _, linux in
            linux["memoryPolicy"] = ["mode": "MPOL_PREFERRED", "nodes": "0", "flags": ["MPOL_F_RELATIVE_NODES"]]
        })
        let started = try port("run", "-d", "mpol-exec")
        XCTAssertEqual(started.status, 0, started.stderr)
        XCTAssertEqual(try port(["exec", "mpol-exec"] + firstMapping).stdout, "prefer=relative:0\n")

        for (policy, message) in [
            ([:], "linux.memoryPolicy.mode: invalid memory policy mode: none given"),
            (["mode": "INTERLEAVE", "nodes": "0"], "linux.memoryPolicy.mode: invalid memory policy mode \"INTERLEAVE\""),
            (["mode": "MPOL_PREFERRED", "nodes": "0", "flags": ["MPOL_F_RELATIVE_NODES", "badflag"]],
             "linux.memoryPolicy.flags[1]: invalid memory policy flag \"badflag\""),
            (["mode": "MPOL_DEFAULT", "nodes": "0-7"], "linux.memoryPolicy: memory policy mode MPOL_DEFAULT requires 0 nodes but got 8"),
            (["mode": "MPOL_BIND", "nodes": "0-9876543210"],
             "linux.memoryPolicy.nodes: invalid memory policy node \"0-9876543210\": numbers above 65536 are not supported"),
        ] as [([String: Any], String)] {
            try writeConfig(["true"], edit: edited { _, linux in linux["memoryPolicy"] = policy })
            let result = try port("run", "bad-mpol")
            XCTAssertEqual(result.stderr, "config.json: \(message)\n")
            try assertNothingLeft("bad-mpol")
        }
        // The kernel's own refusal (a node this machine lacks) is one line, from init.
        try writeConfig(["true"], edit: edited { _, linux in linux["memoryPolicy"] = ["mode": "MPOL_BIND", "nodes": "63"] })
        let missingNode = try port("run", "no-node")
        XCTAssertEqual(missingNode.status, 1)
        XCTAssertTrue(missingNode.stderr.contains("linux.memoryPolicy: set_mempolicy MPOL_BIND: invalid argument"), missingNode.stderr)
        try assertNothingLeft("no-node")
    }

    func testTimeOffsetsAreWrittenIntoTheNewTimeNamespace() throws {
        try requireNamespaces("time")
        let base = config
        let offsets: [String: Any] = ["monotonic": ["secs": 7881, "nanosecs": 2_718_281], "boottime": ["secs": 1337, "nanosecs": 3_141_519]]
        try writeConfig(["sh", "-c", "cat /proc/self/timens_offsets; readlink /proc/self/ns/time; sleep 100"], edit: edited { _, linux in
            linux["namespaces"] = (linux["namespaces"] as! [[String: Any]]) + [["type": "time"]]
            linux["timeOffsets"] = offsets
        })
        let process = try startInBackground("run", "timens")
        let output = readLines(process.output, count: 3)
        // init itself is in the new namespace (its children alone would be, on 5.10, had it
        // not joined), and so is an exec.
        let host = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/time")
        let written = "monotonic 7881 2718281\nboottime 1337 3141519\n"
        let shown = output.replacingOccurrences(of: " +", with: " ", options: .regularExpression)
        XCTAssertTrue(shown.hasPrefix(written), shown)
        let initNamespace = shown.dropFirst(written.count).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertNotEqual(initNamespace, host, "init is still in the host's time namespace")
        let exec = try port("exec", "timens", "sh", "-c", "cat /proc/self/timens_offsets; readlink /proc/self/ns/time")
        XCTAssertEqual(exec.stdout.replacingOccurrences(of: " +", with: " ", options: .regularExpression), written + initNamespace + "\n")
        XCTAssertEqual(try port("kill", "timens", "KILL").status, 0)
        process.run.waitUntilExit()

        config = base
        try writeConfig(["true"], edit: edited { _, linux in linux["timeOffsets"] = offsets })
        XCTAssertEqual(try port("run", "no-timens").stderr, "config.json: linux.timeOffsets: time offsets need a new time namespace in linux.namespaces\n")
        try assertNothingLeft("no-timens")
    }

    /// The runtime's own affinity (a taskset around it) never reaches the container: init and
    /// a plain exec get every CPU of their cgroup; execCPUAffinity sets exec's, first and last.
    func testCPUAffinityIsResetOrSetAsTheSpecSays() throws {
        guard ProcessInfo.processInfo.activeProcessorCount >= 2 else { throw XCTSkip("one CPU: no affinity to tell apart") }
        let online = try String(contentsOfFile: "/sys/devices/system/cpu/online", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        try writeConfig(["sleep", "100"])
        let run = try shell("cd '\(bundle)' && taskset -c 0 '\(Self.binary)' --root '\(stateRoot)' run -d affinity")
        XCTAssertEqual(run.status, 0, run.stderr)
        let pid = try state("affinity")["pid"] as? Int ?? 0
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        XCTAssertTrue(status.contains("Cpus_allowed_list:\t\(online)\n"), status)
        let plain = try shell("cd '\(bundle)' && taskset -c 0 '\(Self.binary)' --root '\(stateRoot)' exec affinity grep Cpus_allowed_list /proc/self/status")
        XCTAssertEqual(plain.stdout, "Cpus_allowed_list:\t\(online)\n", plain.stderr)
        let own: [String: Any] = ["args": ["grep", "Cpus_allowed_list", "/proc/self/status"], "cwd": "/",
                                  "execCPUAffinity": ["initial": "0", "final": "1"]]
        try JSONSerialization.data(withJSONObject: own).write(to: URL(fileURLWithPath: bundle + "/process.json"))
        let set = try port("--debug", "exec", "--process", bundle + "/process.json", "affinity")
        XCTAssertEqual(set.stdout, "Cpus_allowed_list:\t1\n", set.stderr)
        XCTAssertTrue(set.stderr.contains("exec: initial affinity: 0x1"), set.stderr)
        let onlyInitial: [String: Any] = ["args": ["grep", "Cpus_allowed_list", "/proc/self/status"], "cwd": "/",
                                          "execCPUAffinity": ["initial": "1"]]
        try JSONSerialization.data(withJSONObject: onlyInitial).write(to: URL(fileURLWithPath: bundle + "/process.json"))
        // Where joining the cgroup sets the cpuset's CPUs (a v1 cpuset), that is what remains:
        // only the initial affinity is the runtime's to check, as in runc's test.
        let initial = try port("--debug", "exec", "--process", bundle + "/process.json", "affinity")
        XCTAssertEqual(initial.status, 0, initial.stderr)
        XCTAssertTrue(initial.stderr.contains("exec: initial affinity: 0x2"), initial.stderr)
    }

    /// `rro` makes every mount below a recursive bind read-only; a plain `ro` only the top one.
    func testRecursiveReadOnlyReachesEverySubmount() throws {
        let host = (stateRoot as NSString).deletingLastPathComponent + "/rro-source"
        try FileManager.default.createDirectory(atPath: host + "/sub", withIntermediateDirectories: true)
        XCTAssertEqual(try shell("mount -t tmpfs rro-sub '\(host)/sub'").status, 0)
        defer { _ = try? shell("umount '\(host)/sub'") }
        let base = config
        for (options, expected) in [(["rbind", "ro"], "top:ro sub:rw\n"), (["rbind", "rro"], "top:ro sub:ro\n")] {
            config = base
            try writeConfig(["sh", "-c", "touch /data/x 2>/dev/null && echo -n top:rw || echo -n top:ro; touch /data/sub/x 2>/dev/null && echo ' sub:rw' || echo ' sub:ro'"]) { config in
                config["mounts"] = (config["mounts"] as! [[String: Any]]) + [["destination": "/data", "type": "bind", "source": host, "options": options]]
            }
            let result = try port("run", "rro")
            // Before 5.12 there is no mount_setattr, and no way to hold the submounts: refused.
            if options.contains("rro"), result.status != 0, Self.kernelBefore(5, 12) {
                XCTAssertEqual(result.stderr, "config.json: mounts[\((config["mounts"] as! [Any]).count - 1)].options: \"rro\" needs mount_setattr: this kernel cannot set attributes of a whole mount tree (Linux 5.12)\n")
                try assertNothingLeft("rro")
                continue
            }
            XCTAssertEqual(result.stdout, expected, "\(options): \(result.stderr)")
        }
    }

    /// The running kernel's release is older than major.minor.
    static func kernelBefore(_ major: Int, _ minor: Int) -> Bool {
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return parts.count == 2 && (parts[0], parts[1]) < (major, minor)
    }

    func testFieldsPortRunDoesNotImplementAreRefusedByName() throws {
        let base = config
        for (edit, message) in [
            ({ (config: inout [String: Any]) in
                var linux = config["linux"] as! [String: Any]
                linux["intelRdt"] = ["closID": "guaranteed_group"]
                config["linux"] = linux
            }, "linux.intelRdt: Intel RDT (resctrl) is not supported by port-run"),
            ({ (config: inout [String: Any]) in
                var linux = config["linux"] as! [String: Any]
                linux["netDevices"] = ["eth1": [String: Any]()]
                config["linux"] = linux
            }, "linux.netDevices: moving network devices into the container is not supported by port-run"),
            ({ (config: inout [String: Any]) in
                config["mounts"] = (config["mounts"] as! [[String: Any]]) + [["destination": "/m", "type": "bind", "source": "/tmp", "options": ["rbind", "idmap"]]]
            }, "mounts[\((config["mounts"] as! [Any]).count)].options: \"idmap\": idmapped mounts are not supported by port-run"),
        ] as [((inout [String: Any]) -> Void, String)] {
            config = base
            try writeConfig(["true"], edit: edit)
            let result = try port("run", "unsupported")
            XCTAssertEqual(result.status, 1)
            XCTAssertEqual(result.stderr, "config.json: \(message)\n")
            try assertNothingLeft("unsupported")
        }
    }
}
