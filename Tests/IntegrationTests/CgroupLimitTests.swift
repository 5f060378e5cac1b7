import Foundation
import XCTest

/// The limits beyond memory, cpu, pids and blkio: hugepages, realtime, network, rdma,
/// `unified` files, and device rules enforced by a BPF program on cgroup v2.
final class CgroupLimitTests: IntegrationCase {
    var parent: String { "/port-run-limit-\(getpid())" }

    override func tearDownWithError() throws {
        try super.tearDownWithError()
        removeCgroupParent(parent)
    }

    func limited(_ args: [String], id: String, cgroupsPath: String? = nil, resources: [String: Any],
                 edit: (inout [String: Any]) -> Void = { _ in }) throws {
        try writeConfig(args) { config in
            var linux = config["linux"] as! [String: Any]
            linux["cgroupsPath"] = cgroupsPath ?? "\(self.parent)/\(id)"
            linux["resources"] = resources
            config["linux"] = linux
            edit(&config)
        }
    }

    func read(_ path: String) -> String {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "<missing>").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// This host has hugetlb only on its v2 tree, where no ancestor enables it: the runtime
    /// turns it on down the path, then writes the limit and its reservation twin.
    func testHugepageLimitTurnsOnTheV2ControllerAndLands() throws {
        let v2Offers = read("/sys/fs/cgroup/unified/cgroup.controllers").split(separator: " ").contains("hugetlb")
        guard v2Offers || FileManager.default.fileExists(atPath: "/sys/fs/cgroup/hugetlb") else {
            throw XCTSkip("this host has no hugetlb controller")
        }
        try limited(["sleep", "1000"], id: "huge", resources: ["hugepageLimits": [["pageSize": "2MB", "limit": 4_194_304]]])
        let result = try port("run", "-d", "huge")
        if Self.unifiedHidden && v2Offers {
            // The persona's host shows v1 only, and v1 has no hugetlb here: refused by name.
            XCTAssertEqual(result.status, 1)
            XCTAssertEqual(result.stderr.split(separator: "\n").last, "linux.resources.hugepageLimits: no cgroup controller on this host has hugetlb.2MB.limit_in_bytes or hugetlb.2MB.max")
            return try assertNothingLeft("huge")
        }
        XCTAssertEqual(result.status, 0, result.stderr)
        let directory = v2Offers ? "/sys/fs/cgroup/unified\(parent)/huge" : "/sys/fs/cgroup/hugetlb\(parent)/huge"
        let file = v2Offers ? "hugetlb.2MB.max" : "hugetlb.2MB.limit_in_bytes"
        XCTAssertEqual(read("\(directory)/\(file)"), "4194304")
        if v2Offers, FileManager.default.fileExists(atPath: "\(directory)/hugetlb.2MB.rsvd.max") {
            XCTAssertEqual(read("\(directory)/hugetlb.2MB.rsvd.max"), "4194304")
        }
        XCTAssertEqual(try port("delete", "--force", "huge").status, 0)
        try assertNothingLeft("huge")
    }

