#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// The code paths chosen for this kernel. Callers ask the strategy; they never test a kernel
/// version or an errno themselves.
public struct Strategy: Sendable, Equatable {
    public enum FdClosing: String, Sendable { case closeRange = "close_range", procWalk = "/proc/self/fd walk" }

    public var fdClosing: FdClosing
    /// keyctl exists and is not trapped (Android's app filter kills on it).
    public var sessionKeyring: Bool
    /// init is born in its cgroup2 directory (clone3 CLONE_INTO_CGROUP, 5.7) instead of
    /// writing cgroup.procs, whose global lock costs one RCU grace period (~7 ms here).
    public var spawnIntoCgroup: Bool
    /// SECCOMP_RET_LOG (4.14): without it a LOG rule only allows, which is what LOG does
    /// besides logging.
    public var seccompLogAction: Bool = true
    /// SECCOMP_FILTER_FLAG_NEW_LISTENER (5.0): SCMP_ACT_NOTIFY and seccomp agents.
    public var seccompNotify: Bool = true
    /// SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (5.19): once the agent has a notification,
    /// only a fatal signal ends the wait.
    public var seccompWaitKillable: Bool = true
    /// openat2 RESOLVE_IN_ROOT (5.6): the kernel resolves paths inside the rootfs; before
    /// it, a walk of one component at a time (Rootfs/RootDirectory.swift).
    public var inRootResolution: Bool = true
    /// statx reports mount ids (5.8); before it a procfs file's fdinfo does (3.15).
    public var statxMountIDs: Bool = true
    /// mount_setattr (5.12): read-only for a whole mount tree in one call.
    public var recursiveMountAttributes: Bool = true
    /// The new mount API (5.2): an exec process gets a procfs no container mount covers
    /// (fsopen, or an open_tree copy of the container's /proc); before it, the container's
    /// /proc, checked (Support/Procfs.swift, openInContainer).
    public var detachedProcfs: Bool = true

    public init(fdClosing: FdClosing, sessionKeyring: Bool = true, spawnIntoCgroup: Bool = false) {
        self.fdClosing = fdClosing
        self.sessionKeyring = sessionKeyring
        self.spawnIntoCgroup = spawnIntoCgroup
    }

    /// Chooses from the host's probe results (close_range: 5.9; before it, a walk of
    /// /proc/self/fd, which works everywhere /proc is mounted).
    public init(facts: HostFacts) {
        fdClosing = facts.has("close_range") ? .closeRange : .procWalk
        sessionKeyring = facts.has("keyrings")
        spawnIntoCgroup = facts.has("clone_into_cgroup")
        seccompLogAction = facts.has("seccomp_action_log")
        seccompNotify = facts.has("seccomp_new_listener")
        seccompWaitKillable = facts.has("seccomp_wait_killable_recv")
        inRootResolution = facts.has("openat2")
        statxMountIDs = facts.has("statx_mount_id")
        recursiveMountAttributes = facts.has("mount_setattr")
        detachedProcfs = facts.has("new_mount_api")
    }

    /// The profile as this kernel can load it: LOG becomes ALLOW where the kernel has no LOG
    /// action; NOTIFY where it has no listeners is refused in one line; WAIT_KILLABLE_RECV is
    /// dropped where the kernel lacks it or no rule notifies.
    func adapt(_ profile: SeccompProfile?) throws(RuntimeError) -> SeccompProfile? {
        guard var profile else { return nil }
        if profile.usesNotify && !seccompNotify {
            throw RuntimeError("config.json: linux.seccomp: this kernel cannot hand seccomp notifications to an agent (SCMP_ACT_NOTIFY needs SECCOMP_FILTER_FLAG_NEW_LISTENER, Linux 5.0)")
        }
        let waitKillable = "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"
        if profile.flags.contains(waitKillable) && (!profile.usesNotify || !seccompWaitKillable) {
            // Only a change in how signals interrupt a wait on the agent, never a security
            // boundary: an old kernel runs the container without it, and says so.
            if profile.usesNotify {
                Log.warning("linux.seccomp.flags: \(waitKillable) dropped: this kernel lacks it (Linux 5.19)")
            } else {
                Log.debug("linux.seccomp.flags: \(waitKillable) dropped: it applies only to SCMP_ACT_NOTIFY rules")
            }
            profile.flags.removeAll { $0 == waitKillable }
        }
        if !seccompLogAction {
            let log = SeccompProfile.log, allow = SeccompProfile.allow
            if profile.defaultAction == log { profile.defaultAction = allow }
            for index in profile.rules.indices where profile.rules[index].action == log { profile.rules[index].action = allow }
        }
        return profile
    }

