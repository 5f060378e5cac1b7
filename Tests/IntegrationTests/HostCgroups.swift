import Foundation
import XCTest

/// The cgroup hierarchies this machine mounts, read from /proc/self/mountinfo by the tests
/// themselves (not by the runtime they check): where a container's cgroup lives in each, and
/// whether a controller's files are spelt the v1 or the v2 way. The same tests then run on a
/// hybrid host, pure v2, pure v1, Android's mount points, or none at all.
struct HostCgroups {
    struct Hierarchy {
        let mountPoint: String
        /// v1: the controllers in the mount's options; v2: the root's cgroup.controllers.
        let controllers: [String]
        let isV2: Bool
    }

    let hierarchies: [Hierarchy]

    /// What the runtime will see: a persona with v1 only hides the v2 tree from it.
    static var current: HostCgroups {
        let lines = ((try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? "").split(separator: "\n")
        var seen = Set<String>()
        let found: [Hierarchy] = lines.compactMap { line in
            // id parent major:minor root mountpoint options ... - type source superoptions
            let halves = line.components(separatedBy: " - ")
            let fields = halves[0].split(separator: " ").map(String.init)
            guard halves.count == 2, fields.count >= 5, seen.insert(fields[4]).inserted else { return nil }
            let tail = halves[1].split(separator: " ").map(String.init)
            switch tail.first {
            case "cgroup2":
                let offered = (try? String(contentsOfFile: fields[4] + "/cgroup.controllers", encoding: .utf8)) ?? ""
                return Hierarchy(mountPoint: fields[4], controllers: offered.split(whereSeparator: \.isWhitespace).map(String.init), isV2: true)
            case "cgroup":
                let options = tail.count > 2 ? tail[2].split(separator: ",").map(String.init) : []
                return Hierarchy(mountPoint: fields[4], controllers: options, isV2: false)
            default:
                return nil
            }
        }
        return HostCgroups(hierarchies: IntegrationCase.unifiedHidden ? found.filter { !$0.isV2 } : found)
    }

    /// cgroup.kill came with Linux 5.14.
    static var kernelHasCgroupKill: Bool {
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let numbers = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return numbers.count == 2 && (numbers[0], numbers[1]) >= (5, 14)
    }

    var isPureV2: Bool { !hierarchies.isEmpty && hierarchies.allSatisfy(\.isV2) }

    /// The hierarchy a controller's limits go to: its v1 one, else the v2 tree offering it.
    /// v1's blkio is v2's io.
    func hierarchy(of controller: String) -> Hierarchy? {
        let v2Name = controller == "blkio" ? "io" : controller
        return hierarchies.first { !$0.isV2 && $0.controllers.contains(controller) }
            ?? hierarchies.first { $0.isV2 && $0.controllers.contains(v2Name) }
    }

    /// The host directory of the cgroup at `path` (a cgroupsPath) for `controller`.
    func directory(of controller: String, _ path: String) -> String? {
        hierarchy(of: controller).map { $0.mountPoint + path }
    }

    /// One limit's file, spelt as the controller's hierarchy spells it: its host path for the
    /// cgroup at `path`, the path a container with its own cgroup namespace reads it at (the
    /// runtime binds each hierarchy under its mount point's last name, or mounts cgroup2 itself
    /// on a pure v2 host), and whether it is the v2 file.
    func file(of controller: String, _ path: String, v1: String, v2: String) -> (host: String, inContainer: String, isV2: Bool)? {
        guard let hierarchy = hierarchy(of: controller) else { return nil }
        let name = hierarchy.isV2 ? v2 : v1
        let container = isPureV2 ? "/sys/fs/cgroup/\(name)"
            : "/sys/fs/cgroup/\(hierarchy.mountPoint.split(separator: "/").last ?? "")/\(name)"
        return (hierarchy.mountPoint + path + "/" + name, container, hierarchy.isV2)
    }

    /// Every existing directory of the cgroup at `path`, in every hierarchy.
    func existingDirectories(_ path: String) -> [String] {
        hierarchies.map { $0.mountPoint + path }.filter { FileManager.default.fileExists(atPath: $0) }
    }

    /// The runtime's refusal of any limit on a host that mounts no cgroup hierarchy at all.
    static let noHierarchyRefusal = "config.json: linux.resources: limits need cgroups, and this host has no cgroup hierarchy"

    /// The controllers of `wanted` this host has nowhere.
    func missing(_ wanted: [String]) -> [String] { wanted.filter { hierarchy(of: $0) == nil } }
}

extension IntegrationCase {
    /// A test of limits on `controllers` where the host lacks one: the container must be refused
    /// by name and leave nothing, and the test is skipped with the runtime's own reason.
    func requireControllers(_ controllers: [String], refusing id: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let missing = HostCgroups.current.missing(controllers)
        guard !missing.isEmpty else { return }
        let result = try port("run", id)
        XCTAssertEqual(result.status, 1, "limits on \(missing) ran without the controller: \(result.stderr)", file: file, line: line)
        try assertNothingLeft(id, file: file, line: line)
        let reason = result.stderr.split(separator: "\n").last.map(String.init) ?? "no reason given"
        XCTAssertTrue(reason.contains("linux.resources"), "refused without naming the limit: \(reason)", file: file, line: line)
        throw XCTSkip("no \(missing.joined(separator: ", ")) controller on this host; the runtime refuses: \(reason)")
    }
}
