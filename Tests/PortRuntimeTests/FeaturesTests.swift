import XCTest
@testable import PortRuntime

final class FeaturesTests: XCTestCase {
    func testFeaturesAreValidJSONAndFollowTheKernelsCapabilities() throws {
        let json = JSONField(try JSONParser.parse(Features.render(lastCap: 37)))
        XCTAssertEqual(try json.string("ociVersionMax"), DefaultSpec.ociVersion)
        XCTAssertEqual(try json.stringArray("hooks")?.count, 6)
        let linux = try json.requiredMember("linux")
        let capabilities = try linux.stringArray("capabilities") ?? []
        XCTAssertEqual(capabilities.count, 38)
        XCTAssertEqual(capabilities.last, "CAP_AUDIT_READ")
        XCTAssertEqual(try linux.requiredMember("seccomp").bool("enabled"), true)
        // Not claimed until implemented: engines would otherwise rely on it.
        XCTAssertEqual(try linux.requiredMember("apparmor").bool("enabled"), false)
    }

    func testHooksRoundTripThroughTheStateFile() throws {
        let spec = try Spec.decode(Array(#"{"ociVersion":"1.2.0","root":{"path":"r"},"hooks":{"poststop":[{"path":"/bin/x","args":["x","1"],"timeout":3}],"prestart":[{"path":"/p","env":["A=1"]}]}}"#.utf8))
        var state = ContainerState(id: "h", ociVersion: "1.2.0", pid: 1, initStartTime: 1, bundle: "/b", rootfs: "/b/r",
                                   created: "", annotations: [:], ownPidNamespace: true)
        state.hooks = spec.hooks
        let loaded = try ContainerState(stored: Array(state.stored.render().utf8))
        XCTAssertEqual(loaded.hooks, spec.hooks)
        XCTAssertEqual(loaded.hooks[.poststop], [Hook(path: "/bin/x", args: ["x", "1"], env: [], timeout: 3)])
    }

    func testHookTimeoutMustBePositive() {
        XCTAssertThrowsError(try Spec.decode(Array(#"{"ociVersion":"1.2.0","root":{"path":"r"},"hooks":{"prestart":[{"path":"/p","timeout":0}]}}"#.utf8))) { error in
            XCTAssertEqual((error as? SpecError)?.description, "config.json: hooks.prestart[0].timeout: must be greater than zero")
        }
    }
}
