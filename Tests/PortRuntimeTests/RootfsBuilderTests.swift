import Foundation
import XCTest
@testable import PortRuntime

/// A temporary bundle whose rootfs the builder really resolves and fills; only the mounts,
/// device nodes and root switches are recorded.
class TemporaryRootfsCase: XCTestCase {
    var bundle = ""
    var rootfs: String { bundle + "/rootfs" }

    override func setUpWithError() throws {
        bundle = try Files.realPath(NSTemporaryDirectory()) + "/rootfs-test-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: rootfs, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: bundle)
    }

    func spec(mounts: String = "[]", extra: String = "") throws -> Spec {
        try Spec.decode(Array(#"{"ociVersion":"1.2.0","root":{"path":"rootfs"},"process":{"args":["sh"]},"mounts":\#(mounts)\#(extra)}"#.utf8))
    }

    func builder(_ spec: Spec, _ system: FakeMountSystem, cgroups: CgroupLayout = CgroupLayout(hierarchies: []), mountLabel: String? = nil,
                 walk: Bool = false, rootless: Bool = false) -> RootfsBuilder<FakeMountSystem> {
        var strategy = Strategy(fdClosing: .procWalk)
        strategy.inRootResolution = !walk
        return RootfsBuilder(spec: spec, rootfs: rootfs, bundle: bundle, system: system, cgroups: cgroups, mountLabel: mountLabel,
                             strategy: strategy, rootless: rootless)
    }

    func root(walk: Bool = false) throws -> RootDirectory { try RootDirectory.open(rootfs, kernelResolves: !walk) }

    func makeDirectory(_ path: String, mode: Int = 0o755) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: mode])
    }

    func kind(_ path: String) -> FileAttributeType? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.type] as? FileAttributeType
    }

    func mountCalls(_ system: FakeMountSystem) -> [String] { system.calls.filter { $0.hasPrefix("mount ") } }
}

final class RootfsBuilderTests: TemporaryRootfsCase {
    /// SELinux in use: filesystems without xattrs get the mount label as `context=`, quoted
    /// for its commas; proc and mqueue do not, nor does any bind.
    func testMountLabelBecomesTheContextOfTmpfsAndDevpts() throws {
        let system = FakeMountSystem()
        try makeDirectory(bundle + "/host/data")
        let label = "system_u:object_r:container_file_t:s0:c1,c2"
        let mounts = #"[{"destination":"/proc","type":"proc"},{"destination":"/dev","type":"tmpfs","options":["mode=755"]},"# +
            #"{"destination":"/dev/pts","type":"devpts","options":["newinstance"]},{"destination":"/dev/mqueue","type":"mqueue"},"# +
            #"{"destination":"/data","type":"bind","source":"\#(bundle)/host/data","options":["rbind"]}]"#
        try builder(try spec(mounts: mounts), system, mountLabel: label).mountAll(in: try root())
        XCTAssertEqual(mountCalls(system), [
            "mount proc /proc proc 0 -",
            "mount tmpfs /dev tmpfs 0 mode=755,context=\"\(label)\"",
            "mount devpts /dev/pts devpts 0 newinstance,context=\"\(label)\"",
            "mount mqueue /dev/mqueue mqueue 0 -",
            "mount \(bundle)/host/data /data bind 5000 -",
        ])
    }

    /// A label asked for where its LSM is off is refused by name, not dropped.
    func testLabelsOfAnInactiveLSMAreRefused() throws {
        guard !LSMLabels.appArmorActive && !LSMLabels.seLinuxActive else { throw XCTSkip("an LSM is active here") }
        var process = try XCTUnwrap(try spec().process)
        process.apparmorProfile = "docker-default"
        XCTAssertThrowsError(try LSMLabels.plan(process: process, mountLabel: nil)) { error in
            XCTAssertEqual((error as? RuntimeError)?.message,
                           "config.json: process.apparmorProfile: \"docker-default\" asked for, but AppArmor is not enabled on this host")
        }
        process.apparmorProfile = nil
        process.selinuxLabel = "system_u:system_r:container_t:s0"
        XCTAssertThrowsError(try LSMLabels.plan(process: process, mountLabel: nil))
        process.selinuxLabel = nil
        XCTAssertThrowsError(try LSMLabels.plan(process: process, mountLabel: "system_u:object_r:container_file_t:s0"))
        XCTAssertEqual(try LSMLabels.plan(process: process, mountLabel: nil), LSMLabels())
    }

