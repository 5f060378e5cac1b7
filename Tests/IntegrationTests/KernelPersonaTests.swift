import Foundation
import XCTest

/// The integration of probes, strategy and the persona simulator: port-run run as if on
/// older kernels, on this one.
final class KernelPersonaTests: IntegrationCase {
    func simulated(_ persona: String, _ arguments: [String]) throws -> Result {
        try execute(Self.binary, ["check", "--simulate", persona, "--", Self.binary] + arguments, directory: bundle)
    }

    func testCheckReportsProbesStrategyAndPersona() throws {
        let result = try execute(Self.binary, ["check"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("mount_namespace         present"), result.stdout)
        XCTAssertTrue(result.stdout.contains("closest persona: "), result.stdout)
        let json = try JSONSerialization.jsonObject(with: Data(try execute(Self.binary, ["check", "--json"]).stdout.utf8)) as? [String: Any]
        XCTAssertEqual(json?["canRunContainers"] as? Bool, true)
    }

    func testUbuntu2004PersonaFallsBackFromCloseRangeAndStillRuns() throws {
        try skipUnderSuitePersona()
        let check = try simulated("ubuntu20.04-5.4", ["check"])
        XCTAssertTrue(check.stdout.contains("close_range             absent (function not implemented)"), check.stdout)
        XCTAssertTrue(check.stdout.contains("fd closing before exec  /proc/self/fd walk"), check.stdout)
        XCTAssertTrue(check.stdout.contains("closest persona: ubuntu20.04-5.4"), check.stdout)
        try writeConfig(["sh", "-c", "ls /proc/self/fd; echo $$"])
        let run = try simulated("ubuntu20.04-5.4", ["--root", stateRoot, "run", "focal"])
        XCTAssertEqual(run.stdout, "0\n1\n2\n3\n1\n", run.stderr)
    }

    /// Early in boot the entropy pool is not ready: a getrandom that waits would hang every
    /// command before main (the overlay traps it instead). port-run starts without waiting,
    /// and says so in a debug line.
    func testNoCommandWaitsForTheEntropyPool() throws {
        try writeConfig(["echo", "early"])
        let check = try simulated("linux-6.6,unseeded-entropy", ["check"])
        XCTAssertEqual(check.status, 0, check.stderr)
        let run = try simulated("linux-6.6,unseeded-entropy", ["--root", stateRoot, "--debug", "run", "early"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.stdout, "early\n")
        XCTAssertTrue(run.stderr.contains("entropy pool is not ready yet"), run.stderr)
        let spec = try simulated("linux-6.6,unseeded-entropy", ["spec", "--bundle", (stateRoot as NSString).deletingLastPathComponent])
        XCTAssertEqual(spec.status, 0, spec.stderr)
    }

    /// A kernel without pid namespaces (a GKI build) or cgroup namespaces (RHEL 7): `check`
    /// names what runc's default spec needs and the kernel lacks, with the fix; `spec` writes
    /// a config without them, which runs; `run` of one that asks refuses in one line.
    func testCheckAndSpecKnowWhatTheDefaultSpecNeedsAndTheKernelLacks() throws {
        try skipUnderSuitePersona()
        let check = try simulated("android-gki-5.10", ["check"])
        XCTAssertEqual(check.status, 0, check.stderr)
        XCTAssertTrue(check.stdout.contains("  blocker: pid namespaces: absent (invalid argument); a spec asking for one is refused: leave {\"type\": \"pid\"} out of linux.namespaces (port-run spec here does), or use a kernel with CONFIG_PID_NS"), check.stdout)
        XCTAssertTrue(check.stdout.hasSuffix("containers can run here, with a spec that leaves out the above\n"), check.stdout)

        let gki = (stateRoot as NSString).deletingLastPathComponent + "/gki"
        try FileManager.default.createDirectory(atPath: gki, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: gki + "/rootfs", withDestinationPath: Self.work + "/base/rootfs")
        let spec = try simulated("android-gki-5.10", ["spec", "--bundle", gki])
        XCTAssertEqual(spec.status, 0, spec.stderr)
        XCTAssertTrue(spec.stderr.contains("config.json: no pid namespace: this kernel cannot create one (CONFIG_PID_NS"), spec.stderr)
        var written = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: gki + "/config.json"))) as? [String: Any])
        let namespaces = ((written["linux"] as? [String: Any])?["namespaces"] as? [[String: Any]])?.compactMap { $0["type"] as? String }
        XCTAssertEqual(namespaces, ["network", "uts", "mount", "cgroup"])
        XCTAssertFalse(((written["mounts"] as? [[String: Any]]) ?? []).contains { $0["destination"] as? String == "/dev/mqueue" })
        var process = written["process"] as! [String: Any]
        process["terminal"] = false
        process["args"] = ["echo", "gki"]
        written["process"] = process
        try JSONSerialization.data(withJSONObject: written).write(to: URL(fileURLWithPath: gki + "/config.json"))
        let runs = try execute(Self.binary, ["check", "--simulate", "android-gki-5.10", "--", Self.binary, "--root", stateRoot, "run", "gki"], directory: gki)
        XCTAssertEqual(runs.status, 0, runs.stderr)
        XCTAssertEqual(runs.stdout, "gki\n")

        try writeConfig(["true"]) { config in
            var linux = config["linux"] as! [String: Any]
            linux["namespaces"] = [["type": "mount"], ["type": "uts"], ["type": "pid"]]
            config["linux"] = linux
        }
        let refused = try simulated("android-gki-5.10", ["--root", stateRoot, "run", "pidless"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertEqual(refused.stderr, "config.json: linux.namespaces[2]: this kernel cannot create pid namespaces (CONFIG_PID_NS, off on some Android GKI builds): absent (invalid argument)\n")
        try assertNothingLeft("pidless")

        let rhel = (stateRoot as NSString).deletingLastPathComponent + "/rhel"
        try FileManager.default.createDirectory(atPath: rhel, withIntermediateDirectories: true)
        XCTAssertEqual(try simulated("rhel7-3.10", ["spec", "--bundle", rhel]).status, 0)
        let rhelSpec = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: rhel + "/config.json"))) as? [String: Any]
        let rhelNamespaces = ((rhelSpec?["linux"] as? [String: Any])?["namespaces"] as? [[String: Any]])?.compactMap { $0["type"] as? String }
        XCTAssertEqual(rhelNamespaces, ["pid", "network", "ipc", "uts", "mount"])
    }

    func testAndroidPersonaRefusesWhatTheKernelLacksAndRunsTheRest() throws {
        try skipUnderSuitePersona()
        try writeConfig(["true"])
        let refused = try simulated("android-4.19", ["--root", stateRoot, "run", "ipc"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertEqual(refused.stderr, "config.json: linux.namespaces[2]: this kernel cannot create ipc namespaces (CONFIG_IPC_NS, off on Android kernels): absent (invalid argument)\n")
        try assertNothingLeft("ipc")
        try writeConfig(["sh", "-c", "echo android; hostname"]) { config in
            var linux = config["linux"] as! [String: Any]
            linux["namespaces"] = (linux["namespaces"] as! [[String: Any]]).filter { $0["type"] as? String != "ipc" }
            var mounts = config["mounts"] as! [[String: Any]]
            mounts.removeAll { $0["type"] as? String == "mqueue" }
            config["mounts"] = mounts
            config["linux"] = linux
        }
        let run = try simulated("android-4.19", ["--root", stateRoot, "run", "droid"])
        XCTAssertEqual(run.stdout, "android\nport-run\n", run.stderr)
    }

    func testProbesSurviveTheAndroidAppFilterSIGSYS() throws {
        try skipUnderSuitePersona()
        let check = try simulated("android-4.19,android-app", ["check"])
        XCTAssertTrue(check.stdout.contains("close_range             trapped (SIGSYS)"), check.stdout + check.stderr)
        XCTAssertTrue(check.stdout.contains("keyrings                trapped (SIGSYS)"), check.stdout)
        XCTAssertTrue(check.stdout.contains("session keyring         none"), check.stdout)
    }
}
