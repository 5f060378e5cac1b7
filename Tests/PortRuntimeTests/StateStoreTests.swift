import XCTest
@testable import PortRuntime

final class StateStoreTests: XCTestCase {
    var root = ""

    override func setUp() {
        root = "/tmp/port-run-unit-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    override func tearDown() { Files.removeTree(root) }

    func testIDsFollowRuncRulesAndAreBounded() {
        for good in ["a", "my-container_1.2+x", String(repeating: "x", count: 255)] {
            XCTAssertNoThrow(try StateStore.validate(id: good), good)
        }
        for bad in ["", ".", "..", "a/b", "../x", "a\0b", "sp ace", String(repeating: "x", count: 256), "é"] {
            XCTAssertThrowsError(try StateStore.validate(id: bad), bad)
        }
    }

    func testOnlyOneClaimOfAnIDWins() throws {
        let store = StateStore(root: root)
        store.unlock(try store.claim("one"))
        XCTAssertThrowsError(_ = try store.claim("one")) { error in
            XCTAssertEqual((error as? RuntimeError)?.message, "container with id exists: one")
        }
    }

    func testStateRoundTripsAndDeadInitMeansStopped() throws {
        let store = StateStore(root: root)
        store.unlock(try store.claim("c"))
        let state = ContainerState(id: "c", ociVersion: "1.2.0", pid: Int32.max - 1, initStartTime: 42, bundle: "/b",
                                   rootfs: "/b/rootfs", created: "2026-01-01T00:00:00Z", annotations: ["k": "v"],
                                   ownPidNamespace: true)
        try store.save(state)
        let loaded = try store.load("c")
        XCTAssertEqual(loaded, state)
        XCTAssertEqual(store.status(of: loaded), .stopped)
        XCTAssertEqual(loaded.ociState(status: .stopped).render(),
                       #"{"ociVersion":"1.2.0","id":"c","pid":0,"status":"stopped","bundle":"/b","rootfs":"/b/rootfs","created":"2026-01-01T00:00:00Z","owner":"","annotations":{"k":"v"}}"#)
        XCTAssertEqual(store.ids(), ["c"])
    }

    func testARecycledPidIsNotTheContainer() {
        let me = getpid()
        let start = ProcessProbe.startTime(me)
        XCTAssertTrue(ProcessProbe.isAlive(me, startTime: start))
        XCTAssertFalse(ProcessProbe.isAlive(me, startTime: start + 1))
    }

    func testHalfCreatedContainerGivesAClearError() throws {
        let store = StateStore(root: root)
        // The create that claimed it is gone: its lock went with it.
        store.unlock(try store.claim("half"))
        XCTAssertThrowsError(try store.load("half")) { error in
            XCTAssertTrue((error as? RuntimeError)?.message.hasPrefix("container half has no readable state") == true)
        }
        XCTAssertThrowsError(try Lifecycle(root: root).delete("half", force: false))
        XCTAssertNoThrow(try Lifecycle(root: root).delete("half", force: true))
        XCTAssertFalse(store.exists("half"))
    }

    func testRFC3339NanoTrimsTrailingZeros() {
        XCTAssertEqual(Clock.rfc3339Nano(timespec(tv_sec: 0, tv_nsec: 0)), "1970-01-01T00:00:00Z")
        XCTAssertEqual(Clock.rfc3339Nano(timespec(tv_sec: 1_700_000_000, tv_nsec: 120_000_000)), "2023-11-14T22:13:20.12Z")
    }

    /// The runtime's own calendar against glibc's, every 13 hours over 1900-2300 (leap
    /// centuries, 2000, the epoch, and times before it included).
    func testRFC3339NanoAgreesWithGmtime() {
        for seconds in stride(from: -2_208_988_800, through: 10_413_792_000, by: 46_800 + 7) {
            var time = seconds
            var parts = tm()
            gmtime_r(&time, &parts)
            let expected = padded(parts.tm_year + 1900, 4) + "-" + padded(parts.tm_mon + 1, 2) + "-" + padded(parts.tm_mday, 2)
                + "T" + padded(parts.tm_hour, 2) + ":" + padded(parts.tm_min, 2) + ":" + padded(parts.tm_sec, 2) + "Z"
            XCTAssertEqual(Clock.rfc3339Nano(timespec(tv_sec: seconds, tv_nsec: 0)), expected)
            if Clock.rfc3339Nano(timespec(tv_sec: seconds, tv_nsec: 0)) != expected { return }
        }
    }
}

private func padded(_ value: Int32, _ width: Int) -> String {
    let digits = String(value)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}

final class DefaultRootTests: XCTestCase {
    func testRunWhereItExistsElseTermuxPrefixElseTmpdir() {
        let env = ["PREFIX": "/data/data/com.termux/files/usr", "TMPDIR": "/data/local/tmp"]
        XCTAssertEqual(StateStore.defaultRoot(environment: { env[$0] }, isWritableDirectory: { _ in true }), "/run/port-run")
        XCTAssertEqual(StateStore.defaultRoot(environment: { env[$0] }, isWritableDirectory: { _ in false }),
                       "/data/data/com.termux/files/usr/var/run/port-run")
        XCTAssertEqual(StateStore.defaultRoot(environment: { $0 == "TMPDIR" ? "/data/local/tmp" : nil }, isWritableDirectory: { _ in false }),
                       "/data/local/tmp/port-run")
        XCTAssertEqual(StateStore.defaultRoot(environment: { _ in nil }, isWritableDirectory: { _ in false }), "/tmp/port-run")
    }
}
