import Foundation
import XCTest

/// port-run inside a port-run container: the inner runtime probes, protects itself and
/// builds its container with only what the outer container gives it (its own /proc, no
/// host paths).
final class NestedContainerTests: IntegrationCase {
    static let allCapabilities = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",
        "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE", "CAP_SYS_ADMIN", "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP",
    ]

    func testPortRunRunsAContainerInsideAPortRunContainer() throws {
        let base = (stateRoot as NSString).deletingLastPathComponent
        let inner = base + "/inner"
        try FileManager.default.createDirectory(atPath: inner, withIntermediateDirectories: true)
        // The inner bundle: a copy of the busybox rootfs, seen at /inner-rootfs inside the outer
        // one (the outer one's own root would be refused: a container may not get the
        // runtime's root directory as its rootfs).
        let innerRootfs = base + "/inner-rootfs"
        XCTAssertEqual(try shell("cp -a '\(Self.work)/base/rootfs' '\(innerRootfs)'").status, 0)
        var innerConfig = config
        innerConfig["root"] = ["path": "/inner-rootfs", "readonly": true]
        var process = innerConfig["process"] as! [String: Any]
        process["args"] = ["sh", "-c", "echo inner pid $$; hostname; grep -c . /proc/self/mounts"]
        innerConfig["process"] = process
        innerConfig["mounts"] = (innerConfig["mounts"] as! [[String: Any]]).filter { $0["type"] as? String != "cgroup" }
        try JSONSerialization.data(withJSONObject: innerConfig).write(to: URL(fileURLWithPath: inner + "/config.json"))

        try writeConfig(["sh", "-c", "/port-run --root /tmp/state --cgroup-manager disabled run --bundle /inner nested; echo inner status $?"]) { config in
            var process = config["process"] as! [String: Any]
            let caps = Self.allCapabilities
            process["capabilities"] = ["bounding": caps, "effective": caps, "permitted": caps]
            config["process"] = process
            var linux = config["linux"] as! [String: Any]
            // A proc or sysfs mount inside needs an outer one with nothing mounted over it.
            linux["maskedPaths"] = []
            linux["readonlyPaths"] = []
            config["linux"] = linux
            config["mounts"] = (config["mounts"] as! [[String: Any]]) + [
                ["destination": "/port-run", "type": "bind", "source": Self.binary, "options": ["bind", "ro"]],
                ["destination": "/inner", "type": "bind", "source": inner, "options": ["bind", "ro"]],
                ["destination": "/inner-rootfs", "type": "bind", "source": innerRootfs, "options": ["rbind", "ro"]],
                ["destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]],
            ]
        }
        let result = try port("run", "outer")
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        // Without pid namespaces (GKI) the inner process is not pid 1, but it still runs.
        let expectedPid = Self.missingNamespaces.contains("pid") ? (lines.first ?? "") : "inner pid 1"
        XCTAssertTrue(lines.first?.hasPrefix("inner pid ") == true, result.stdout + result.stderr)
        XCTAssertEqual(lines.first, expectedPid, result.stdout + result.stderr)
        XCTAssertEqual(lines.dropFirst().first, "port-run", result.stdout)
        XCTAssertEqual(lines.last, "inner status 0", result.stdout + result.stderr)
        try assertNothingLeft("outer")
    }
}
