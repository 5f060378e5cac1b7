#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// The container process's own settings, applied by the init stage after the root switch.
enum ProcessSetup {
    static func applyRlimits(_ limits: [Spec.Rlimit]) throws(RuntimeError) {
        for limit in limits {
            guard let resource = RlimitTable.resources[limit.type] else { continue }
            var value = rlimit(rlim_cur: rlim_t(limit.soft), rlim_max: rlim_t(limit.hard))
            if setrlimit(__rlimit_resource_t(UInt32(resource)), &value) != 0 {
                throw RuntimeError.system("setrlimit \(limit.type)", errno: errno)
            }
        }
    }

    static func writeOOMScoreAdj(_ value: Int32, procfs: Procfs) throws(RuntimeError) {
        try procfs.write("self/oom_score_adj", String(value))
    }

    /// As runc: stdio the process could not use as its own user (a pty, a pipe of the
    /// caller's) becomes that user's, keeping its group; /dev/null and what it owns already
    /// stay. Where the kernel will not allow it (an unmapped owner), it stays as it is.
    static func giveStdioTo(_ user: Spec.User) {
        for fd: Int32 in 0...2 {
            var info = stat()
            guard fstat(fd, &info) == 0, info.st_uid != user.uid else { continue }
            if info.st_mode & S_IFMT == S_IFCHR, cc_dev_major(UInt64(info.st_rdev)) == 1, cc_dev_minor(UInt64(info.st_rdev)) == 3 { continue }
            if fchown(fd, user.uid, info.st_gid) != 0 {
                Log.debug("chown stdio fd \(fd) to \(user.uid): \(errnoText(errno)); leaving it")
            }
        }
    }

    /// Supplementary groups first (they need CAP_SETGID), then gid, then uid.
    static func switchUser(_ user: Spec.User) throws(RuntimeError) {
        let groups = user.additionalGids.map { gid_t($0) }
        if groups.withUnsafeBufferPointer({ cc_setgroups($0.count, $0.baseAddress) }) != 0 {
            // Without CAP_SETGID (a user namespace with setgroups denied) keep what we have,
            // unless the spec asked for groups we cannot grant.
            if !groups.isEmpty || errno != EPERM { throw RuntimeError.system("setgroups", errno: errno) }
        }
        try check(cc_setresgid(user.gid, user.gid, user.gid), "setresgid \(user.gid)")
        try check(cc_setresuid(user.uid, user.uid, user.uid), "setresuid \(user.uid)")
    }

    /// runc's rule: a name without "/" is searched in the container's PATH; the result must
    /// be an executable regular file, checked before the container is reported as created.
    static func resolveExecutable(_ name: String, env: [String]) throws(RuntimeError) -> String {
        if name.contains("/") {
            try checkExecutable(name, display: name)
            return name
        }
        let pathVariable = env.last { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) }
            ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        for directory in pathVariable.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (directory.isEmpty ? "." : String(directory)) + "/" + name
            if (try? checkExecutable(candidate, display: name)) != nil { return candidate }
        }
        throw RuntimeError("exec: \"\(name)\": executable file not found in $PATH")
    }

    private static func checkExecutable(_ path: String, display: String) throws(RuntimeError) {
        var info = stat()
        if stat(path, &info) != 0 { throw RuntimeError("exec: \"\(display)\": stat \(path): \(errnoText(errno))") }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw RuntimeError("exec: \"\(display)\": is a directory") }
        if info.st_mode & 0o111 == 0 { throw RuntimeError("exec: \"\(display)\": permission denied") }
    }

    /// HOME comes from the container's own /etc/passwd (never the host's NSS), else "/".
    static func environment(_ env: [String], uid: UInt32) -> [String] {
        if env.contains(where: { $0.hasPrefix("HOME=") }) { return env }
        let fields = Files.passwdEntry(uid: uid) ?? []
        let home = fields.count >= 6 && !fields[5].isEmpty ? String(fields[5]) : "/"
        return env + ["HOME=" + home]
    }

    /// Writes each sysctl from inside the container's namespaces, through the runtime's own
    /// checked procfs: /proc/sys shows the namespaces of whoever opens a file there, and spec
    /// validation admits only namespaced keys, so each value reaches the container alone.
    static func applySysctls(_ sysctls: [String: String], procfs: Procfs) throws(RuntimeError) {
        for key in sysctls.keys.sorted() {
            do { try procfs.write("sys/" + key.replacingDots(), sysctls[key]!) } catch { throw RuntimeError("sysctl \(key): \(error.message)") }
        }
    }
}

private extension String {
    func replacingDots() -> String { String(map { $0 == "." ? "/" : $0 }) }
}
