#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// A procfs the runtime has checked, held open: every runtime read or write of a /proc file
/// (sysctls, attr/exec, oom_score_adj, id maps, its own fd list) goes through it, never
/// through a path the kernel resolves again. A container can bind a file of its choice over
/// /proc/sys/... or replace /proc with a tmpfs of lookalike files (CVE-2019-16884,
/// CVE-2025-52881): the root must be a real procfs root, and each file opened below it must
/// be on procfs and on the root's own mount, so that no mount covers it.
public struct Procfs {
    /// O_RDONLY|O_DIRECTORY fd of the procfs root.
    public let fd: Int32
    /// What "self" names in this procfs (this process's pid in the procfs's pid namespace).
    let selfName: String
    /// The root's mount id, nil where the kernel tells none (before 3.15).
    let mountID: UInt64?
    let kernelResolves: Bool
    let statxMountIDs: Bool

    /// Opens and checks the procfs at `path` (the runtime's own /proc, or the container's
    /// after the switch of root).
    public static func open(_ path: String = "/proc", strategy: Strategy) throws(RuntimeError) -> Procfs {
        let fd = libcOpen(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw RuntimeError.system("open \(path)", errno: errno) }
        return try checked(fd, path: path, strategy: strategy)
    }

    /// A procfs of this process's own pid namespace for a process already inside the
    /// container (an exec process), never the host's: a container process that may ptrace
    /// (CAP_SYS_PTRACE) would reach the host through it. Where the kernel has the new mount
    /// API (5.2): a fresh procfs no directory holds (not in a user namespace, where the
    /// kernel refuses one over a masked /proc), else a detached copy of the container's /proc
    /// mount without what is mounted over its files. Before 5.2, the container's /proc itself,
    /// checked like any other, and only where the kernel tells mount ids.
    public static func openInContainer(strategy: Strategy, inUserNamespace: Bool) throws(RuntimeError) -> Procfs {
        if strategy.detachedProcfs {
            if !inUserNamespace {
                let fd = cc_detached_procfs()
                if fd >= 0 { return try checked(fd, path: "a detached procfs", strategy: strategy) }
                Log.debug("detached procfs: \(errnoText(errno)); using a copy of the container's /proc mount")
            }
            let copy = cc_detached_copy_of_mount("/proc")
            if copy >= 0 { return try checked(copy, path: "a copy of the container's /proc", strategy: strategy) }
            Log.debug("copy of the container's /proc mount: \(errnoText(errno)); using it in place")
        }
        let procfs = try open("/proc", strategy: strategy)
        // Without a mount id nothing shows a bind over one of its files.
        guard procfs.mountID != nil else {
            procfs.close()
            throw RuntimeError("the container's /proc cannot be checked on this kernel (no mount ids): refusing to use it")
        }
        return procfs
    }

    /// The same procfs for a forked child: "self" names another process now.
    public func forThisProcess() throws(RuntimeError) -> Procfs {
        guard let pid = Self.selfName(fd) else { throw RuntimeError("this process is not in the pid namespace of its procfs") }
        return Procfs(fd: fd, selfName: pid, mountID: mountID, kernelResolves: kernelResolves, statxMountIDs: statxMountIDs)
    }

    private static func selfName(_ fd: Int32) -> String? {
        guard let pid = Files.readLink(at: fd, "self"), !pid.isEmpty, pid.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        return pid
    }

    private static func checked(_ fd: Int32, path: String, strategy: Strategy) throws(RuntimeError) -> Procfs {
        var info = stat()
        guard cc_filesystem_type(fd) == CC_PROC_SUPER_MAGIC, fstat(fd, &info) == 0, info.st_ino == 1 else {
            libcClose(fd)
            throw RuntimeError("\(path) is not the root of a procfs: refusing to use it")
        }
        guard let pid = selfName(fd) else {
            libcClose(fd)
            throw RuntimeError("\(path): this process is not in the pid namespace of that procfs")
        }
        return Procfs(fd: fd, selfName: pid, mountID: mountID(of: fd, procfs: fd, selfName: pid, statx: strategy.statxMountIDs),
                      kernelResolves: strategy.inRootResolution, statxMountIDs: strategy.statxMountIDs)
    }

    public func close() { libcClose(fd) }

