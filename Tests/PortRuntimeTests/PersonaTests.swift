import Foundation
import XCTest
@testable import PortRuntime

final class PersonaTests: XCTestCase {
    static let personas = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("kernel-quirks/personas").path

    func testEveryPersonaAndOverlayInTheRepoParses() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.personas).sorted()
        XCTAssertGreaterThanOrEqual(files.count, 12)
        for file in files {
            let text = try String(contentsOfFile: Self.personas + "/" + file, encoding: .utf8)
            let persona = try Persona.parse(layers: [(file, text)])
            XCTAssertFalse(persona.missing.isEmpty && persona.invalid.isEmpty && !persona.unseededEntropy, file)
        }
    }

    func testRulesOverlaysAndErrors() throws {
        let persona = try Persona.parse(layers: [
            ("base", "name base\nmissing enosys\nsyscall clone3 close_range # new\nflag unshare 0 0x90\nflagset fcntl 1 1033 2 0x20\nvalue prctl 0 47\nfacts seal-future-write-buggy"),
            ("app", "name app\nmissing sigsys\nsyscall close_range keyctl\noverride no-proc-thread-self"),
        ])
        XCTAssertEqual(persona.missing, ["clone3": .enosys, "close_range": .sigsys, "keyctl": .sigsys])
        // 0x90 has two bits: two rules, each testing one bit.
        XCTAssertEqual(persona.invalid.filter { $0.syscall == "unshare" }.map { $0.conditions.map(\.mask) }, [[0x10], [0x80]])
        XCTAssertEqual(persona.invalid.first { $0.syscall == "fcntl" }?.conditions.map(\.value), [1033, 0x20])
        XCTAssertEqual(persona.overrides, ["no-proc-thread-self"])
        XCTAssertEqual(persona.facts, ["seal-future-write-buggy"])
        XCTAssertFalse(persona.unseededEntropy)
        XCTAssertTrue(try Persona.parse(layers: [("early", "name early\nmissing sigsys\nentropy unseeded")]).unseededEntropy)
        XCTAssertThrowsError(try Persona.parse(layers: [("bad", "name bad\nmissing enosys\nentropy low")])) { error in
            XCTAssertEqual((error as? RuntimeError)?.message, "bad:3: entropy takes unseeded")
        }
        XCTAssertThrowsError(try Persona.parse(layers: [("bad", "name bad\nmissing enosys\nflag unshare 9 0x1")])) { error in
            XCTAssertEqual((error as? RuntimeError)?.message, "bad:3: argument index must be 0 to 5: 9")
        }
    }

    /// Raising user.max_user_namespaces (RHEL 7 ships 0) must not leave a cached "absent".
    func testTheProbeCacheIsStaleOnceANamespaceSysctlChanges() {
        let off = HostFacts.cacheKey(overrides: []) { $0 == "user/max_user_namespaces" ? "0\n" : "15000\n" }
        let on = HostFacts.cacheKey(overrides: []) { _ in "15000\n" }
        XCTAssertNotEqual(off, on)
        XCTAssertEqual(on, HostFacts.cacheKey(overrides: []) { _ in "15000" })
    }

    func testStrategyFollowsTheFacts() {
        var facts = HostFacts(probes: ["close_range": .absent(errno: ENOSYS), "keyrings": .trapped, "time_namespace": .absent(errno: EINVAL)],
                              overrides: [])
        let old = Strategy(facts: facts)
        XCTAssertEqual(old.fdClosing, .procWalk)
        XCTAssertFalse(old.sessionKeyring)
        // What was not probed as present is not used.
        XCTAssertFalse(old.spawnIntoCgroup || old.seccompLogAction || old.seccompNotify)
        facts.probes["close_range"] = .present
        facts.probes["clone_into_cgroup"] = .present
        facts.probes["seccomp_new_listener"] = .present
        let newer = Strategy(facts: facts)
        XCTAssertEqual(newer.fdClosing, .closeRange)
        XCTAssertTrue(newer.spawnIntoCgroup && newer.seccompNotify)
    }
}