    func testBadPageSizeIsRefusedBeforeAnythingIsMade() throws {
        try limited(["true"], id: "badsize", resources: ["hugepageLimits": [["pageSize": "../2MB", "limit": 1]]])
        let result = try port("run", "badsize")
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "config.json: linux.resources.hugepageLimits[0].pageSize: \"../2MB\" is no page size (like \"2MB\" or \"1GB\")\n")
        try assertNothingLeft("badsize")
    }

    /// `unified` files are written as given; one this host's v2 tree lacks (pids is bound to
    /// v1 here) is named, and the container is not made.
    func testUnifiedFilesAreWrittenAndAMissingOneIsNamed() throws {
        guard FileManager.default.fileExists(atPath: "/sys/fs/cgroup/unified/cgroup.procs") else {
            throw XCTSkip("this host has no cgroup2 mount at /sys/fs/cgroup/unified")
        }
        try limited(["sleep", "1000"], id: "files", resources: ["unified": ["cgroup.max.descendants": "5"]])
        let result = try port("run", "-d", "files")
        if Self.unifiedHidden {
            XCTAssertEqual(result.status, 1)
            XCTAssertEqual(result.stderr.split(separator: "\n").last, "linux.resources.unified: this host has no cgroup v2 hierarchy")
            return try assertNothingLeft("files")
        }
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(read("/sys/fs/cgroup/unified\(parent)/files/cgroup.max.descendants"), "5")
        XCTAssertEqual(try port("delete", "--force", "files").status, 0)

        // cgroup.procs would pull any host process into the container's cgroup.
        try limited(["true"], id: "procs", resources: ["unified": ["cgroup.procs": "1"]])
        let intrusive = try port("run", "procs")
        XCTAssertEqual(intrusive.status, 1)
        XCTAssertEqual(intrusive.stderr, "config.json: linux.resources.unified: \"cgroup.procs\" is not a limit: only a controller's files and cgroup.max.* may be set\n")
        try assertNothingLeft("procs")

        try limited(["true"], id: "nopids", resources: ["unified": ["pids.max": "10"]])
        let refused = try port("run", "nopids")
        XCTAssertEqual(refused.status, 1)
        XCTAssertEqual(refused.stderr.split(separator: "\n").last, "linux.resources.unified.pids.max: no such file in the container's cgroup v2 directory")
        try assertNothingLeft("nopids")
    }

    /// cpu.rt_* (CONFIG_RT_GROUP_SCHED): set at create, changed by update's runc flags. The
    /// cgroup sits right below the root, which holds the realtime budget a child draws on.
    func testRealtimeLimitsAreWrittenAndUpdated() throws {
        let cpu = "/sys/fs/cgroup/cpu"
        guard FileManager.default.fileExists(atPath: "\(cpu)/cpu.rt_runtime_us") else {
            throw XCTSkip("this kernel has no realtime group scheduling (CONFIG_RT_GROUP_SCHED)")
        }
        let path = "/port-run-rt-\(getpid())"
        try limited(["sleep", "1000"], id: "rt", cgroupsPath: path,
                    resources: ["cpu": ["realtimePeriod": 1_000_000, "realtimeRuntime": 10000]])
        let result = try port("run", "-d", "rt")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(read("\(cpu)\(path)/cpu.rt_period_us"), "1000000")
        XCTAssertEqual(read("\(cpu)\(path)/cpu.rt_runtime_us"), "10000")
        let updated = try port("update", "--cpu-rt-runtime", "20000", "rt")
        XCTAssertEqual(updated.status, 0, updated.stderr)
        XCTAssertEqual(read("\(cpu)\(path)/cpu.rt_runtime_us"), "20000")
        // A period below the current runtime is refused by the kernel until the runtime shrinks.
        let shrunk = try port("update", "--cpu-rt-period", "15000", "--cpu-rt-runtime", "5000", "rt")
        XCTAssertEqual(shrunk.status, 0, shrunk.stderr)
        XCTAssertEqual([read("\(cpu)\(path)/cpu.rt_period_us"), read("\(cpu)\(path)/cpu.rt_runtime_us")], ["15000", "5000"])
        XCTAssertEqual(try port("delete", "--force", "rt").status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(cpu)\(path)"), "cgroup left behind")
    }

    /// No rdma controller here: the limit is refused by name, and nothing is left.
    func testRdmaLimitWithoutAControllerIsRefusedByName() throws {
        guard !read("/proc/cgroups").contains("rdma") else { throw XCTSkip("this host has an rdma controller") }
        try limited(["true"], id: "rdma", resources: ["rdma": ["mlx5_0": ["hcaHandles": 3, "hcaObjects": 1000]]])
        let result = try port("run", "rdma")
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr.split(separator: "\n").last, "linux.resources.rdma: no cgroup controller on this host has rdma.max")
        try assertNothingLeft("rdma")
    }

    /// net_cls and net_prio are unmounted here: a v1 hierarchy of them is mounted in a private
    /// mount namespace, where the runtime finds it in mountinfo like any other.
    func testNetworkClassAndPrioritiesOnAV1NetClsMount() throws {
        let controllers = read("/proc/cgroups")
        guard controllers.contains("net_cls"), controllers.contains("net_prio") else {
            throw XCTSkip("this kernel has no net_cls or net_prio controller")
        }
        guard !read("/proc/self/mountinfo").contains("net_cls") else { throw XCTSkip("net_cls is mounted on this host already") }
        try limited(["sleep", "1000"], id: "net", resources: ["network": ["classID": 1_048_577, "priorities": [["name": "lo", "priority": 5]]]])
        let mountPoint = "\(Self.work)/net_cls-\(getpid())"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        defer { rmdir(mountPoint) }
        let port = Self.simulated(Self.binary, ["--root", stateRoot]).map { "'\($0)'" }.joined(separator: " ")
        let binary = "'\(Self.binary)'"
        let directory = "\(mountPoint)\(parent)/net"
        let result = try shell("""
            cd '\(bundle)' && unshare -m --propagation private sh -c "mount -t cgroup -o net_cls,net_prio none '\(mountPoint)' && \
            \(binary) \(port) create net && cat '\(directory)/net_cls.classid' && grep '^lo ' '\(directory)/net_prio.ifpriomap'; \
            \(binary) \(port) delete --force net; rmdir '\(mountPoint)\(parent)'; umount '\(mountPoint)'"
            """)
        XCTAssertEqual(result.stdout, "1048577\nlo 5\n", result.stderr)
        try assertNothingLeft("net")
    }

    /// With the v1 devices hierarchy hidden, the rules are enforced on v2 by a BPF program:
    /// a node the rules do not allow cannot be opened (EPERM, before the driver says ENXIO),
    /// while /dev/null, which every container gets, still works.
    func testDeviceRulesAreEnforcedByBPFOnTheV2Tree() throws {
        guard FileManager.default.fileExists(atPath: "/sys/fs/cgroup/unified/cgroup.procs"),
              FileManager.default.fileExists(atPath: "/sys/fs/cgroup/devices/devices.allow") else {
            throw XCTSkip("needs a v1 devices hierarchy to hide and a cgroup2 mount")
        }
        if Self.unifiedHidden { throw XCTSkip("\(Self.persona!) shows no v2 tree") }
        let script = "mknod /tmp/unknown c 240 0; cat /tmp/unknown; mknod /tmp/null c 1 3; echo through > /tmp/null && echo null works"
        var outputs: [String] = []
        for (id, rules) in [("denied", [["allow": false, "access": "rwm"]]), ("allowed", [["allow": true, "access": "rwm"]])] {
            try limited(["sh", "-c", script], id: id, resources: ["devices": rules]) { config in
                config["root"] = ["path": "\(Self.work)/base/rootfs", "readonly": true]
                var process = config["process"] as! [String: Any]
                var capabilities = process["capabilities"] as! [String: Any]
                for set in ["bounding", "effective", "permitted"] {
                    capabilities[set] = (capabilities[set] as? [String] ?? []) + ["CAP_MKNOD"]
                }
                process["capabilities"] = capabilities
                config["process"] = process
                var mounts = config["mounts"] as! [[String: Any]]
                mounts.append(["destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid"]])
                config["mounts"] = mounts
            }
            let inner = Self.simulated(Self.binary, ["--root", stateRoot, "run", id]).map { "'\($0)'" }.joined(separator: " ")
            let result = try shell("cd '\(bundle)' && unshare -m --propagation private sh -c \"umount -l /sys/fs/cgroup/devices && '\(Self.binary)' \(inner)\" 2>&1")
            outputs.append(result.stdout)
            try assertNothingLeft(id)
        }
        XCTAssertEqual(outputs[0], "cat: can't open '/tmp/unknown': Operation not permitted\nnull works\n")
        XCTAssertEqual(outputs[1], "cat: can't open '/tmp/unknown': No such device or address\nnull works\n")
    }
}
