import Foundation
import XCTest

/// CVE-2019-5736: a process in container A, sharing its pid namespace with container B,
/// holds B's waiting init's /proc/PID/exe open and, once no runtime process runs any more,
/// reopens it for writing through /proc/self/fd. It aims at a copy of the runtime, so a
/// failure cannot damage the build.
final class SelfProtectionTests: IntegrationCase {
    struct Attack {
        var outcome: String
        var error: String
        var exe: String
        var binaryChanged: Bool
    }

    func testContainerCannotWriteTheRuntimeBinary() throws {
        let attack = try attackRuntime(environment: [:], persona: Self.persona)
        XCTAssertFalse(attack.binaryChanged, "the runtime binary on the host was modified")
        // Natively the copy is a read-only bind, and the write is refused by the copy itself,
        // not by luck (ETXTBSY while some process runs the binary). Under an old persona the
        // copy may be a file that takes the write instead of the binary.
        if Self.persona == nil {
            XCTAssertEqual(attack.outcome, "refused", attack.error)
            XCTAssertTrue(attack.error.hasSuffix("Read-only file system"), attack.error)
        }
    }

    /// Against a port-run command that never protects itself (`events`, run in A's pid
    /// namespace), the same attack must succeed: this is what proves the test above can fail.
    func testTheAttackWorksAgainstAnUnprotectedRuntime() throws {
        let attack = try attackRuntime(environment: [:], persona: Self.persona, victim: .unprotectedCommand)
        XCTAssertEqual(attack.outcome, "written", attack.error)
        XCTAssertTrue(attack.binaryChanged)
    }

    /// The marker from the environment alone does not switch the protection off: the binary
    /// is checked (read-only mount, sealed memfd or unlinked copy) before it is believed.
    func testTheMarkerInTheEnvironmentDoesNotSwitchProtectionOff() throws {
        let attack = try attackRuntime(environment: ["_PORT_RUN_PROTECTED": "read-only bind"], persona: Self.persona)
        XCTAssertFalse(attack.binaryChanged, "the runtime binary on the host was modified")
        if Self.persona == nil { XCTAssertEqual(attack.outcome, "refused", attack.error) }
    }

    /// Under a kernel without mount_setattr the copy is a sealed memfd, and it holds too.
    func testSealedMemfdUnderAnOlderKernel() throws {
        try skipUnderSuitePersona()
        let attack = try attackRuntime(environment: [:], persona: "ubuntu20.04-5.4")
        XCTAssertEqual(attack.outcome, "refused", attack.error)
        XCTAssertTrue(attack.exe.hasPrefix("/memfd:port-run"), attack.exe)
        XCTAssertTrue(attack.error.hasSuffix("Operation not permitted"), attack.error)
        XCTAssertFalse(attack.binaryChanged)
    }

    /// 3.10 has neither memfd nor O_TMPFILE: the copy is an unlinked temp file. A write
    /// through /proc/PID/exe may land in that copy, never in the binary.
    func testUnlinkedCopyUnderRHEL7() throws {
        try skipUnderSuitePersona()
        let attack = try attackRuntime(environment: [:], persona: "rhel7-3.10")
        XCTAssertTrue(attack.exe.contains("/.port-run-") && attack.exe.hasSuffix("(deleted)"), attack.exe)
        XCTAssertFalse(attack.binaryChanged)
    }

