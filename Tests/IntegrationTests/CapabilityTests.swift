import Foundation
import XCTest

final class CapabilityTests: IntegrationCase {
    func setCapabilities(_ names: [String], in config: inout [String: Any]) {
        var process = config["process"] as! [String: Any]
        process["capabilities"] = ["bounding": names, "effective": names, "permitted": names]
        config["process"] = process
    }

    func testTheContainerHoldsOnlyTheGrantedCapabilities() throws {
        try writeConfig(["sh", "-c", "grep -E 'Cap(Eff|Prm|Bnd|Amb)' /proc/self/status"]) {
            self.setCapabilities(["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"], in: &$0)
        }
        let result = try port("run", "caps")
        // CHOWN (0), KILL (5), NET_BIND_SERVICE (10): 0x421.
        XCTAssertEqual(result.stdout, "CapPrm:\t0000000000000421\nCapEff:\t0000000000000421\nCapBnd:\t0000000000000421\nCapAmb:\t0000000000000000\n", result.stderr)
    }

    func testNonRootUserGetsAmbientCapabilities() throws {
        // After execve a non-root process keeps only its ambient set: that is how a spec
        // grants capabilities to a non-root user.
        try writeConfig(["sh", "-c", "id -u; grep CapEff /proc/self/status"]) { config in
            var process = config["process"] as! [String: Any]
            let names = ["CAP_NET_RAW"]
            process["capabilities"] = ["bounding": names, "effective": names, "permitted": names, "inheritable": names, "ambient": names]
            process["user"] = ["uid": 1000, "gid": 1000]
            config["process"] = process
        }
        let result = try port("run", "caps-user")
        if Self.personaLacks("ambient_capabilities") {
            // Before 4.3 there is no ambient set: the spec allows going on, with a warning.
            XCTAssertEqual(result.stdout, "1000\nCapEff:\t0000000000000000\n")
            XCTAssertTrue(result.stderr.contains("this kernel has no ambient capabilities"), result.stderr)
        } else {
            XCTAssertEqual(result.stdout, "1000\nCapEff:\t0000000000002000\n", result.stderr)
        }
    }

    func testUnknownCapabilityNameIsAnError() throws {
        try writeConfig(["true"]) { self.setCapabilities(["CAP_CHOWN", "CAP_FOO"], in: &$0) }
        let result = try port("run", "bogus-cap")
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "config.json: process.capabilities.bounding: unknown capability CAP_FOO\n")
        try assertNothingLeft("bogus-cap")
    }

    func testCapabilityNewerThanTheKernelIsDroppedWithAWarning() throws {
        // A kernel whose last capability is 37 (before 5.8) has no CAP_PERFMON, CAP_BPF.
        try writeConfig(["sh", "-c", "grep CapEff /proc/self/status"]) { self.setCapabilities(["CAP_CHOWN", "CAP_BPF"], in: &$0) }
        try "37\n".write(toFile: bundle + "/cap_last_cap", atomically: true, encoding: .utf8)
        let result = try shell("""
            cd '\(bundle)' && unshare -m sh -c "mount --bind cap_last_cap /proc/sys/kernel/cap_last_cap && \
            '\(Self.binary)' --root '\(stateRoot)' run oldkernel"
            """)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "CapEff:\t0000000000000001\n")
        XCTAssertTrue(result.stderr.contains("CAP_BPF is not supported by this kernel (last capability 37); dropped"), result.stderr)
    }
}

final class FdLeakTests: IntegrationCase {
    func testCwdThroughALeakedFdCannotReachTheHost() throws {
        // Whatever fd numbers the runtime used, none may serve as a way out of the rootfs.
        for fd in 3...12 {
            try writeConfig(["sh", "-c", "pwd; ls"]) { config in
                var process = config["process"] as! [String: Any]
                process["cwd"] = "/proc/self/fd/\(fd)"
                config["process"] = process
            }
            let result = try port("run", "leak\(fd)")
            XCTAssertNotEqual(result.status, 0, "fd \(fd): started in \(result.stdout)")
            XCTAssertFalse(result.stdout.contains("state.json"), "fd \(fd) reached the state directory")
            try assertNothingLeft("leak\(fd)")
        }
    }
}

final class UserNamespaceTests: IntegrationCase {
    func withUserNamespace(_ args: [String]) throws {
        try writeConfig(args) { config in
            var linux = config["linux"] as! [String: Any]
            linux["namespaces"] = (linux["namespaces"] as! [[String: Any]]) + [["type": "user"]]
            linux["uidMappings"] = [["containerID": 0, "hostID": 200_000, "size": 65536]]
            linux["gidMappings"] = [["containerID": 0, "hostID": 200_000, "size": 65536]]
            config["linux"] = linux
        }
    }

    func testRootInTheContainerIsAnUnprivilegedHostUser() throws {
        try withUserNamespace(["sh", "-c", "cat /proc/self/uid_map; id -u; echo $$; exit 3"])
        let result = try port("run", "userns")
        XCTAssertEqual(result.stdout, "         0     200000      65536\n0\n1\n", result.stderr)
        XCTAssertEqual(result.status, 3)
        try assertNothingLeft("userns")
    }

    func testExecJoinsTheUserNamespaceAndTheHostSeesTheMappedUid() throws {
        try withUserNamespace(["sleep", "1000"])
        let started = try port("run", "-d", "userns2")   // outside an assertion: a persona's refusal skips
        XCTAssertEqual(started.status, 0, started.stderr)
        let pid = try state("userns2")["pid"] as? Int ?? 0
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        XCTAssertTrue(status.contains("Uid:\t200000\t200000\t200000\t200000"), status)
        XCTAssertEqual(try port("exec", "userns2", "sh", "-c", "cat /proc/self/uid_map; id -u").stdout, "         0     200000      65536\n0\n")
    }

    func testMappingsWithoutAUserNamespaceAreRefused() throws {
        try writeConfig(["true"]) { config in
            var linux = config["linux"] as! [String: Any]
            linux["uidMappings"] = [["containerID": 0, "hostID": 1000, "size": 1]]
            config["linux"] = linux
        }
        XCTAssertEqual(try port("run", "nomap").stderr, "config.json: linux.uidMappings: id mappings need a user namespace in linux.namespaces\n")
    }
}
