#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// What one probe found.
public enum ProbeResult: Equatable, Sendable {
    case present
    /// The call failed: the errno says why (ENOSYS: no such syscall; EINVAL: unknown flag).
    case absent(errno: Int32)
    /// A seccomp filter killed the probe with SIGSYS (Android's app filter does this).
    case trapped

    public var isPresent: Bool { self == .present }

    var code: Int32 {
        switch self {
        case .present: return 0
        case .absent(let errno): return errno
        case .trapped: return -1
        }
    }

    init(code: Int32) {
        self = code == 0 ? .present : code < 0 ? .trapped : .absent(errno: code)
    }

    public var description: String {
        switch self {
        case .present: return "present"
        case .absent(let errno): return "absent (\(errnoText(errno)))"
        case .trapped: return "trapped (SIGSYS)"
        }
    }
}

/// The kernel probes, by name: each one syscall with harmless arguments, never `uname`.
public enum Probes {
    public static let all: [(name: String, run: @Sendable () -> Int32)] = [
        ("memfd_create", { cc_probe_memfd() }),
        ("memfd_seals", { cc_probe_seals() }),
        ("memfd_exec", { cc_probe_memfd_exec() }),
        ("seal_exec", { cc_probe_seal_exec() }),
        ("execveat", { cc_probe_execveat() }),
        ("o_tmpfile", { cc_probe_o_tmpfile("/tmp") }),
        ("clone3", { cc_probe_clone3() }),
        ("clone_into_cgroup", { cc_probe_clone_into_cgroup() }),
        ("pidfd_open", { cc_probe_pidfd_open() }),
        ("pidfd_send_signal", { cc_probe_pidfd_send_signal() }),
        ("close_range", { cc_probe_close_range() }),
        ("close_range_cloexec", { cc_probe_close_range_cloexec() }),
        ("openat2", { cc_probe_openat2() }),
        ("proc_thread_self", { cc_probe_thread_self() }),
        ("new_mount_api", { cc_probe_fsopen() }),
        ("mount_setattr", { cc_probe_mount_setattr() }),
        ("statx_mount_id", { cc_probe_statx_mount_id() }),
        ("seccomp_tsync", { cc_probe_seccomp_flag(1) }),
        ("seccomp_log", { cc_probe_seccomp_flag(2) }),
        ("seccomp_spec_allow", { cc_probe_seccomp_flag(4) }),
        ("seccomp_new_listener", { cc_probe_seccomp_flag(8) }),
        // WAIT_KILLABLE_RECV is valid only with NEW_LISTENER.
        ("seccomp_wait_killable_recv", { cc_probe_seccomp_flag(0x28) }),
        ("seccomp_action_log", { cc_probe_seccomp_action(0x7FFC_0000) }),
        ("ambient_capabilities", { cc_probe_ambient() }),
        ("keyrings", { cc_probe_keyrings() }),
        ("sysv_ipc", { cc_probe_sysv_ipc() }),
        // Namespaces last: the probe child enters each one it creates.
        ("mount_namespace", { namespaceProbe(CC_CLONE_NEWNS) }),
        ("uts_namespace", { namespaceProbe(CC_CLONE_NEWUTS) }),
        ("pid_namespace", { namespaceProbe(CC_CLONE_NEWPID) }),
        ("network_namespace", { namespaceProbe(CC_CLONE_NEWNET) }),
        ("cgroup_namespace", { namespaceProbe(CC_CLONE_NEWCGROUP) }),
        ("ipc_namespace", { namespaceProbe(CC_CLONE_NEWIPC) }),
        ("time_namespace", { namespaceProbe(CC_CLONE_NEWTIME) }),
        ("user_namespace", { namespaceProbe(CC_CLONE_NEWUSER) }),
    ]

    /// A user who is not root makes namespaces only inside a user namespace of their own
    /// (rootless): the probe child enters one, mapped to its own ids, before the first. Once
    /// mapped it is root there (geteuid() is 0), so the later probes do not enter another.
    private static func namespaceProbe(_ flag: Int32) -> Int32 {
        if geteuid() != 0 {
            let uid = getuid(), gid = getgid()
            guard cc_unshare(CC_CLONE_NEWUSER) == 0 else { return errno }
            try? Files.writeValue("/proc/self/setgroups", "deny")
            try? Files.writeValue("/proc/self/uid_map", "0 \(uid) 1")
            try? Files.writeValue("/proc/self/gid_map", "0 \(gid) 1")
        }
        return cc_probe_unshare(flag)
    }

    /// Runs every probe in a forked child that reports over a pipe. A probe killed by
    /// SIGSYS only ends that child: it counts as trapped, and a new child goes on with the
    /// next probe. port-run has no threads, so fork is safe here.
    /// nil when no probe child could be made (fds or pids exhausted): then nothing is known,
    /// and nothing may be cached as if it were.
    public static func runAll() -> [String: ProbeResult]? {
        var results: [String: ProbeResult] = [:]
        var next = 0
        while next < all.count {
            var fds: [Int32] = [-1, -1]
            guard cc_pipe2(&fds, O_CLOEXEC) == 0 else { return nil }
            let start = next
            let child = fork()
            if child < 0 {
                close(fds[0])
                close(fds[1])
                return nil
            }
            if child == 0 {
                close(fds[0])
                for index in start..<all.count {
                    var code = all[index].run()
                    _ = withUnsafeBytes(of: &code) { write(fds[1], $0.baseAddress, 4) }
                }
                _exit(0)
            }
            close(fds[1])
            var code: Int32 = 0
            while next < all.count, withUnsafeMutableBytes(of: &code, { read(fds[0], $0.baseAddress, 4) }) == 4 {
                results[all[next].name] = ProbeResult(code: code)
                next += 1
            }
            close(fds[0])
            var status: Int32 = 0
            _ = retryingEINTR { waitpid(child, &status, 0) }
            if next < all.count {
                // The child died inside probe `next`: by SIGSYS it was trapped; otherwise
                // count it absent rather than loop.
                results[all[next].name] = cc_wifsignaled(status) != 0 && cc_wtermsig(status) == SIGSYS
                    ? .trapped : .absent(errno: EIO)
                next += 1
            }
        }
        return results
    }
}