    /// Namespaces a spec may ask for that this kernel may lack, with the probe that says so.
    static let namespaceProbes: [NamespaceType: (probe: String, feature: String)] = [
        .mount: ("mount_namespace", "CLONE_NEWNS"),
        .pid: ("pid_namespace", "CONFIG_PID_NS, off on some Android GKI builds"),
        .network: ("network_namespace", "CONFIG_NET_NS"),
        .uts: ("uts_namespace", "CONFIG_UTS_NS"),
        .time: ("time_namespace", "CLONE_NEWTIME, Linux 5.6 with CONFIG_TIME_NS"),
        .cgroup: ("cgroup_namespace", "CLONE_NEWCGROUP, Linux 4.6"),
        .ipc: ("ipc_namespace", "CONFIG_IPC_NS, off on Android kernels"),
        .user: ("user_namespace", "CONFIG_USER_NS"),
    ]

    /// Of `types`, the namespaces this kernel cannot create, with the feature it lacks and
    /// what the probe saw.
    public static func namespacesLacking(_ types: [NamespaceType], facts: HostFacts) -> [(type: NamespaceType, feature: String, probe: ProbeResult)] {
        types.compactMap { type in lacking(type, facts: facts).map { (type, $0.feature, $0.probe) } }
    }

    /// The feature `type` needs and what its probe saw, when the kernel cannot create one.
    private static func lacking(_ type: NamespaceType, facts: HostFacts) -> (feature: String, probe: ProbeResult)? {
        guard let (probe, feature) = namespaceProbes[type], let result = facts.probes[probe], !result.isPresent else { return nil }
        return (feature, result)
    }

    /// A namespace the kernel cannot give is refused with one line naming it; nothing is
    /// dropped in silence.
    public static func checkNamespaces(_ spec: Spec, facts: HostFacts) throws(RuntimeError) {
        for (index, namespace) in spec.linux.namespaces.enumerated() where namespace.path == nil {
            guard let (feature, result) = lacking(namespace.type, facts: facts) else { continue }
            if result == .absent(errno: EPERM) && geteuid() != 0 {
                throw RuntimeError("config.json: linux.namespaces[\(index)]: a user who is not root cannot create \(namespace.type.rawValue) namespaces here: unprivileged user namespaces are off (\(result.description))")
            }
            throw RuntimeError("config.json: linux.namespaces[\(index)]: this kernel cannot create \(namespace.type.rawValue) namespaces (\(feature)): \(result.description)")
        }
    }

    /// Recursive mount attributes (`rro`, `rnosuid`, ...) have no fallback: a remount per
    /// submount would race the container's own mounts. Refused before anything is made.
    public func checkMountOptions(_ spec: Spec) throws(RuntimeError) {
        guard !recursiveMountAttributes else { return }
        for (index, mount) in spec.mounts.enumerated() {
            if let option = mount.options.first(where: { MountOptions.isRecursiveAttribute($0) }) {
                throw RuntimeError("config.json: mounts[\(index)].options: \"\(option)\" needs mount_setattr: this kernel cannot set attributes of a whole mount tree (Linux 5.12)")
            }
        }
    }
}
