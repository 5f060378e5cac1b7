#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// The CVE-2019-5736 class: a container process that can reach a runtime process through
/// /proc/PID/exe (a shared pid namespace, an `exec` join) could reopen the runtime's binary
/// for writing and replace it on the host. Before any container stage exists, the runtime
/// re-executes itself from a copy that such a write cannot reach back from.
public enum SelfProtection {
    public enum Method: String, Sendable, CaseIterable {
        /// A detached, read-only bind of the binary (open_tree + mount_setattr): no copy.
        case readOnlyBind = "read-only bind"
        /// F_SEAL_SEAL|SHRINK|GROW|WRITE (and F_SEAL_EXEC where probed), never FUTURE_WRITE.
        case sealedMemfd = "sealed memfd"
        case tmpfile = "O_TMPFILE copy"
        case unlinkedFile = "unlinked temp copy"
    }

    /// Set in the re-executed process's environment, so it does not copy itself again. A C
    /// constructor (CCompat's early_protection.c) takes it out before any Swift code runs, so
    /// it never reaches a container, a hook or another command; that constructor also makes
    /// the read-only bind itself where no seccomp filter is in the way.
    static let marker = CC_SELF_PROTECTION_MARKER

    /// The methods this kernel allows, cheapest first. Probes matter here: on Android the
    /// app's seccomp filter kills a caller of open_tree or mount_setattr outright.
    public static func methods(facts: HostFacts) -> [Method] {
        var methods: [Method] = []
        if facts.has("new_mount_api") && facts.has("mount_setattr") { methods.append(.readOnlyBind) }
        if facts.has("memfd_create") && facts.has("memfd_seals") { methods.append(.sealedMemfd) }
        if facts.has("o_tmpfile") { methods.append(.tmpfile) }
        methods.append(.unlinkedFile)
        return methods
    }

    /// Why no copy is needed, or nil when one is.
    public static func unneededBecause() -> String? {
        if let method = cc_self_protection_marker() { return "already re-executed from a \(String(cString: method))" }
        var info = statvfs()
        if statvfs("/proc/self/exe", &info) == 0, info.f_flag & UInt(ST_RDONLY) != 0 { return "the binary is on a read-only mount" }
        let fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            defer { close(fd) }
            let seals = cc_fcntl_int(fd, CC_F_GET_SEALS, 0)
            if seals >= 0 && seals & CC_F_SEAL_WRITE != 0 { return "the binary is already a sealed memfd" }
        }
        return nil
    }

    /// Re-executes the runtime (same arguments and environment) from the first method that
    /// works; returns only when no copy is needed. Must run before anything is forked into a
    /// container, and before the caller has side effects a second run would repeat.
    public static func ensure(facts: HostFacts, tempDirectories: [String]) throws(RuntimeError) {
        if let reason = unneededBecause() {
            Log.debug("self-protection: not needed, \(reason)")
            return
        }
        let binary = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)
        if binary < 0 { throw RuntimeError.system("self-protection: open /proc/self/exe", errno: errno) }
        defer { close(binary) }
        var failures: [String] = []
        for method in methods(facts: facts) {
            let fd: Int32
            do { fd = try make(method, from: binary, facts: facts, tempDirectories: tempDirectories) } catch {
                failures.append("\(method.rawValue): \(error.message)")
                continue
            }
            Log.debug("self-protection: re-executing from a \(method.rawValue)")
            setenv(marker, method.rawValue, 1)
            if facts.has("execveat") { _ = cc_execveat_fd(fd, CommandLine.unsafeArgv, cc_environ()) }
            // Kernels without execveat (before 3.19) still have the fd path.
            _ = execve("/proc/self/fd/\(fd)", CommandLine.unsafeArgv, cc_environ())
            failures.append("\(method.rawValue): execute: \(errnoText(errno))")
            unsetenv(marker)
            close(fd)
        }
        throw RuntimeError("self-protection: no safe copy of the runtime binary: \(failures.joined(separator: "; "))")
    }

    private static func make(_ method: Method, from binary: Int32, facts: HostFacts, tempDirectories: [String]) throws(RuntimeError) -> Int32 {
        switch method {
        case .readOnlyBind:
            var failedCall: UnsafePointer<CChar>?
            let fd = cc_read_only_bind(binary, &failedCall)
            if fd < 0 { throw RuntimeError.system(failedCall.map { String(cString: $0) } ?? "read-only bind", errno: errno) }
            return fd
        case .sealedMemfd:
            let flags = CC_MFD_CLOEXEC | CC_MFD_ALLOW_SEALING | (facts.has("memfd_exec") ? CC_MFD_EXEC : 0)
            let fd = cc_memfd_create("port-run", flags)
            if fd < 0 { throw RuntimeError.system("memfd_create", errno: errno) }
            do throws(RuntimeError) {
                try copy(binary, to: fd)
                let seals = CC_F_SEAL_SEAL | CC_F_SEAL_SHRINK | CC_F_SEAL_GROW | CC_F_SEAL_WRITE
                    | (facts.has("seal_exec") ? CC_F_SEAL_EXEC : 0)
                if cc_fcntl_int(fd, CC_F_ADD_SEALS, seals) != 0 { throw RuntimeError.system("seal", errno: errno) }
            } catch {
                close(fd)
                throw error
            }
            return fd
        case .tmpfile, .unlinkedFile:
            var failures: [String] = []
            for directory in tempDirectories {
                var info = statvfs()
                guard statvfs(directory, &info) == 0, info.f_flag & UInt(8) /* ST_NOEXEC */ == 0 else { continue }
                let fd: Int32
                if method == .tmpfile {
                    fd = open(directory, CC_O_TMPFILE | O_RDWR | O_CLOEXEC, 0o700)
                } else {
                    var template = Array((directory + "/.port-run-XXXXXX").utf8CString)
                    fd = mkstemp(&template)
                    if fd >= 0 {
                        _ = template.withUnsafeBufferPointer { unlink($0.baseAddress!) }
                        _ = cc_fcntl_int(fd, F_SETFD, FD_CLOEXEC)
                    }
                }
                if fd < 0 {
                    failures.append("\(directory): \(errnoText(errno))")
                    continue
                }
                return try readOnlyCopy(binary, into: fd)
            }
            throw RuntimeError(failures.isEmpty ? "no writable directory without noexec" : failures.joined(separator: ", "))
        }
    }

    /// A file copy cannot be sealed: the writable descriptor is swapped for a read-only one,
    /// so no descriptor that could write it survives into the re-executed runtime.
    private static func readOnlyCopy(_ binary: Int32, into fd: Int32) throws(RuntimeError) -> Int32 {
        defer { close(fd) }
        try copy(binary, to: fd)
        if fchmod(fd, 0o500) != 0 { throw RuntimeError.system("chmod the copy", errno: errno) }
        let readOnly = open("/proc/self/fd/\(fd)", O_RDONLY | O_CLOEXEC)
        if readOnly < 0 { throw RuntimeError.system("reopen the copy", errno: errno) }
        return readOnly
    }

    private static func copy(_ binary: Int32, to fd: Int32) throws(RuntimeError) {
        if lseek(binary, 0, SEEK_SET) < 0 { throw RuntimeError.system("seek /proc/self/exe", errno: errno) }
        try Files.copyContents(from: binary, to: fd, display: "the binary")
    }
}
