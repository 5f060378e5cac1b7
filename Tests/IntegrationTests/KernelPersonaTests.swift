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
