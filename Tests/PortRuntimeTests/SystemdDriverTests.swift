import XCTest
@testable import PortRuntime

/// The systemd driver's decisions that need no systemd: where a container goes (runc's
/// reading of "slice:prefix:name") and what its limits become as unit properties.
final class SystemdDriverTests: XCTestCase {
    typealias Rule = CgroupResources.DeviceRule

    func testUnitNamesAndCgroupPathsAsRuncMakesThem() throws {
        let pod = try SystemdUnitName(cgroupsPath: "kubepods-besteffort-pod12.slice:cri-containerd:abc", id: "abc")
        XCTAssertEqual(pod.unit, "cri-containerd-abc.scope")
        XCTAssertEqual(pod.slice, "kubepods-besteffort-pod12.slice")
        XCTAssertEqual(try pod.cgroupPath(), "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12.slice/cri-containerd-abc.scope")

        let byDefault = try SystemdUnitName(cgroupsPath: nil, id: "web")
        XCTAssertEqual(byDefault, SystemdUnitName(unit: "port-run-web.scope", slice: "system.slice"))
        XCTAssertEqual(try byDefault.cgroupPath(), "/system.slice/port-run-web.scope")
        XCTAssertEqual(try SystemdUnitName(cgroupsPath: "system.slice:docker:f00", id: "x").unit, "docker-f00.scope")
        XCTAssertEqual(try SystemdUnitName(cgroupsPath: "::", id: "x").unit, "-x.scope")
        XCTAssertEqual(try SystemdUnitName(cgroupsPath: "-.slice::top", id: "x").cgroupPath(), "/-top.scope")

        let slice = try SystemdUnitName(cgroupsPath: "machine.slice:ignored:machine-box.slice", id: "x")
        XCTAssertTrue(slice.isSlice)
        XCTAssertEqual(try slice.cgroupPath(), "/machine.slice/machine-box.slice")
    }

    func testPathsThatAreNotTheSystemdFormAreRefusedByName() {
        for bad in ["/kubepods/abc", "a:b", "a:b:c:d", "notaslice:p:n", "a--b.slice:p:n", "-a.slice:p:n", "x.slice:p:n/../..", "x.slice:a/b:n"] {
            XCTAssertThrowsError(try SystemdUnitName(cgroupsPath: bad, id: "x"), bad) { error in
                XCTAssertTrue("\(error)".hasPrefix("config.json: linux.cgroupsPath: "), "\(error)")
            }
        }
    }

    func properties(_ list: [DBusValue]) -> [String: DBusValue] {
        var named: [String: DBusValue] = [:]
        for case .structure(let members) in list {
            if case .string(let name) = members[0], case .variant(let value) = members[1] { named[name] = value }
        }
        return named
    }

    func testLimitsBecomeTheV2PropertiesWithRuncsConversions() {
        var resources = CgroupResources()
        resources.memoryLimit = 64 << 20
        resources.memoryReservation = 32 << 20
        resources.memorySwap = 96 << 20
        resources.cpuShares = 1024
        resources.cpuQuota = 33_333
        resources.cpuPeriod = 100_000
        resources.pidsLimit = 50
        resources.cpus = "0-2,9"
        resources.unified = ["memory.high": "max", "memory.min": "4096"]
        let mapped = properties(SystemdProperties(version: 252, unifiedHierarchy: true).resources(resources))
        XCTAssertEqual(mapped["MemoryMax"], .uint64(64 << 20))
        XCTAssertEqual(mapped["MemoryLow"], .uint64(32 << 20))
        XCTAssertEqual(mapped["MemorySwapMax"], .uint64(32 << 20))
        XCTAssertEqual(mapped["CPUWeight"], .uint64(39))
        // 333_330 µs per second, rounded up to whole percents.
        XCTAssertEqual(mapped["CPUQuotaPerSecUSec"], .uint64(340_000))
        XCTAssertEqual(mapped["CPUQuotaPeriodUSec"], .uint64(100_000))
        XCTAssertEqual(mapped["TasksMax"], .uint64(50))
        XCTAssertEqual(mapped["AllowedCPUs"], .array("y", [.byte(0b0000_0111), .byte(0b0000_0010)]))
        XCTAssertEqual(mapped["MemoryHigh"], .uint64(.max))
        XCTAssertEqual(mapped["MemoryMin"], .uint64(4096))
        XCTAssertNil(mapped["MemoryLimit"])
    }

    func testOverflowingAndPartialValuesAreNoCrashAndNoWrongLimit() {
        var resources = CgroupResources()
        resources.cpuQuota = .max
        resources.memorySwap = .max
        resources.memoryLimit = -1
        let mapped = properties(SystemdProperties(version: 252, unifiedHierarchy: true).resources(resources))
        XCTAssertEqual(mapped["CPUQuotaPerSecUSec"], .uint64(.max))
        XCTAssertEqual(mapped["MemorySwapMax"], .uint64(.max))
        // An update of the period alone keeps the quota systemd has.
        var period = CgroupResources()
        period.cpuPeriod = 50_000
        let periodOnly = properties(SystemdProperties(version: 252, unifiedHierarchy: true).resources(period))
        XCTAssertNil(periodOnly["CPUQuotaPerSecUSec"])
        XCTAssertEqual(periodOnly["CPUQuotaPeriodUSec"], .uint64(50_000))
        // Swap alone has no v2 value without the memory limit (update fills it from the cgroup).
        var swapOnly = CgroupResources()
        swapOnly.memorySwap = 64 << 20
        XCTAssertNil(properties(SystemdProperties(version: 252, unifiedHierarchy: true).resources(swapOnly))["MemorySwapMax"])
    }