    /// Opens `relative` ("self/attr/exec", "sys/net/ipv4/ip_forward", "1234/uid_map") with
    /// `flags`; "self" is this process. No symlink and no other mount is crossed.
    public func open(_ relative: String, flags: Int32) throws(RuntimeError) -> Int32 {
        var parts = relative.split(separator: "/").map(String.init)
        if parts.first == "self" || parts.first == "thread-self" { parts[0] = selfName }
        guard !parts.isEmpty, !parts.contains(".."), !parts.contains(".") else { throw RuntimeError("/proc/\(relative): not a plain procfs path") }
        let display = "/proc/" + relative
        let opened: Int32
        if kernelResolves {
            let resolve = CC_RESOLVE_BENEATH | CC_RESOLVE_NO_XDEV | CC_RESOLVE_NO_MAGICLINKS | CC_RESOLVE_NO_SYMLINKS
            opened = cc_openat2(fd, parts.joined(separator: "/"), UInt64(flags | O_CLOEXEC | O_NOFOLLOW), 0, resolve)
            if opened < 0 {
                if errno == EXDEV { throw RuntimeError("\(display) is covered by another mount: refusing to use it") }
                throw RuntimeError.system("open \(display)", errno: errno)
            }
        } else {
            opened = try walk(parts, flags: flags, display: display)
        }
        // openat2 proved it already (RESOLVE_NO_XDEV); after the walk, a file that is not on
        // procfs, or on another mount than the root, can only be a mount over it.
        if !kernelResolves {
            let mount = mountID.flatMap { _ in mountID(of: opened) }
            guard cc_filesystem_type(opened) == CC_PROC_SUPER_MAGIC, mount == mountID else {
                libcClose(opened)
                throw RuntimeError("\(display) is covered by another mount: refusing to use it")
            }
        }
        return opened
    }

    /// One component at a time, never following a symlink.
    private func walk(_ parts: [String], flags: Int32, display: String) throws(RuntimeError) -> Int32 {
        var directory = fd
        defer { if directory != fd { libcClose(directory) } }
        for part in parts.dropLast() {
            let next = openat(directory, part, CC_O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if next < 0 { throw RuntimeError.system("open \(display)", errno: errno) }
            if directory != fd { libcClose(directory) }
            directory = next
        }
        let opened = openat(directory, parts[parts.count - 1], flags | O_NOFOLLOW | O_CLOEXEC)
        if opened < 0 { throw RuntimeError.system("open \(display)", errno: errno) }
        return opened
    }

    /// Opens what `file` (an O_PATH fd of this process) holds, with `flags`, through this
    /// process's fd directory here, and checks that the kernel opened that very file.
    public func reopen(_ file: Int32, flags: Int32, display: String) throws(RuntimeError) -> Int32 {
        let opened = openat(fd, "\(selfName)/fd/\(file)", flags | O_CLOEXEC)
        if opened < 0 { throw RuntimeError.system("open \(display)", errno: errno) }
        guard Files.sameFile(file, opened) else {
            libcClose(opened)
            throw RuntimeError("\(display) changed while it was opened: refusing to use it")
        }
        return opened
    }

    /// Writes `value` to a procfs file, as `echo value > /proc/...` does.
    public func write(_ relative: String, _ value: String) throws(RuntimeError) {
        let file = try open(relative, flags: O_WRONLY)
        defer { libcClose(file) }
        try Files.writeAll(fd: file, Array(value.utf8), path: "/proc/" + relative)
    }

    /// The fds this process has open, read from its own fd directory here.
    func openDescriptors() -> [Int32]? {
        guard let directory = try? open("self/fd", flags: O_RDONLY | O_DIRECTORY), let listing = fdopendir(directory) else { return nil }
        defer { closedir(listing) }
        let own = dirfd(listing)
        var fds: [Int32] = []
        while let entry = readdir(listing) {
            if let number = Int32(Files.entryName(entry)), number != own { fds.append(number) }
        }
        return fds
    }

    /// The id of the mount an fd is on: statx where the kernel reports it (5.8), else the
    /// fd's fdinfo (3.15); nil before that.
    func mountID(of file: Int32) -> UInt64? {
        Self.mountID(of: file, procfs: fd, selfName: selfName, statx: statxMountIDs)
    }

    private static func mountID(of file: Int32, procfs: Int32, selfName: String, statx: Bool) -> UInt64? {
        var id: UInt64 = 0
        if statx, cc_statx_mount_id(file, &id) == 0 { return id }
        let info = openat(procfs, "\(selfName)/fdinfo/\(file)", O_RDONLY | O_CLOEXEC)
        guard info >= 0 else { return nil }
        defer { libcClose(info) }
        guard let text = try? Files.read(fd: info, path: "fdinfo", limit: 4096) else { return nil }
        for line in text.split(separator: UInt8(ascii: "\n")) where line.starts(with: "mnt_id:".utf8) {
            return UInt64(String(decoding: line.dropFirst(7), as: UTF8.self).trimmed)
        }
        return nil
    }
}
