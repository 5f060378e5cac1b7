#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// User namespaces: the parent writes the child's uid_map and gid_map (no newuidmap); the
/// child makes the namespace and then its pid namespace inside it.
enum IDMaps {
    static func write(_ linux: Spec.Linux, to pid: pid_t, strategy: Strategy) throws(RuntimeError) {
        func lines(_ mappings: [Spec.IDMapping]) -> String {
            mappings.map { "\($0.containerID) \($0.hostID) \($0.size)\n" }.joined()
        }
        let unprivileged = geteuid() != 0
        do {
            let procfs = try Procfs.open(strategy: strategy)
            defer { procfs.close() }
            try procfs.write("\(pid)/uid_map", lines(linux.uidMappings))
            // The kernel lets a user who is not root map a gid only once setgroups is off
            // for good in that namespace (else dropping a group could grant access).
            if unprivileged { try procfs.write("\(pid)/setgroups", "deny") }
            try procfs.write("\(pid)/gid_map", lines(linux.gidMappings))
        } catch {
            let hint = unprivileged && error.errno == EPERM ? " (a user who is not root can map only their own uid and gid, one id each)" : ""
            throw RuntimeError("write the user namespace's id mappings: \(error.message)\(hint)")
        }
    }

    /// In the init stage: enter (or create) the user namespace and become its root; returns
    /// true in the process that goes on as the container's init.
    static func enterUserNamespace(_ spec: Spec, syncFd: Int32) throws(RuntimeError) {
        guard let user = spec.namespace(.user) else { return }
        if let path = user.path {
            try Namespaces.join(path, type: .user)
        } else {
            try check(cc_unshare(CC_CLONE_NEWUSER), "unshare user namespace")
            // A user who is not root may write only the maps of a process it could ptrace:
            // dumpable for just this exchange, with nothing of the container running yet (runc
            // does the same).
            _ = cc_prctl(CC_PR_SET_DUMPABLE, 1, 0, 0, 0)
            SyncChannel.send(.needIDMaps, on: syncFd)
            let answer = SyncChannel.receive(on: syncFd)
            _ = cc_prctl(CC_PR_SET_DUMPABLE, 0, 0, 0, 0)
            guard answer == .idMapsDone else { throw RuntimeError("the runtime stopped before writing the id maps") }
        }
        // Root of the new namespace (when 0 is mapped): full capabilities over what it owns.
        _ = cc_setresgid(0, 0, 0)
        _ = cc_setresuid(0, 0, 0)
    }

    /// After the user namespace: the pid namespace, owned by it, and a fork so that the
    /// container's init is its pid 1. The intermediate reports the host pid and leaves.
    /// True in the forked process that goes on as init.
    @discardableResult
    static func enterPidNamespace(_ spec: Spec, syncFd: Int32) throws(RuntimeError) -> Bool {
        guard spec.namespace(.user) != nil, let pidNamespace = spec.namespace(.pid) else { return false }
        if let path = pidNamespace.path {
            try Namespaces.join(path, type: .pid)
        } else {
            try check(cc_unshare(CC_CLONE_NEWPID), "unshare pid namespace")
        }
        try SyncChannel.handOverForked(fork(), what: "the container's init", on: syncFd)
        return true
    }
}