    func testNoCopyFromAReadOnlyMount() throws {
        try writeConfig(["true"])
        let base = (stateRoot as NSString).deletingLastPathComponent
        try FileManager.default.copyItem(atPath: Self.binary, toPath: base + "/port-run-ro")
        let result = try shell("""
            cd '\(bundle)' && unshare -m sh -c "mount --bind '\(base)/port-run-ro' '\(base)/port-run-ro' &&
            mount -o remount,bind,ro '\(base)/port-run-ro' && '\(base)/port-run-ro' --debug --root '\(stateRoot)' run ro"
            """)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("self-protection: not needed, the binary is on a read-only mount"), result.stderr)
        XCTAssertFalse(result.stderr.contains("re-executing"), result.stderr)
    }

    /// The memfd exists before any process is made, and F_SEAL_FUTURE_WRITE (hangs on
    /// kernels before 5.5) is never asked for, though this kernel would accept it.
    func testSealsAndOrderUnderStrace() throws {
        try skipUnderSuitePersona()
        try writeConfig(["true"])
        let simulated = [Self.binary, "check", "--simulate", "ubuntu20.04-5.4", "--", Self.binary, "--root", stateRoot, "run"]
        // Probes fork; with the persona's answers cached, the traced run makes no probe.
        XCTAssertEqual(try execute(simulated[0], Array(simulated.dropFirst()) + ["warm"], directory: bundle).status, 0)
        let (result, ours) = try traced("memfd_create,fcntl,clone,clone3,fork,vfork,execveat", simulated + ["traced"], directory: bundle)
        XCTAssertEqual(result.status, 0, result.stderr)
        let memfd = try XCTUnwrap(ours.firstIndex { $0.contains("memfd_create(\"port-run\"") }, ours.joined(separator: "\n"))
        let firstClone = try XCTUnwrap(ours.firstIndex { $0.contains("clone(") || $0.contains("clone3(") || $0.contains("fork(") })
        XCTAssertLessThan(memfd, firstClone, "the memfd must exist before the first process is made")
        let seals = ours.filter { $0.contains("F_ADD_SEALS") }
        XCTAssertEqual(seals.count, 1, seals.joined(separator: "\n"))
        XCTAssertTrue(seals.allSatisfy { $0.contains("F_SEAL_WRITE") && $0.contains("F_SEAL_SEAL") }, seals.joined(separator: "\n"))
        XCTAssertFalse(ours.contains { $0.contains("F_SEAL_FUTURE_WRITE") }, ours.joined(separator: "\n"))
    }

    /// Natively the read-only bind is made by a C constructor: the first process re-executes
    /// before any Swift code reads host facts or config.json.
    func testReadOnlyBindIsMadeBeforeSwiftStarts() throws {
        try skipUnderSuitePersona()
        try writeConfig(["true"])
        let (result, lines) = try traced("openat,open_tree,execveat", [Self.binary, "--root", stateRoot, "run", "early"], directory: bundle)
        XCTAssertEqual(result.status, 0, result.stderr)
        // The probes' execveat(-1, ...) fails; the re-execution is the one that succeeds.
        let reexecutions = lines.indices.filter { lines[$0].contains("execveat(") && lines[$0].hasSuffix(" = 0") }
        XCTAssertEqual(reexecutions.count, 1, lines.joined(separator: "\n"))
        let reexec = try XCTUnwrap(reexecutions.first)
        let before = lines[..<reexec]
        XCTAssertTrue(before.contains { $0.contains("open_tree(") }, before.joined(separator: "\n"))
        XCTAssertFalse(before.contains { $0.contains("host-facts") || $0.contains("config.json") }, before.joined(separator: "\n"))
    }

    /// The marker is taken out of the environment at start by every command, not only by
    /// those that re-execute: `check --simulate` must not hand it to the command it runs.
    func testTheMarkerReachesNoChildProcess() throws {
        let result = try execute("/usr/bin/env", ["_PORT_RUN_PROTECTED=test", Self.binary, "check", "--simulate", "linux-6.6", "--", "/usr/bin/env"],
                                 directory: bundle)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("PATH="), result.stdout)
        XCTAssertFalse(result.stdout.contains("_PORT_RUN_PROTECTED"), result.stdout)
    }

    enum Victim { case waitingInit, unprotectedCommand }

    private func attackRuntime(environment: [String: String], persona: String? = nil, victim: Victim = .waitingInit) throws -> Attack {
        let base = (stateRoot as NSString).deletingLastPathComponent
        let binary = base + "/port-run-copy"
        try FileManager.default.copyItem(atPath: Self.binary, toPath: binary)
        let original = try Data(contentsOf: URL(fileURLWithPath: binary))
        let out = base + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let runtime = { (arguments: [String], bundle: String) throws -> Result in
            // The environment is set after the simulator, since `check` passes no marker on;
            // env first too, so that `execute` does not wrap the simulator in the suite's persona.
            var command = ["/usr/bin/env"]
            if let persona { command += [Self.binary, "check", "--simulate", persona, "--", "/usr/bin/env"] }
            command += environment.map { "\($0)=\($1)" } + [binary, "--root", self.stateRoot] + arguments
            return try self.execute(command[0], Array(command.dropFirst()), directory: bundle)
        }

        let caps = ["CAP_SYS_PTRACE", "CAP_KILL", "CAP_DAC_OVERRIDE", "CAP_CHOWN", "CAP_FOWNER"]
        try writeConfig(["sleep", "1000"]) { config in
            if persona == "rhel7-3.10" {   // 3.10 has no cgroup namespace
                var linux = config["linux"] as! [String: Any]
                linux["namespaces"] = (linux["namespaces"] as! [[String: Any]]).filter { $0["type"] as? String != "cgroup" }
                config["linux"] = linux
            }
            var process = config["process"] as! [String: Any]
            process["capabilities"] = ["bounding": caps, "effective": caps, "permitted": caps]
            config["process"] = process
            config["mounts"] = (config["mounts"] as! [[String: Any]]) + [["destination": "/out", "type": "bind", "source": out, "options": ["rbind", "rw"]]]
        }
        let runA = try runtime(["run", "-d", "a"], bundle)
        XCTAssertEqual(runA.status, 0, runA.stderr)
        let pidA = try XCTUnwrap(try state("a")["pid"] as? Int)
        // nsenter forks the command into A's pid namespace; it is found again by its command line.
        let events = [binary, "--root", stateRoot, "events", "--interval", "1s", "a"]
        let eventsPids = { () -> [Int32] in
            ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init).filter { pid in
                FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") == Data((events.joined(separator: "\0") + "\0").utf8)
            }
        }
        let stopEvents = { [self] in
            for pid in eventsPids() { kill(pid, SIGKILL) }
            XCTAssertTrue(waitUntil { eventsPids().isEmpty }, "the unprotected command did not end")
        }
        defer { stopEvents() }
        if victim == .unprotectedCommand {
            let nsenter = Process()
            nsenter.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
            nsenter.arguments = (Self.missingNamespaces.contains("pid") ? [] : ["-t", String(pidA), "-p"]) + ["--"] + events
            nsenter.standardOutput = FileHandle.nullDevice
            nsenter.standardError = FileHandle.nullDevice
            try nsenter.run()
            XCTAssertTrue(waitUntil { !eventsPids().isEmpty }, "the unprotected command did not start")
        }

        let bundleB = base + "/bundle-b"
        if victim == .waitingInit { try createSharingPids(with: pidA, bundle: bundleB, runtime: runtime) }

        let script = """
            # Without pid namespaces (GKI) the host's processes show too (the test runner, the
            # persona simulator running the build's own binary): only the copy under attack, or
            # a protected copy of it, is a target.
            for p in /proc/[0-9]*; do case $(readlink $p/exe) in *port-run-copy*|/memfd:port-run*|*/.port-run-*|/) t=$p;; esac; done
            [ -n "$t" ] || { echo "no runtime process" > /out/result; exit; }
            readlink $t/exe > /out/exe
            exec 3<$t/exe || { echo unopened > /out/result; exit; }
            echo > /out/opened
            while [ ! -e /out/go ]; do sleep 0.1; done
            # ETXTBSY lasts only while some process still runs the binary: an attacker retries.
            r=refused; i=0
            while [ $i -lt 30 ]; do
                if echo pwned 2>/out/error >> /proc/self/fd/3; then r=written; break; fi
                grep -q "Text file busy" /out/error || break
                i=$((i + 1)); sleep 0.1
            done
            echo $r > /out/result
            """
        let exec = try runtime(["exec", "-d", "a", "sh", "-c", script], bundle)
        XCTAssertEqual(exec.status, 0, exec.stderr)
        XCTAssertTrue(waitFor(out + "/opened") || waitFor(out + "/result"), "the attacker never ran")
        // B's init becomes `sleep` (or the unprotected command ends): no process runs the
        // runtime binary any more.
        if victim == .unprotectedCommand {
            stopEvents()
        } else {
            let started = try runtime(["start", "b"], bundleB)
            XCTAssertEqual(started.status, 0, started.stderr)
        }
        FileManager.default.createFile(atPath: out + "/go", contents: nil)
        XCTAssertTrue(waitFor(out + "/result"))
        let read = { (file: String) in ((try? String(contentsOfFile: out + "/" + file, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }
        let changed = try Data(contentsOf: URL(fileURLWithPath: binary)) != original
        if victim == .waitingInit { XCTAssertEqual(try port("delete", "--force", "b").status, 0) }
        XCTAssertEqual(try port("delete", "--force", "a").status, 0)
        return Attack(outcome: read("result"), error: read("error"), exe: read("exe"), binaryChanged: changed)
    }

    /// Container B, created (its init waits in the runtime binary) in A's pid namespace.
    private func createSharingPids(with pidA: Int, bundle bundleB: String, runtime: ([String], String) throws -> Result) throws {
        try FileManager.default.createDirectory(atPath: bundleB, withIntermediateDirectories: true)
        var configB = config
        var linux = configB["linux"] as! [String: Any]
        // Without pid namespaces (GKI) every process shares the host's: B is in A's view anyway.
        if !Self.missingNamespaces.contains("pid") {
            linux["namespaces"] = (linux["namespaces"] as! [[String: Any]]).filter { $0["type"] as? String != "pid" } + [["type": "pid", "path": "/proc/\(pidA)/ns/pid"]]
        }
        configB["linux"] = linux
        try JSONSerialization.data(withJSONObject: configB).write(to: URL(fileURLWithPath: bundleB + "/config.json"))
        let created = try runtime(["create", "b"], bundleB)
        XCTAssertEqual(created.status, 0, created.stderr)
    }

    /// Up to 10 s.
    private func waitFor(_ path: String) -> Bool {
        waitUntil(attempts: 200, interval: 50_000) { FileManager.default.fileExists(atPath: path) }
    }
}
