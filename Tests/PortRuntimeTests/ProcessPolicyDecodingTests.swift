import XCTest
@testable import PortRuntime

/// The kernel numbers the new process fields become, and the lists they are written in.
final class ProcessPolicyDecodingTests: XCTestCase {
    func spec(process: String = "", linux: String = "") throws -> Spec {
        try Spec.decode(Array(#"{"ociVersion":"1.3.0","root":{"path":"r"},"process":{"args":["sh"]\#(process)},"linux":{"namespaces":[]\#(linux)}}"#.utf8))
    }

    func testCPUListsParseAsTheKernelWritesThem() throws {
        XCTAssertEqual(try CPUList(parsing: "0-3,5").bytes, [0b0010_1111])
        XCTAssertEqual(try CPUList(parsing: " 9 , ,1").bytes, [0b10, 0b10])
        XCTAssertEqual(try CPUList(parsing: "0-3,5").count, 5)
        XCTAssertEqual(try CPUList(parsing: "0,1").hexadecimal, "0x3")
        XCTAssertEqual(try CPUList(parsing: "8").hexadecimal, "0x100")
        XCTAssertTrue(try CPUList(parsing: "").isEmpty)
        for bad in ["3-1", "a", "1-", "-1", "0-65537", "99999999999999"] {
            XCTAssertThrowsError(try CPUList(parsing: bad), bad)
        }
    }

    func testSchedulerPriorityAndAffinityBecomeKernelValues() throws {
        let process = try XCTUnwrap(spec(process: #","scheduler":{"policy":"SCHED_DEADLINE","flags":["SCHED_FLAG_RESET_ON_FORK","SCHED_FLAG_RECLAIM"],"runtime":1,"deadline":2,"period":3},"ioPriority":{"class":"IOPRIO_CLASS_RT","priority":7},"execCPUAffinity":{"initial":"0","final":"1-2"}"#).process)
        XCTAssertEqual(process.scheduler?.policy, 6)
        XCTAssertEqual(process.scheduler?.flags, 0x3)
        XCTAssertEqual(process.ioPriority?.value, 1 << 13 | 7)
        XCTAssertEqual(process.execCPUAffinity?.initial?.bytes, [0b1])
        XCTAssertEqual(process.execCPUAffinity?.final?.bytes, [0b110])
    }

    func testExecTakesWhatItsProcessDoesNotSetFromTheContainer() throws {
        let container = try spec(process: #","scheduler":{"policy":"SCHED_BATCH"},"execCPUAffinity":{"initial":"1"}"#)
        let own = try Spec.Process.decode(Array(#"{"args":["x"],"ioPriority":{"class":"IOPRIO_CLASS_IDLE"}}"#.utf8))
        let policies = ProcessPolicies.forExec(own, container: container)
        XCTAssertEqual(policies.scheduler?.policyName, "SCHED_BATCH")
        XCTAssertEqual(policies.ioPriority?.className, "IOPRIO_CLASS_IDLE")
        XCTAssertEqual(policies.initialAffinity?.bytes, [0b10])
        // Only an initial affinity: the process keeps it, as in runc.
        XCTAssertEqual(policies.finalAffinity, .keep)
        XCTAssertEqual(ProcessPolicies.forExec(try Spec.Process.decode(Array(#"{"args":["x"]}"#.utf8)), container: try spec()).finalAffinity, .reset)
        // init never takes execCPUAffinity.
        let initPolicies = ProcessPolicies.forInit(try XCTUnwrap(container.process), linux: container.linux)
        XCTAssertNil(initPolicies.initialAffinity)
        XCTAssertEqual(initPolicies.finalAffinity, .reset)
    }

    func testLinuxFieldsDecodeAndTimeOffsetsNeedTheirNamespace() throws {
        let linux = try spec(linux: #","personality":{"domain":"LINUX32"},"memoryPolicy":{"mode":"MPOL_BIND","nodes":"0-1","flags":["MPOL_F_STATIC_NODES"]},"timeOffsets":{"boottime":{"secs":-5,"nanosecs":7}}"#).linux
        XCTAssertEqual(linux.personality?.value, 0x0008)
        XCTAssertEqual(linux.memoryPolicy?.mode, 2)
        XCTAssertEqual(linux.memoryPolicy?.flags, 1 << 15)
        XCTAssertEqual(linux.timeOffsets, [Spec.TimeOffset(clock: "boottime", seconds: -5, nanoseconds: 7)])
        let withoutNamespace = try spec(linux: #","timeOffsets":{"monotonic":{"secs":1}}"#)
        XCTAssertThrowsError(try withoutNamespace.validateForCreate()) { error in
            XCTAssertEqual((error as? SpecError)?.path, "linux.timeOffsets")
        }
        XCTAssertThrowsError(try spec(linux: #","timeOffsets":{"realtime":{"secs":1}}"#)) { error in
            XCTAssertEqual((error as? SpecError)?.description, "config.json: linux.timeOffsets.realtime: unknown clock \"realtime\" (monotonic or boottime)")
        }
    }

    func testRecursiveMountOptionsBecomeMountSetattrBits() {
        let readOnly = MountOptions(["rbind", "rro", "rnosuid"])
        XCTAssertEqual(readOnly.recursiveSet, 0x01 | 0x02)
        XCTAssertEqual(readOnly.recursiveClear, 0)
        XCTAssertTrue(readOnly.data.isEmpty, "no recursive option may reach the filesystem as data")
        // An access-time mode is set by clearing the whole access-time field with it.
        let noAtime = MountOptions(["rnoatime"])
        XCTAssertEqual(noAtime.recursiveSet, 0x10)
        XCTAssertEqual(noAtime.recursiveClear, 0x70)
        XCTAssertEqual(MountOptions(["rrw", "rexec"]).recursiveClear, 0x01 | 0x08)
    }
}
