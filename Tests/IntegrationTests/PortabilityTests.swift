import Foundation
import XCTest

final class PortabilityTests: IntegrationCase {
    func testStaticBinaryRunsAContainerFromAChrootWithNoLibc() throws {
        // The busybox rootfs is static too: nothing in this root has a libc.
        let root = bundle + "/libcless"
        let inner = root + "/bundle"
        XCTAssertEqual(try shell("cp -a '\(Self.work)/base/rootfs' '\(root)' && cp '\(Self.binary)' '\(root)/bin/port-run' && mkdir -p '\(inner)' && cp -a '\(Self.work)/base/rootfs' '\(inner)/rootfs'").status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/lib"))
        try writeConfig(["sh", "-c", "echo from-the-inner-container"]) { $0["root"] = ["path": "rootfs", "readonly": true] }
        try FileManager.default.copyItem(atPath: bundle + "/config.json", toPath: inner + "/config.json")
        let result = try shell("""
            unshare -m sh -c "mount --make-rprivate / && mount -t proc proc '\(root)/proc' && mount --rbind /sys '\(root)/sys' && \
            mount --rbind /dev '\(root)/dev' && mount -t tmpfs tmpfs '\(root)/tmp' && \
            chroot '\(root)' /bin/port-run --root /tmp/state run --bundle /bundle inner"
            """)
        XCTAssertEqual(result.stdout, "from-the-inner-container\n", result.stderr)
        XCTAssertEqual(try shell("ldd '\(Self.binary)' 2>&1").stdout.trimmingCharacters(in: .whitespacesAndNewlines), "not a dynamic executable")
    }

    func testTermuxLikeHostWithoutRunAndWithTheExecHelperPreloaded() throws {
        // As on Android: no usable /run, no /etc/passwd, PREFIX set, LD_PRELOAD pointing at
        // Termux's exec helper (a bionic library that would break a glibc container).
        let prefix = bundle + "/prefix"
        try FileManager.default.createDirectory(atPath: prefix, withIntermediateDirectories: true)
        let helper = "LD_PRELOAD=/data/data/com.termux/files/usr/lib/libtermux-exec.so"
        try writeConfig(["sh", "-c", "env | grep -c LD_PRELOAD; echo termux-ok"]) { config in
            var process = config["process"] as! [String: Any]
            process["env"] = (process["env"] as! [String]) + [helper]
            config["process"] = process
        }
        let result = try shell("""
            cd '\(bundle)' && unshare -m sh -c "mount -t tmpfs -o ro tmpfs /run && mount --bind /dev/null /etc/passwd && \
            PREFIX='\(prefix)' \(helper) '\(Self.binary)' run termux; '\(Self.binary)' list -q"
            """)
        XCTAssertEqual(result.stdout, "0\ntermux-ok\n", result.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: prefix + "/var/run/port-run"), "state root not under $PREFIX")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: prefix + "/var/run/port-run").filter { !$0.hasPrefix(".") }, [])
    }
}