    /// "/" becomes rslave; the mount holding the rootfs (found by walking up) private; then
    /// the rootfs is bound onto itself.
    func testRootIsMadeSlaveAndBoundOntoItselfFirst() throws {
        let system = FakeMountSystem()
        system.mountPoints = ["/", bundle]
        let root = try builder(try spec(), system).prepareRoot()
        XCTAssertEqual(system.calls, ["mount - / - 84000 -", "mount - \(bundle) - 40000 -", "mount / / bind 5000 -"])
        XCTAssertEqual(root.hostPath, rootfs)
        try builder(try spec(), system).finalize()
        XCTAssertEqual(system.calls.count, 3, "nothing to do after pivot_root")
    }

    /// rshared keeps "/" shared (so binds of shared host mounts stay in the host's peer
    /// groups) and the root becomes shared after pivot_root; unbindable is applied only then,
    /// "/" being private for the binds before; rslave makes the rootfs's mount a slave.
    func testRootfsPropagationAsRuncApplies() throws {
        for (mode, first, parent, after) in [("rshared", "104000", "40000", "104000"), ("unbindable", "40000", "40000", "20000"),
                                              ("runbindable", "44000", "40000", "24000"), ("rslave", "84000", "80000", nil)] {
            let system = FakeMountSystem()
            system.mountPoints = ["/", rootfs]
            let spec = try spec(extra: #","linux":{"rootfsPropagation":"\#(mode)"}"#)
            _ = try builder(spec, system).prepareRoot()
            try builder(spec, system).finalize()
            XCTAssertEqual(system.calls, ["mount - / - \(first) -", "mount - \(rootfs) - \(parent) -", "mount / / bind 5000 -"]
                + (after.map { ["mount - / - \($0) -"] } ?? []), mode)
        }
    }

    /// Both ways of resolving (openat2 and the walk) keep every symlink inside the rootfs.
    func testSymlinkedDestinationStaysInsideTheRootfs() throws {
        for walk in [false, true] {
            try? FileManager.default.removeItem(atPath: rootfs)
            try makeDirectory(rootfs)
            let system = FakeMountSystem()
            try FileManager.default.createSymbolicLink(atPath: rootfs + "/evil", withDestinationPath: "/etc")
            try FileManager.default.createSymbolicLink(atPath: rootfs + "/up", withDestinationPath: "../../../etc")
            let mounts = #"[{"destination":"/evil/x","type":"tmpfs","source":"tmpfs"},{"destination":"/up","type":"tmpfs"}]"#
            try builder(try spec(mounts: mounts), system, walk: walk).mountAll(in: try root(walk: walk))
            // The second tmpfs covers a directory that now exists: it takes that one's mode.
            XCTAssertEqual(system.calls, ["mount tmpfs /etc/x tmpfs 0 -", "mount tmpfs /etc tmpfs 0 mode=755"], "walk: \(walk)")
            XCTAssertEqual(kind(rootfs + "/etc/x"), .typeDirectory)
        }
    }

    func testReadOnlyBindIsARemountAndPropagationIsSeparate() throws {
        let system = FakeMountSystem()
        try makeDirectory(bundle + "/host/data")
        let mounts = #"[{"destination":"/data","type":"bind","source":"\#(bundle)/host/data","options":["rbind","ro","nosuid","rprivate"]}]"#
        try builder(try spec(mounts: mounts), system).mountAll(in: try root())
        XCTAssertEqual(system.calls, [
            "mount \(bundle)/host/data /data bind 5000 -",
            "mount - /data bind 1023 -",
            "mount - /data - 44000 -",
        ])
        XCTAssertEqual(kind(rootfs + "/data"), .typeDirectory)
    }

    func testFileBindCreatesAFileAndRelativeSourceIsInTheBundle() throws {
        let system = FakeMountSystem()
        FileManager.default.createFile(atPath: bundle + "/hosts", contents: Data())
        try builder(try spec(mounts: #"[{"destination":"/etc/hosts","type":"bind","source":"hosts","options":["bind"]}]"#), system)
            .mountAll(in: try root())
        XCTAssertEqual(system.calls, ["mount \(bundle)/hosts /etc/hosts bind 1000 -"])
        XCTAssertEqual(kind(rootfs + "/etc/hosts"), .typeRegular)
    }

    /// A bind through a dangling symlink creates the target inside the rootfs, never on the host.
    func testBindOntoADanglingSymlinkCreatesItsTargetInsideTheRootfs() throws {
        let system = FakeMountSystem()
        try makeDirectory(bundle + "/host/data")
        let outside = "/port-run-unit-\(getpid())"
        try FileManager.default.createSymbolicLink(atPath: rootfs + "/link", withDestinationPath: outside + "/inner")
        try builder(try spec(mounts: #"[{"destination":"/link","type":"bind","source":"\#(bundle)/host/data","options":["bind"]}]"#), system)
            .mountAll(in: try root(walk: true))
        XCTAssertEqual(system.calls, ["mount \(bundle)/host/data \(outside)/inner bind 1000 -"])
        XCTAssertEqual(kind(rootfs + outside + "/inner"), .typeDirectory)
        XCTAssertNil(kind(outside), "made on the host")
    }

    func testProcOnAFileIsRefused() throws {
        FileManager.default.createFile(atPath: rootfs + "/proc", contents: Data())
        XCTAssertThrowsError(try builder(try spec(mounts: #"[{"destination":"/proc","type":"proc"}]"#), FakeMountSystem()).mountAll(in: try root())) { error in
            XCTAssertEqual((error as? RuntimeError)?.message, "mounts[0] /proc: proc must be mounted on a directory, /proc is not one")
        }
    }

    /// CVE-2019-19921: a symlinked /proc would send masked and read-only paths to a decoy.
    func testProcOrSysThroughASymlinkIsRefused() throws {
        try makeDirectory(rootfs + "/decoy")
        try FileManager.default.createSymbolicLink(atPath: rootfs + "/proc", withDestinationPath: "/decoy")
        try FileManager.default.createSymbolicLink(atPath: rootfs + "/sys", withDestinationPath: "decoy")
        for walk in [false, true] {
            let system = FakeMountSystem()
            XCTAssertThrowsError(try builder(try spec(mounts: #"[{"destination":"/proc","type":"proc"}]"#), system, walk: walk).mountAll(in: try root(walk: walk))) { error in
                XCTAssertEqual((error as? RuntimeError)?.message,
                               "mounts[0] /proc: proc must be mounted on a real directory: /proc is a symbolic link in the rootfs", "walk: \(walk)")
            }
            XCTAssertThrowsError(try builder(try spec(mounts: #"[{"destination":"/sys/kernel","type":"sysfs"}]"#), system, walk: walk).mountAll(in: try root(walk: walk)))
            XCTAssertEqual(system.calls, [])
        }
    }

    /// runc's rule: below /proc only the files lxcfs emulates; on /proc only a procfs.
    func testMountsInsideProcAreRefusedButLxcfsFiles() throws {
        let system = FakeMountSystem()
        try makeDirectory(rootfs + "/proc/sys/kernel")
        FileManager.default.createFile(atPath: rootfs + "/proc/meminfo", contents: Data())
        FileManager.default.createFile(atPath: bundle + "/meminfo", contents: Data())
        XCTAssertThrowsError(try builder(try spec(mounts: #"[{"destination":"/proc/sys/kernel","type":"tmpfs"}]"#), system).mountAll(in: try root())) { error in
            XCTAssertEqual((error as? RuntimeError)?.message,
                           "mounts[0] /proc/sys/kernel: /proc/sys/kernel is inside /proc, where only the files lxcfs emulates may be mounted")
        }
        XCTAssertThrowsError(try builder(try spec(mounts: #"[{"destination":"/proc","type":"bind","source":"\#(bundle)","options":["rbind"]}]"#), system)
            .mountAll(in: try root())) { error in
            XCTAssertEqual((error as? RuntimeError)?.message, "mounts[0] /proc: only a procfs may be mounted on /proc")
        }
        XCTAssertEqual(system.calls, [])
        try builder(try spec(mounts: #"[{"destination":"/proc/meminfo","type":"bind","source":"meminfo","options":["bind"]}]"#), system).mountAll(in: try root())
        XCTAssertEqual(system.calls, ["mount \(bundle)/meminfo /proc/meminfo bind 1000 -"])
    }

    func testCgroupMountOnAHybridHostBindsEachHierarchy() throws {
        let system = FakeMountSystem()
        let host = bundle + "/cgroup"
        try makeDirectory(host + "/cpu,cpuacct/x")
        try makeDirectory(host + "/unified")
        let layout = CgroupLayout(hierarchies: [
            .init(mountPoint: host + "/cpu,cpuacct", root: "/", controllers: ["cpu", "cpuacct"], isUnified: false, ownPath: "/x"),
            .init(mountPoint: host + "/unified", root: "/", controllers: [], isUnified: true, ownPath: "/"),
        ])
        try builder(try spec(mounts: #"[{"destination":"/sys/fs/cgroup","type":"cgroup","options":["nosuid","ro"]}]"#), system, cgroups: layout)
            .mountAll(in: try root())
        XCTAssertEqual(system.calls, [
            "mount tmpfs /sys/fs/cgroup tmpfs 2 mode=755",
            "mount \(host)/cpu,cpuacct/x /sys/fs/cgroup/cpu,cpuacct bind 5000 -",
            "mount - /sys/fs/cgroup/cpu,cpuacct bind 1023 -",
            "mount \(host)/unified /sys/fs/cgroup/unified bind 5000 -",
            "mount - /sys/fs/cgroup/unified bind 1023 -",
            "mount tmpfs /sys/fs/cgroup tmpfs 23 mode=755",
        ])
        for controller in ["cpu", "cpuacct"] {
            XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: rootfs + "/sys/fs/cgroup/" + controller), "cpu,cpuacct")
        }
    }

    /// CVE-2023-25809: a rootless container gets nothing at or under /sys/fs/cgroup writable.
    func testRootlessMakesTheCgroupTreeReadOnly() throws {
        try makeDirectory(rootfs + "/sys/fs/cgroup/memory")
        func entry(_ point: String, _ options: String) -> MountInfoEntry {
            MountInfoEntry(id: 1, parentID: 0, root: "/", mountPoint: rootfs + point, options: options, fsType: "cgroup",
                           source: "cgroup", superOptions: "rw")
        }
        let system = FakeMountSystem()
        system.failSetattr = EINVAL
        system.mountTable = [entry("/sys", "ro,nosuid"), entry("/sys/fs/cgroup", "ro"), entry("/sys/fs/cgroup/memory", "rw,nosuid")]
        try builder(try spec(), system, rootless: true).mountAll(in: try root())
        XCTAssertEqual(system.calls, ["mount - /sys/fs/cgroup/memory - 1021 -"])
        let withSetattr = FakeMountSystem()
        try builder(try spec(), withSetattr, rootless: true).mountAll(in: try root())
        XCTAssertEqual(withSetattr.calls, ["setattr ro recursive /sys/fs/cgroup"])
        let asRoot = FakeMountSystem()
        try builder(try spec(), asRoot).mountAll(in: try root())
        XCTAssertEqual(asRoot.calls, [])
    }

    func testDefaultDevicesAndSpecDevices() throws {
        let system = FakeMountSystem()
        try builder(try spec(extra: #","linux":{"devices":[{"type":"c","path":"/dev/fuse","major":10,"minor":229,"fileMode":432,"uid":5,"gid":6}]}"#), system)
            .createDevices(in: try root())
        XCTAssertEqual(system.calls, [
            "mknod /dev/null c 666 1:3", "mknod /dev/zero c 666 1:5", "mknod /dev/full c 666 1:7",
            "mknod /dev/random c 666 1:8", "mknod /dev/urandom c 666 1:9", "mknod /dev/tty c 666 5:0",
            "mknod /dev/fuse c 660 10:229", "chown /dev/fuse 5:6",
        ])
    }

    func testDevicesAreBoundWhenMknodIsNotAllowed() throws {
        let system = FakeMountSystem()
        system.failMknod = true
        try builder(try spec(), system).createDevices(in: try root())
        XCTAssertEqual(Array(system.calls.prefix(2)), ["mount /dev/null /dev/null bind 1000 -", "mount /dev/zero /dev/zero bind 1000 -"])
        XCTAssertEqual(kind(rootfs + "/dev/null"), .typeRegular)
    }

    func testHostDevBindMeansNoDeviceNodes() throws {
        let system = FakeMountSystem()
        let withDev = try spec(mounts: #"[{"destination":"/dev","type":"bind","source":"/dev","options":["rbind"]}]"#)
        try builder(withDev, system).createDevices(in: try root())
        try builder(withDev, system).createDevSymlinks(in: try root())
        XCTAssertEqual(system.calls, [])
    }

    func testDevLinksArePlacedInTheRootfs() throws {
        try builder(try spec(), FakeMountSystem()).createDevSymlinks(in: try root())
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: rootfs + "/dev/ptmx"), "pts/ptmx")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: rootfs + "/dev/stderr"), "/proc/self/fd/2")
    }

    func testPivotFailureFallsBackToMoveAndChroot() throws {
        let system = FakeMountSystem()
        system.failPivot = true
        try builder(try spec(), system).switchRoot(try root(), noPivot: false)
        XCTAssertEqual(system.calls, ["move_root"])
        let second = FakeMountSystem()
        try builder(try spec(), second).switchRoot(try root(), noPivot: false)
        XCTAssertEqual(second.calls, ["pivot_root"])
    }

    func testInsideAChrootOnlyChrootIsLeft() throws {
        let system = FakeMountSystem()
        system.failPivot = true
        system.failMove = true
        try builder(try spec(), system).switchRoot(try root(), noPivot: false)
        XCTAssertEqual(system.calls, ["chroot"])
    }

    /// Without pivot_root the host's full procfs and sysfs go first (runc's msMoveRoot), the
    /// container's own stay.
    func testNoPivotUnmountsTheHostsProcAndSysfs() throws {
        let system = FakeMountSystem()
        func entry(_ point: String, _ type: String, root: String = "/") -> MountInfoEntry {
            MountInfoEntry(id: 1, parentID: 0, root: root, mountPoint: point, options: "rw", fsType: type, source: type, superOptions: "rw")
        }
        system.mountTable = [entry("/proc", "proc"), entry("/sys", "sysfs"), entry("/run/x", "proc", root: "/sys"),
                             entry(rootfs + "/proc", "proc"), entry("/tmp", "tmpfs")]
        try builder(try spec(), system).switchRoot(try root(), noPivot: true)
        XCTAssertEqual(system.calls, ["mount - /proc - 84000 -", "umount /proc", "mount - /sys - 84000 -", "umount /sys", "move_root"])
    }

    func testMaskedAndReadOnlyPaths() throws {
        let system = FakeMountSystem()
        try makeDirectory(rootfs + "/proc/sys")
        try makeDirectory(rootfs + "/proc/acpi")
        FileManager.default.createFile(atPath: rootfs + "/proc/kcore", contents: Data())
        let spec = try spec(extra: #","linux":{"readonlyPaths":["/proc/sys","/missing"],"maskedPaths":["/proc/kcore","/proc/acpi","/nope","/proc/kcore"]}"#)
        try builder(spec, system).protectPaths(in: try root())
        XCTAssertEqual(system.calls, [
            "mount /proc/sys /proc/sys bind 5000 -", "mount - /proc/sys bind 5021 -",
            "mount /dev/null /proc/kcore bind 1000 -", "mount tmpfs /proc/acpi tmpfs 1 -",
        ])
        var readOnly = spec
        readOnly.root.readonly = true
        let finish = FakeMountSystem()
        try RootfsBuilder<FakeMountSystem>.finishRoot(readOnly, cwd: "/", kernelResolves: true, system: finish)
        XCTAssertEqual(finish.calls, ["mount - / bind 1021 -"])
    }
}

final class TmpfsAndDeviceTests: TemporaryRootfsCase {
    func testTmpfsOverADirectoryKeepsItsModeAndCopyUpCopies() throws {
        let system = FakeMountSystem()
        try makeDirectory(rootfs + "/tmp", mode: 0o1777)
        let tmpfs = #"[{"destination":"/tmp","type":"tmpfs","source":"tmpfs","options":["nosuid","tmpcopyup","size=1m"]}]"#
        try builder(try spec(mounts: tmpfs), system).mountAll(in: try root())
        XCTAssertEqual(system.calls, ["mount tmpfs /tmp tmpfs 2 mode=1777,size=1m", "copy /tmp"])
    }

    /// An explicit mode wins over the directory's.
    func testTmpfsModeGivenIsKept() throws {
        let system = FakeMountSystem()
        try makeDirectory(rootfs + "/tmp", mode: 0o1777)
        try builder(try spec(mounts: #"[{"destination":"/tmp","type":"tmpfs","options":["mode=700"]}]"#), system).mountAll(in: try root())
        XCTAssertEqual(system.calls, ["mount tmpfs /tmp tmpfs 0 mode=700"])
    }

    func testNestedDeviceGetsItsDirectories() throws {
        let system = FakeMountSystem()
        try builder(try spec(extra: #","linux":{"devices":[{"type":"c","path":"/dev/cpu/0/cpuid","major":203,"minor":0}]}"#), system)
            .createDevices(in: try root())
        XCTAssertEqual(system.calls.last, "mknod /dev/cpu/0/cpuid c 666 203:0")
        XCTAssertEqual(kind(rootfs + "/dev/cpu/0"), .typeDirectory)
    }
}

final class RecursiveMountAttributeTests: TemporaryRootfsCase {
    /// `rro` reaches the bind's whole tree through mount_setattr on the mounted target.
    func testRecursiveAttributesFollowTheBind() throws {
        let system = FakeMountSystem()
        try makeDirectory(bundle + "/data")
        try builder(try spec(mounts: #"[{"destination":"/data","type":"bind","source":"data","options":["rbind","rro"]}]"#), system)
            .mountAll(in: try root())
        XCTAssertEqual(system.calls.filter { $0.hasPrefix("setattr") }, ["setattr recursive set=0x1 clear=0x0 /data"])
    }
}