    func testV1NamesAndWhatAnOlderSystemdCannotTake() {
        var resources = CgroupResources()
        resources.memoryLimit = -1
        resources.cpuShares = 512
        resources.blockIO.weight = 300
        resources.pidsLimit = -1
        resources.cpus = "1"
        resources.cpuQuota = -1
        resources.cpuPeriod = 50_000
        let mapped = properties(SystemdProperties(version: 219, unifiedHierarchy: false).resources(resources))
        XCTAssertEqual(mapped["MemoryLimit"], .uint64(.max))
        XCTAssertEqual(mapped["CPUShares"], .uint64(512))
        XCTAssertEqual(mapped["BlockIOWeight"], .uint64(300))
        XCTAssertEqual(mapped["TasksMax"], .uint64(.max))
        XCTAssertEqual(mapped["CPUQuotaPerSecUSec"], .uint64(.max))
        // RHEL 7's systemd knows neither.
        XCTAssertNil(mapped["AllowedCPUs"])
        XCTAssertNil(mapped["CPUQuotaPeriodUSec"])
    }

    func testDeviceRulesBecomeAStrictAllowList() {
        let rules = [Rule(allow: false, type: "a", major: nil, minor: nil, access: "rwm"),
                     Rule(allow: true, type: "c", major: 1, minor: 3, access: "rwm"),
                     Rule(allow: true, type: "c", major: 136, minor: nil, access: "rw"),
                     Rule(allow: true, type: "b", major: nil, minor: nil, access: "m"),
                     Rule(allow: true, type: "c", major: 5, minor: 1, access: "rw"),
                     Rule(allow: false, type: "c", major: 5, minor: 1, access: "rwm")]
        let mapped = properties(SystemdProperties.devices(rules) { block, major in !block && major == 136 ? "pts" : nil })
        XCTAssertEqual(mapped["DevicePolicy"], .string("strict"))
        XCTAssertEqual(mapped["DeviceAllow"], .array("(ss)", [
            .structure([.string("/dev/char/1:3"), .string("rwm")]),
            .structure([.string("char-pts"), .string("rw")]),
            .structure([.string("block-*"), .string("m")]),
        ]))
        let open = properties(SystemdProperties.devices([Rule(allow: true, type: "a", major: nil, minor: nil, access: "rwm")]) { _, _ in nil })
        XCTAssertEqual(open["DevicePolicy"], .string("auto"))
        // What systemd cannot hold makes its copy stricter, never wider: a deny after allowing
        // everything allows nothing there; a minor of every major is left out. Any rule for
        // every device resets the list, whatever its access (as the device program reads it).
        let denyAfterAll = properties(SystemdProperties.devices([Rule(allow: true, type: "a", major: nil, minor: nil, access: "rwm"),
                                                                  Rule(allow: false, type: "c", major: 1, minor: 11, access: "rwm")]) { _, _ in nil })
        XCTAssertEqual(denyAfterAll["DevicePolicy"], .string("strict"))
        XCTAssertEqual(denyAfterAll["DeviceAllow"], .array("(ss)", []))
        let anyMajor = properties(SystemdProperties.devices([Rule(allow: false, type: "a", major: nil, minor: nil, access: "r"),
                                                             Rule(allow: true, type: "c", major: nil, minor: 5, access: "rw")]) { _, _ in nil })
        XCTAssertEqual(anyMajor["DevicePolicy"], .string("strict"))
        XCTAssertEqual(anyMajor["DeviceAllow"], .array("(ss)", []))
        XCTAssertEqual(SystemdProperties.devices([]) { _, _ in nil }, [])
    }

    func testAnnotationsSetUnitPropertiesAsRuncReadsThem() throws {
        let mapped = properties(try SystemdProperties.annotations([
            "org.systemd.property.TimeoutStopSec": "uint64 123",
            "org.systemd.property.CollectMode": "'inactive-or-failed'",
            "org.systemd.property.CPUQuotaPeriodUSec": "uint64 50000",
            "org.systemd.property.IgnoreOnIsolate": "true",
            "org.systemd.property.OOMScoreAdjust": "-100",
            "io.kubernetes.cri.sandbox-id": "not for systemd",
        ]))
        XCTAssertEqual(mapped, ["TimeoutStopUSec": .uint64(123_000_000), "CollectMode": .string("inactive-or-failed"),
                                "CPUQuotaPeriodUSec": .uint64(50000), "IgnoreOnIsolate": .bool(true),
                                "OOMScoreAdjust": .int32(-100)])
        for bad in ["uint64 x", "'unterminated", "[1, 2]", "double 1.5"] {
            XCTAssertThrowsError(try SystemdProperties.annotations(["org.systemd.property.X": bad]), bad) { error in
                XCTAssertTrue("\(error)".hasPrefix("annotations.org.systemd.property.X: "), "\(error)")
            }
        }
        XCTAssertThrowsError(try SystemdProperties.annotations(["org.systemd.property.TimeoutStopSec": "'soon'"]))
        // What places the unit or holds its device rules stays the runtime's.
        for reserved in ["Slice", "Delegate", "PIDs", "DevicePolicy", "DeviceAllow"] {
            XCTAssertThrowsError(try SystemdProperties.annotations(["org.systemd.property.\(reserved)": "'-.slice'"]), reserved)
        }
        XCTAssertThrowsError(try SystemdProperties.annotations(["org.systemd.property.A-b": "true"]))
    }
}
