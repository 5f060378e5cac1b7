import XCTest
@testable import PortRuntime

final class RootfsBuilderTests: XCTestCase {
    func spec(mounts: String = "[]", extra: String = "") throws -> Spec {
        try Spec.decode(Array(#"{"ociVersion":"1.2.0","root":{"path":"rootfs"},"process":{"args":["sh"]},"mounts":\#(mounts)\#(extra)}"#.utf8))
    }

    func builder(_ spec: Spec, _ system: FakeMountSystem, cgroups: CgroupLayout = CgroupLayout(hierarchies: [])) -> RootfsBuilder<FakeMountSystem> {
        RootfsBuilder(spec: spec, rootfs: "/b/rootfs", bundle: "/b", system: system, cgroups: cgroups)
    }

    /// SELinux in use: filesystems without xattrs get the mount label as `context=`, quoted
    /// for its commas; proc and mqueue do not, nor does any bind.
    func testMountLabelBecomesTheContextOfTmpfsAndDevpts() throws {
        let system = FakeMountSystem()
        system.kinds["/host/data"] = .directory
        let label = "system_u:object_r:container_file_t:s0:c1,c2"
        let mounts = #"[{"destination":"/proc","type":"proc"},{"destination":"/dev","type":"tmpfs","options":["mode=755"]},"# +
            #"{"destination":"/dev/pts","type":"devpts","options":["newinstance"]},{"destination":"/dev/mqueue","type":"mqueue"},"# +
            #"{"destination":"/data","type":"bind","source":"/host/data","options":["rbind"]}]"#
        try RootfsBuilder(spec: try spec(mounts: mounts), rootfs: "/b/rootfs", bundle: "/b", system: system,
                          cgroups: CgroupLayout(hierarchies: []), mountLabel: label).mountAll()
        XCTAssertEqual(system.calls.filter { $0.hasPrefix("mount ") }, [
            "mount proc /b/rootfs/proc proc 0 -",
            "mount tmpfs /b/rootfs/dev tmpfs 0 mode=755,context=\"\(label)\"",
            "mount devpts /b/rootfs/dev/pts devpts 0 newinstance,context=\"\(label)\"",
            "mount mqueue /b/rootfs/dev/mqueue mqueue 0 -",
            "mount /host/data /b/rootfs/data bind 5000 -",
        ])
    }

    func testLabelsOfAnInactiveLSMAreDropped() throws {
        var process = try XCTUnwrap(try spec().process)
        process.apparmorProfile = "docker-default"
        process.selinuxLabel = "system_u:system_r:container_t:s0"
        // Neither LSM is active on a host without their files; such a host drops both.
        guard !LSMLabels.appArmorActive && !LSMLabels.seLinuxActive else { throw XCTSkip("an LSM is active here") }
        XCTAssertEqual(LSMLabels.plan(process: process, mountLabel: "system_u:object_r:container_file_t:s0"), LSMLabels())
    }

    func testRootIsMadeSlaveAndBoundOntoItselfFirst() throws {
        let system = FakeMountSystem()
        try builder(try spec(), system).prepareRoot()
        XCTAssertEqual(system.calls, ["mount - / - 84000 -", "mount /b/rootfs /b/rootfs bind 5000 -", "mount - /b/rootfs - 84000 -"])
    }

    func testSymlinkedDestinationStaysInsideTheRootfs() throws {
        let system = FakeMountSystem()
        system.links["/b/rootfs/evil"] = "/etc"
        system.links["/b/rootfs/up"] = "../../../etc"
        try builder(try spec(mounts: #"[{"destination":"/evil/x","type":"tmpfs","source":"tmpfs"},{"destination":"/up","type":"tmpfs"}]"#), system).mountAll()
        XCTAssertEqual(system.calls, ["mkdir /b/rootfs/etc/x", "mount tmpfs /b/rootfs/etc/x tmpfs 0 -",
                                      "mkdir /b/rootfs/etc", "mount tmpfs /b/rootfs/etc tmpfs 0 -"])
    }

    func testReadOnlyBindIsARemountAndPropagationIsSeparate() throws {
        let system = FakeMountSystem()
        system.kinds["/host/data"] = .directory
        try builder(try spec(mounts: #"[{"destination":"/data","type":"bind","source":"/host/data","options":["rbind","ro","nosuid","rprivate"]}]"#), system).mountAll()
        XCTAssertEqual(system.calls, [
            "mkdir /b/rootfs/data",
            "mount /host/data /b/rootfs/data bind 5000 -",
            "mount /host/data /b/rootfs/data bind 1023 -",
            "mount - /b/rootfs/data - 44000 -",
        ])
    }

    func testFileBindCreatesAFileAndRelativeSourceIsInTheBundle() throws {
        let system = FakeMountSystem()
        system.kinds["/b/hosts"] = .regular
        try builder(try spec(mounts: #"[{"destination":"/etc/hosts","type":"bind","source":"hosts","options":["bind"]}]"#), system).mountAll()
        XCTAssertEqual(system.calls, ["mkdir /b/rootfs/etc", "touch /b/rootfs/etc/hosts", "mount /b/hosts /b/rootfs/etc/hosts bind 1000 -"])
    }

    func testProcOnAFileIsRefused() throws {
        let system = FakeMountSystem()
        system.kinds["/b/rootfs/proc"] = .regular
        XCTAssertThrowsError(try builder(try spec(mounts: #"[{"destination":"/proc","type":"proc"}]"#), system).mountAll()) { error in
            XCTAssertEqual((error as? RuntimeError)?.message, "mounts[0] /proc: proc must be mounted on a directory, /proc is not one")
        }
    }

    func testCgroupMountOnAHybridHostBindsEachHierarchy() throws {
        let system = FakeMountSystem()
        let layout = CgroupLayout(hierarchies: [
            .init(mountPoint: "/sys/fs/cgroup/cpu,cpuacct", root: "/", controllers: ["cpu", "cpuacct"], isUnified: false, ownPath: "/x"),
            .init(mountPoint: "/sys/fs/cgroup/unified", root: "/", controllers: [], isUnified: true, ownPath: "/"),
        ])
        try builder(try spec(mounts: #"[{"destination":"/sys/fs/cgroup","type":"cgroup","options":["nosuid","ro"]}]"#), system, cgroups: layout).mountAll()
        XCTAssertEqual(system.calls, [
            "mkdir /b/rootfs/sys/fs/cgroup",
            "mount tmpfs /b/rootfs/sys/fs/cgroup tmpfs 2 mode=755",
            "mkdir /b/rootfs/sys/fs/cgroup/cpu,cpuacct",
            "mount /sys/fs/cgroup/cpu,cpuacct/x /b/rootfs/sys/fs/cgroup/cpu,cpuacct bind 5000 -",
            "mount /sys/fs/cgroup/cpu,cpuacct/x /b/rootfs/sys/fs/cgroup/cpu,cpuacct bind 1023 -",
            "symlink /b/rootfs/sys/fs/cgroup/cpu -> cpu,cpuacct",
            "symlink /b/rootfs/sys/fs/cgroup/cpuacct -> cpu,cpuacct",
            "mkdir /b/rootfs/sys/fs/cgroup/unified",
            "mount /sys/fs/cgroup/unified /b/rootfs/sys/fs/cgroup/unified bind 5000 -",
            "mount /sys/fs/cgroup/unified /b/rootfs/sys/fs/cgroup/unified bind 1023 -",
            "mount tmpfs /b/rootfs/sys/fs/cgroup tmpfs 23 mode=755",
        ])
    }

    func testDefaultDevicesAndSpecDevices() throws {
        let system = FakeMountSystem()
        try builder(try spec(extra: #","linux":{"devices":[{"type":"c","path":"/dev/fuse","major":10,"minor":229,"fileMode":432,"uid":5,"gid":6}]}"#), system).createDevices()
        XCTAssertEqual(system.calls, [
            "mkdir /b/rootfs/dev",
            "mknod /b/rootfs/dev/null c 666 1:3", "mknod /b/rootfs/dev/zero c 666 1:5", "mknod /b/rootfs/dev/full c 666 1:7",
            "mknod /b/rootfs/dev/random c 666 1:8", "mknod /b/rootfs/dev/urandom c 666 1:9", "mknod /b/rootfs/dev/tty c 666 5:0",
            "mknod /b/rootfs/dev/fuse c 660 10:229", "chown /b/rootfs/dev/fuse 5:6",
        ])
    }

    func testDevicesAreBoundWhenMknodIsNotAllowed() throws {
        let system = FakeMountSystem()
        system.failMknod = true
        try builder(try spec(), system).createDevices()
        XCTAssertEqual(Array(system.calls.prefix(3)), ["mkdir /b/rootfs/dev", "touch /b/rootfs/dev/null", "mount /dev/null /b/rootfs/dev/null bind 1000 -"])
    }

    func testHostDevBindMeansNoDeviceNodes() throws {
        let system = FakeMountSystem()
        let withDev = try spec(mounts: #"[{"destination":"/dev","type":"bind","source":"/dev","options":["rbind"]}]"#)
        try builder(withDev, system).createDevices()
        try builder(withDev, system).createDevSymlinks()
        XCTAssertEqual(system.calls, [])
    }

    func testPivotFailureFallsBackToMoveAndChroot() throws {
        let system = FakeMountSystem()
        system.failPivot = true
        try builder(try spec(), system).switchRoot(noPivot: false)
        XCTAssertEqual(system.calls, ["move_root /b/rootfs"])
        let second = FakeMountSystem()
        try builder(try spec(), second).switchRoot(noPivot: false)
        XCTAssertEqual(second.calls, ["pivot_root /b/rootfs"])
    }

    func testInsideAChrootOnlyChrootIsLeft() throws {
        let system = FakeMountSystem()
        system.failPivot = true
        system.failMove = true
        try builder(try spec(), system).switchRoot(noPivot: false)
        XCTAssertEqual(system.calls, ["chroot /b/rootfs"])
    }

    func testFinalizeMasksReadOnlyPathsAndRoot() throws {
        let system = FakeMountSystem()
        system.kinds["/proc/sys"] = .directory
        system.kinds["/proc/kcore"] = .regular
        system.kinds["/proc/acpi"] = .directory
        let spec = try spec(extra: #","linux":{"readonlyPaths":["/proc/sys","/missing"],"maskedPaths":["/proc/kcore","/proc/acpi","/nope"]}"#)
        var readOnly = spec
        readOnly.root.readonly = true
        try builder(readOnly, system).finalize()
        XCTAssertEqual(system.calls, [
            "mount /proc/sys /proc/sys bind 5000 -", "mount /proc/sys /proc/sys bind 5021 -",
            "mount /dev/null /proc/kcore bind 1000 -", "mount tmpfs /proc/acpi tmpfs 1 -",
            "mount / / bind 1021 -",
        ])
    }
}

final class TmpfsAndDeviceTests: XCTestCase {
    func spec(_ json: String) throws -> Spec {
        try Spec.decode(Array(#"{"ociVersion":"1.2.0","root":{"path":"rootfs"},"process":{"args":["sh"]},\#(json)}"#.utf8))
    }

    func testTmpfsOverADirectoryKeepsItsModeAndCopyUpCopies() throws {
        let system = FakeMountSystem()
        system.modes["/b/rootfs/tmp"] = 0o1777
        let spec = try spec(#""mounts":[{"destination":"/tmp","type":"tmpfs","source":"tmpfs","options":["nosuid","tmpcopyup","size=1m"]}]"#)
        try RootfsBuilder(spec: spec, rootfs: "/b/rootfs", bundle: "/b", system: system, cgroups: CgroupLayout(hierarchies: [])).mountAll()
        XCTAssertEqual(system.calls, ["mkdir /b/rootfs/tmp", "open /b/rootfs/tmp", "mount tmpfs /b/rootfs/tmp tmpfs 2 size=1m",
                                      "copy 42 /b/rootfs/tmp", "chmod /b/rootfs/tmp 1777", "close 42"])
    }

    func testNestedDeviceGetsItsDirectories() throws {
        let system = FakeMountSystem()
        let spec = try spec(#""linux":{"devices":[{"type":"c","path":"/dev/cpu/0/cpuid","major":203,"minor":0}]}"#)
        try RootfsBuilder(spec: spec, rootfs: "/b/rootfs", bundle: "/b", system: system, cgroups: CgroupLayout(hierarchies: [])).createDevices()
        XCTAssertEqual(Array(system.calls.suffix(2)), ["mkdir /b/rootfs/dev/cpu/0", "mknod /b/rootfs/dev/cpu/0/cpuid c 666 203:0"])
    }
}
