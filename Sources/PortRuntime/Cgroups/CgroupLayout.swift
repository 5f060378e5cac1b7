/// Where this host mounts its cgroup hierarchies, read from /proc/self/mountinfo and
/// /proc/self/cgroup, never assumed: v1, v2, hybrid, or Android's own places.
public struct CgroupLayout: Equatable, Sendable {
    public struct Hierarchy: Equatable, Sendable {
        /// The mount point on the host, e.g. /sys/fs/cgroup/cpu.
        public var mountPoint: String
        /// The mount's root inside the hierarchy (usually "/").
        public var root: String
        /// Controllers from the super options ("cpu", "name=systemd"); empty for cgroup2.
        public var controllers: [String]
        public var isUnified: Bool
        /// This process's cgroup in the hierarchy, from /proc/self/cgroup.
        public var ownPath: String

        /// The host directory of this process's cgroup, as visible through this mount.
        public var ownDirectory: String {
            var relative = ownPath
            if root != "/", relative.hasPrefix(root) { relative = String(relative.dropFirst(root.count)) }
            if relative.isEmpty || relative == "/" { return mountPoint }
            return mountPoint + (relative.hasPrefix("/") ? relative : "/" + relative)
        }
    }

    public var hierarchies: [Hierarchy]

    /// Only a cgroup2 mount and no v1 controller: the container gets a cgroup2 mount of its own.
    public var isPureUnified: Bool { !hierarchies.isEmpty && hierarchies.allSatisfy(\.isUnified) }

    public init(hierarchies: [Hierarchy]) { self.hierarchies = hierarchies }

    public init(mountInfo: [MountInfoEntry], procCgroup: String) {
        var paths: [String: String] = [:]  // controller list ("cpu,cpuacct", "" for v2) -> path
        for line in procCgroup.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            for controller in parts[1].split(separator: ",") { paths[String(controller)] = String(parts[2]) }
            if parts[1].isEmpty { paths[""] = String(parts[2]) }
        }
        var seen = Set<String>()
        hierarchies = mountInfo.compactMap { entry in
            guard entry.fsType == "cgroup" || entry.fsType == "cgroup2", seen.insert(entry.mountPoint).inserted else { return nil }
            if entry.fsType == "cgroup2" {
                return Hierarchy(mountPoint: entry.mountPoint, root: entry.root, controllers: [], isUnified: true,
                                 ownPath: paths[""] ?? "/")
            }
            let known = Set(paths.keys)
            let controllers = entry.superOptions.split(separator: ",").map(String.init).filter { known.contains($0) }
            guard let first = controllers.first else { return nil }
            return Hierarchy(mountPoint: entry.mountPoint, root: entry.root, controllers: controllers, isUnified: false,
                             ownPath: paths[first] ?? "/")
        }
    }

    public static func current() -> CgroupLayout {
        let mountInfo = (try? Files.readString("/proc/self/mountinfo")) ?? ""
        let procCgroup = (try? Files.readString("/proc/self/cgroup")) ?? ""
        var layout = CgroupLayout(mountInfo: MountInfoEntry.parse(mountInfo), procCgroup: procCgroup)
        // A persona of a kernel or host with v1 only (seccomp cannot hide a mount).
        if HostFacts.currentOverrides().contains("cgroup-v1-only") { layout.hierarchies.removeAll(where: \.isUnified) }
        return layout
    }
}
