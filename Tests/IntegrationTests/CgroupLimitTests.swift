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

    var cgroups: HostCgroups { HostCgroups.current }

    /// Where the v2 tree offers hugetlb (this host's hybrid one, where no ancestor enables
    /// it), the runtime turns it on down the path, then writes the limit and its reservation
    /// twin; on v1 it writes limit_in_bytes.
    func testHugepageLimitTurnsOnTheV2ControllerAndLands() throws {
        try limited(["sleep", "1000"], id: "huge", resources: ["hugepageLimits": [["pageSize": "2MB", "limit": 4_194_304]]])
        try requireControllers(["hugetlb"], refusing: "huge")
        let result = try port("run", "-d", "huge")
        XCTAssertEqual(result.status, 0, result.stderr)
        let file = try XCTUnwrap(cgroups.file(of: "hugetlb", "\(parent)/huge", v1: "hugetlb.2MB.limit_in_bytes", v2: "hugetlb.2MB.max"))
        XCTAssertEqual(read(file.host), "4194304")
        let reservation = (file.host as NSString).deletingLastPathComponent + "/hugetlb.2MB.rsvd.max"
        if file.isV2, FileManager.default.fileExists(atPath: reservation) {
            XCTAssertEqual(read(reservation), "4194304")
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

    /// `unified` files are written as given; one the host's v2 tree lacks (pids.max where pids
    /// is bound to v1, as on a hybrid host) is named, and the container is not made.
    func testUnifiedFilesAreWrittenAndAMissingOneIsNamed() throws {
        try limited(["sleep", "1000"], id: "files", resources: ["unified": ["cgroup.max.descendants": "5"]])
        let result = try port("run", "-d", "files")
        guard let v2 = cgroups.hierarchies.first(where: \.isV2) else {
            XCTAssertEqual(result.status, 1)
            let refusal = cgroups.hierarchies.isEmpty ? HostCgroups.noHierarchyRefusal : "linux.resources.unified: this host has no cgroup v2 hierarchy"
            XCTAssertEqual(result.stderr.split(separator: "\n").last.map(String.init), refusal)
            return try assertNothingLeft("files")
        }
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(read("\(v2.mountPoint)\(parent)/files/cgroup.max.descendants"), "5")
        XCTAssertEqual(try port("delete", "--force", "files").status, 0)

        // cgroup.procs would pull any host process into the container's cgroup.
        try limited(["true"], id: "procs", resources: ["unified": ["cgroup.procs": "1"]])
        let intrusive = try port("run", "procs")
        XCTAssertEqual(intrusive.status, 1)
        XCTAssertEqual(intrusive.stderr, "config.json: linux.resources.unified: \"cgroup.procs\" is not a limit: only a controller's files and cgroup.max.* may be set\n")
        try assertNothingLeft("procs")

        let absent = cgroups.hierarchy(of: "pids")?.isV2 == true ? "pids.absent" : "pids.max"
        try limited(["true"], id: "nopids", resources: ["unified": [absent: "10"]])
        let refused = try port("run", "nopids")
        XCTAssertEqual(refused.status, 1)
        XCTAssertEqual(refused.stderr.split(separator: "\n").last, "linux.resources.unified.\(absent): no such file in the container's cgroup v2 directory")
        try assertNothingLeft("nopids")
    }

    /// cpu.rt_* (CONFIG_RT_GROUP_SCHED): set at create, changed by update's runc flags. The
    /// cgroup sits right below the root, which holds the realtime budget a child draws on.
    func testRealtimeLimitsAreWrittenAndUpdated() throws {
        guard let cpu = cgroups.hierarchy(of: "cpu")?.mountPoint, FileManager.default.fileExists(atPath: "\(cpu)/cpu.rt_runtime_us") else {
            throw XCTSkip("no v1 cpu hierarchy with realtime group scheduling (CONFIG_RT_GROUP_SCHED) here")
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
        guard !read("/proc/cgroups").contains("rdma") else { throw XCTSkip("this kernel has an rdma controller, and the machine no rdma device to limit") }
        try limited(["true"], id: "rdma", resources: ["rdma": ["mlx5_0": ["hcaHandles": 3, "hcaObjects": 1000]]])
        let result = try port("run", "rdma")
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr.split(separator: "\n").last, "linux.resources.rdma: no cgroup controller on this host has rdma.max")
        try assertNothingLeft("rdma")
    }

    /// net_cls and net_prio where the host mounts them; where it does not (this host), a v1
    /// hierarchy of both is mounted in a private mount namespace, where the runtime finds it in
    /// mountinfo like any other.
    func testNetworkClassAndPrioritiesOnAV1NetClsMount() throws {
        let controllers = read("/proc/cgroups")
        guard controllers.contains("net_cls"), controllers.contains("net_prio") else {
            throw XCTSkip("this kernel has no net_cls or net_prio controller")
        }
        try limited(["sleep", "1000"], id: "net", resources: ["network": ["classID": 1_048_577, "priorities": [["name": "lo", "priority": 5]]]])
        let port = Self.simulated(Self.binary, ["--root", stateRoot]).map { "'\($0)'" }.joined(separator: " ")
        let binary = "'\(Self.binary)'"
        if let classes = cgroups.hierarchy(of: "net_cls")?.mountPoint, let priorities = cgroups.hierarchy(of: "net_prio")?.mountPoint {
            let result = try shell("""
                cd '\(bundle)' && \(binary) \(port) create net && cat '\(classes)\(parent)/net/net_cls.classid' && \
                grep '^lo ' '\(priorities)\(parent)/net/net_prio.ifpriomap'; \(binary) \(port) delete --force net
                """)
            XCTAssertEqual(result.stdout, "1048577\nlo 5\n", result.stderr)
            return try assertNothingLeft("net")
        }
        let mountPoint = "\(Self.work)/net_cls-\(getpid())"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        defer { rmdir(mountPoint) }
        let directory = "\(mountPoint)\(parent)/net"
        let result = try shell("""
            cd '\(bundle)' && unshare -m --propagation private sh -c "mount -t cgroup -o net_cls,net_prio none '\(mountPoint)' && \
            \(binary) \(port) create net && cat '\(directory)/net_cls.classid' && grep '^lo ' '\(directory)/net_prio.ifpriomap'; \
            \(binary) \(port) delete --force net; rmdir '\(mountPoint)\(parent)'; umount '\(mountPoint)'"
            """)
        XCTAssertEqual(result.stdout, "1048577\nlo 5\n", result.stderr)
        try assertNothingLeft("net")
    }

    /// Without a v1 devices hierarchy (none on a pure v2 or Android host; hidden where there is
    /// one), the rules are enforced on v2 by a BPF program: a node the rules do not allow cannot
    /// be opened (EPERM, before the driver says ENXIO), while /dev/null, which every container
    /// gets, still works.
    func testDeviceRulesAreEnforcedByBPFOnTheV2Tree() throws {
        guard cgroups.hierarchies.contains(where: \.isV2) else {
            throw XCTSkip(Self.unifiedHidden ? "\(Self.persona!) shows no v2 tree" : "this host mounts no cgroup v2 tree")
        }
        let devices = cgroups.hierarchy(of: "devices")?.mountPoint
        let hide = devices.map { "umount -l '\($0)' && " } ?? ""
        let script = "mknod /tmp/unknown c 240 0; cat /tmp/unknown; mknod /tmp/null c 1 3; echo through > /tmp/null && echo null works"
        var outputs: [String] = []
        for (id, rules) in [("denied", [["allow": false, "access": "rwm"]]), ("allowed", [["allow": true, "access": "rwm"]])] {
            try limited(["sh", "-c", script], id: id, resources: ["devices": rules]) { config in
                config["root"] = ["path": "\(Self.work)/base/rootfs", "readonly": true]
                Self.grant("CAP_MKNOD", in: &config)
                var mounts = config["mounts"] as! [[String: Any]]
                mounts.append(["destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid"]])
                config["mounts"] = mounts
            }
            let inner = Self.simulated(Self.binary, ["--root", stateRoot, "run", id]).map { "'\($0)'" }.joined(separator: " ")
            let result = try shell("cd '\(bundle)' && unshare -m --propagation private sh -c \"\(hide)'\(Self.binary)' \(inner)\" 2>&1")
            outputs.append(result.stdout)
            try assertNothingLeft(id)
        }
        XCTAssertEqual(outputs[0], "cat: can't open '/tmp/unknown': Operation not permitted\nnull works\n")
        XCTAssertEqual(outputs[1], "cat: can't open '/tmp/unknown': No such device or address\nnull works\n")
    }
}
