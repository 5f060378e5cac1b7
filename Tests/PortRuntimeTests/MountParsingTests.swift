import XCTest
@testable import PortRuntime

final class MountParsingTests: XCTestCase {
    func testOptionsSplitIntoFlagsPropagationAndData() {
        let options = MountOptions(["nosuid", "noexec", "rbind", "ro", "rslave", "mode=755", "size=65536k"])
        XCTAssertEqual(options.flags, MountFlags.noSuid | MountFlags.noExec | MountFlags.bind | MountFlags.recursive | MountFlags.readOnly)
        XCTAssertEqual(options.propagation, [MountFlags.slave | MountFlags.recursive])
        XCTAssertEqual(options.dataString, "mode=755,size=65536k")
        XCTAssertTrue(options.isBind)
    }

    func testLaterOptionsClearEarlierOnes() {
        XCTAssertEqual(MountOptions(["ro", "rw", "nosuid", "suid"]).flags, 0)
    }

    func testMountInfoParsingUnescapesPaths() {
        let text = """
            31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
            32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu
            99 1 8:1 /a /mnt/with\\040space rw - ext4 /dev/sda1 rw
            garbage
            """
        let entries = MountInfoEntry.parse(text)
        XCTAssertEqual(entries.count, 3)
        XCTAssertEqual(entries[1].fsType, "cgroup")
        XCTAssertEqual(entries[1].superOptions, "rw,cpu")
        XCTAssertEqual(entries[2].mountPoint, "/mnt/with space")
        XCTAssertEqual(entries[2].root, "/a")
    }

    func testCgroupLayoutOfAHybridHost() {
        let mountInfo = MountInfoEntry.parse("""
            32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
            35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
            40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
            41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
            """)
        let layout = CgroupLayout(mountInfo: mountInfo, procCgroup: "5:cpu,cpuacct:/a\n4:memory:/b\n1:name=systemd:/c\n0::/d\n")
        XCTAssertFalse(layout.isPureUnified)
        XCTAssertEqual(layout.hierarchies.map(\.ownDirectory),
                       ["/sys/fs/cgroup/cpu,cpuacct/a", "/sys/fs/cgroup/memory/b", "/sys/fs/cgroup/systemd/c", "/sys/fs/cgroup/unified/d"])
        XCTAssertEqual(layout.hierarchies[0].controllers, ["cpu", "cpuacct"])
    }

    func testPureUnifiedLayout() {
        let layout = CgroupLayout(mountInfo: MountInfoEntry.parse("30 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw"),
                                  procCgroup: "0::/user.slice\n")
        XCTAssertTrue(layout.isPureUnified)
        XCTAssertEqual(layout.hierarchies.first?.ownDirectory, "/sys/fs/cgroup/user.slice")
    }

    func testSignalNames() throws {
        XCTAssertEqual(try SignalName.parse("TERM"), 15)
        XCTAssertEqual(try SignalName.parse("SIGKILL"), 9)
        XCTAssertEqual(try SignalName.parse("sigusr1"), 10)
        XCTAssertEqual(try SignalName.parse("9"), 9)
        XCTAssertEqual(try SignalName.parse("RTMIN+2"), 36)
        XCTAssertThrowsError(try SignalName.parse("NOPE"))
        XCTAssertThrowsError(try SignalName.parse("0"))
    }
}
