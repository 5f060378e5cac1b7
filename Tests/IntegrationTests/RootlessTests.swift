import Foundation
import XCTest

/// port-run run by a user who is not root (nobody), as rootless runc is: the spec from
/// `spec --rootless`, the user's own uid mapped to root, state in $XDG_RUNTIME_DIR, and
/// cgroups only where one is delegated to the user.
final class RootlessTests: IntegrationCase {
    let nobody = 65534
    var home: String { (stateRoot as NSString).deletingLastPathComponent + "/rootless" }

    override func setUpWithError() throws {
        try super.setUpWithError()
        // Unprivileged user namespaces may be off (a sysctl on some distributions).
        let probe = try shell("setpriv --reuid \(nobody) --regid \(nobody) --clear-groups unshare -U true")
        if probe.status != 0 { throw XCTSkip("unprivileged user namespaces are off here: \(probe.stderr)") }
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        chmod(home, 0o777)
        chmod(bundle, 0o777)
    }

    /// port-run as nobody, from the bundle; XDG_RUNTIME_DIR is the test's own directory.
    func asNobody(_ arguments: String..., before: String = "") throws -> Result {
        let command = Self.simulated(Self.binary, arguments).map { "'\($0)'" }.joined(separator: " ")
        return try shell("""
            cd '\(bundle)' && \(before) exec setpriv --reuid \(nobody) --regid \(nobody) --clear-groups \
            env XDG_RUNTIME_DIR='\(home)' '\(Self.binary)' \(command)
            """)
    }

    /// The rootless spec with the test's rootfs and command.
    func writeRootlessSpec(_ args: [String], edit: (inout [String: Any]) -> Void = { _ in }) throws {
        let made = try asNobody("spec", "--rootless")
        XCTAssertEqual(made.status, 0, made.stderr)
        var spec = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: bundle + "/config.json"))) as! [String: Any]
        var linux = spec["linux"] as! [String: Any]
        XCTAssertEqual(linux["uidMappings"] as? [[String: Int]], [["containerID": 0, "hostID": nobody, "size": 1]])
        XCTAssertNil(linux["resources"])
        // What the persona's kernel lacks goes, as in the base config; a missing user
        // namespace stays, so that its refusal is what the test meets.
        linux["namespaces"] = (linux["namespaces"] as! [[String: Any]]).filter {
            $0["type"] as? String == "user" || !Self.missingNamespaces.contains($0["type"] as! String)
        }
        spec["linux"] = linux
        spec["root"] = ["path": "\(Self.work)/base/rootfs", "readonly": true]
        var process = spec["process"] as! [String: Any]
        process["args"] = args
        process["terminal"] = false
        spec["process"] = process
        edit(&spec)
        try JSONSerialization.data(withJSONObject: spec).write(to: URL(fileURLWithPath: bundle + "/config.json"))
    }

    func rootlessState() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: home + "/port-run")) ?? []).filter { !$0.hasPrefix(".") }
    }

    func testNobodyRunsAContainerAsRootOfItsOwnUserNamespace() throws {
        try writeRootlessSpec(["sh", "-c", "id -u; cat /proc/self/uid_map; echo gone > /dev/null && echo null works"])
        let result = try asNobody("run", "mine")
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
        XCTAssertEqual(lines, ["0", "0 \(nobody) 1", "null works"])
        XCTAssertEqual(result.stderr, "")
        XCTAssertEqual(rootlessState(), [], "state left behind")
        XCTAssertEqual(try shell("find /sys/fs/cgroup -maxdepth 5 -type d -name mine").stdout, "", "a rootless run made a cgroup")
    }

    /// CVE-2023-25809: `spec --rootless` binds the host's /sys recursively and read-only; a
    /// read-only remount covers only its top, so the host's cgroup tree below it must be made
    /// read-only too, every mount of it.
    func testTheHostsCgroupTreeIsReadOnlyInARootlessContainer() throws {
        try writeRootlessSpec(["sh", "-c", "grep ' /sys/fs/cgroup' /proc/self/mounts"])
        let result = try asNobody("run", "cgroupro")
        XCTAssertEqual(result.status, 0, result.stderr)
        let mounts = result.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        XCTAssertFalse(mounts.isEmpty, "no cgroup mount in the container")
        for fields in mounts where fields.count > 3 {
            XCTAssertTrue(fields[3].hasPrefix("ro,") || fields[3] == "ro", "writable: \(fields.joined(separator: " "))")
        }
        XCTAssertEqual(rootlessState(), [])
    }

    func testLimitsWithoutADelegatedCgroupAreRefused() throws {
        try writeRootlessSpec(["true"]) { spec in
            var linux = spec["linux"] as! [String: Any]
            linux["resources"] = ["pids": ["limit": 10]]
            spec["linux"] = linux
        }
        let result = try asNobody("run", "limited")
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "config.json: linux.resources: limits need cgroups, and no cgroup is delegated to this user\n")
        XCTAssertEqual(rootlessState(), [])
    }

    /// A pids cgroup chowned to nobody, with the caller moved into it: the container's cgroup
    /// goes below it and gets the limit; the hierarchies not delegated are left alone.
    func testADelegatedCgroupCarriesTheLimit() throws {
        let delegated = "/sys/fs/cgroup/pids/port-run-delegated-\(getpid())"
        guard FileManager.default.fileExists(atPath: "/sys/fs/cgroup/pids/cgroup.procs") else { throw XCTSkip("no v1 pids hierarchy here") }
        try FileManager.default.createDirectory(atPath: delegated, withIntermediateDirectories: false)
        defer { rmdir(delegated) }
        XCTAssertEqual(try shell("chown -R \(nobody):\(nobody) '\(delegated)'").status, 0)
        try writeRootlessSpec(["sh", "-c", "cat /proc/self/cgroup | grep pids"]) { spec in
            var linux = spec["linux"] as! [String: Any]
            linux["resources"] = ["pids": ["limit": 10]]
            spec["linux"] = linux
        }
        let created = try asNobody("create", "delegated", before: "echo $$ > '\(delegated)/cgroup.procs' &&")
        XCTAssertEqual(created.status, 0, created.stderr)
        XCTAssertEqual(try String(contentsOfFile: "\(delegated)/delegated/pids.max", encoding: .utf8), "10\n")
        XCTAssertEqual(try shell("find /sys/fs/cgroup/memory /sys/fs/cgroup/cpu -maxdepth 4 -type d -name delegated").stdout, "")
        let deleted = try asNobody("delete", "--force", "delegated")
        XCTAssertEqual(deleted.status, 0, deleted.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(delegated)/delegated"), "cgroup left behind")
        XCTAssertEqual(rootlessState(), [])
    }

    func testMappingAnotherUsersIdIsRefusedWithTheReason() throws {
        try writeRootlessSpec(["true"]) { spec in
            var linux = spec["linux"] as! [String: Any]
            linux["uidMappings"] = [["containerID": 0, "hostID": 1000, "size": 1]]
            spec["linux"] = linux
        }
        let result = try asNobody("run", "other")
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "write the user namespace's id mappings: write /proc/PID/uid_map: operation not permitted (a user who is not root can map only their own uid and gid, one id each)\n"
            .replacingOccurrences(of: "PID", with: result.stderr.split(separator: "/").dropFirst(2).first.map(String.init) ?? ""))
        XCTAssertEqual(rootlessState(), [])
    }
}
