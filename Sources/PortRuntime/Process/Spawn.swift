#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// How the runtime makes the child that becomes (or enters) a container: fork(2), or, when
/// the container has a cgroup2 directory and the kernel allows it, a child born there.
enum Spawn {
    struct Child {
        /// 0 in the child, as with fork(2).
        var pid: pid_t
        /// The cgroup2 directory the child already lives in, so it must not join it again.
        var bornIn: String?
    }

    /// Joining by a cgroup.procs write takes a global lock whose RCU sync costs a grace period
    /// per container; a child born in the cgroup takes it only for reading.
    static func child(_ what: String, cgroupDirectories: [String], strategy: Strategy) throws(RuntimeError) -> Child {
        if strategy.spawnIntoCgroup, let unified = CgroupManager(directories: cgroupDirectories).unifiedDirectory {
            let fd = open(unified, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if fd >= 0 {
                let pid = cc_clone_into_cgroup(fd)
                let cloneErrno = errno
                close(fd)
                if pid >= 0 { return Child(pid: pid, bornIn: unified) }
                // E.g. EBUSY for a v2 cgroup with controllers in a domain that has children:
                // fork, and the child's cgroup.procs write reports the real problem.
                Log.debug("clone3 into \(unified): \(errnoText(cloneErrno)); forking instead")
            }
        }
        let pid = fork()
        if pid < 0 { throw RuntimeError.system("fork \(what)", errno: errno) }
        return Child(pid: pid, bornIn: nil)
    }
}
