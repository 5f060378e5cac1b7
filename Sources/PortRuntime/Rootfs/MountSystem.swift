#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// Mount flag bits from <sys/mount.h>; the Glibc module does not export all of them.
public enum MountFlags {
    public static let readOnly: UInt = 0x1
    public static let noSuid: UInt = 0x2
    public static let noDev: UInt = 0x4
    public static let noExec: UInt = 0x8
    public static let synchronous: UInt = 0x10
    public static let remount: UInt = 0x20
    public static let mandLock: UInt = 0x40
    public static let dirSync: UInt = 0x80
    public static let noSymFollow: UInt = 0x100
    public static let noAtime: UInt = 0x400
    public static let noDirAtime: UInt = 0x800
    public static let bind: UInt = 0x1000
    public static let move: UInt = 0x2000
    public static let recursive: UInt = 0x4000
    public static let silent: UInt = 0x8000
    public static let unbindable: UInt = 1 << 17
    public static let `private`: UInt = 1 << 18
    public static let slave: UInt = 1 << 19
    public static let shared: UInt = 1 << 20
    public static let relAtime: UInt = 1 << 21
    public static let iVersion: UInt = 1 << 23
    public static let strictAtime: UInt = 1 << 24
    public static let lazyTime: UInt = 1 << 25
    public static let propagation: UInt = unbindable | `private` | slave | shared
}

public enum FileKind: Equatable, Sendable { case directory, regular, symlink, other }

/// The syscall seam for everything that builds a container's filesystem. The real
/// implementation calls the kernel; tests record the calls and need no root.
public protocol MountSystem {
    func mount(source: String?, target: String, type: String?, flags: UInt, data: String?) throws(RuntimeError)
    func unmount(_ target: String, detach: Bool) throws(RuntimeError)
    func kind(of path: String) -> FileKind?
    func readLink(_ path: String) -> String?
    func makeDirectories(_ path: String, mode: UInt32) throws(RuntimeError)
    func createFile(_ path: String) throws(RuntimeError)
    func makeNode(_ path: String, type: String, mode: UInt32, major: Int64, minor: Int64) throws(RuntimeError)
    func chown(_ path: String, uid: UInt32, gid: UInt32) throws(RuntimeError)
    func symlink(target: String, at path: String) throws(RuntimeError)
    func remove(_ path: String)
    func pivotRoot(_ newRoot: String) throws(RuntimeError)
    func moveRoot(_ newRoot: String) throws(RuntimeError)
    /// chroot alone: the last resort when neither pivot_root nor MS_MOVE is allowed.
    func changeRoot(_ newRoot: String) throws(RuntimeError)
    /// Flags of the mount holding `path` that a read-only remount must keep (nosuid, nodev, ...).
    func lockedFlags(_ path: String) -> UInt
    /// Permission bits (with sticky/setgid) of an existing path, nil when it does not exist.
    func permissions(of path: String) -> UInt32?
    func chmod(_ path: String, mode: UInt32) throws(RuntimeError)
    func openDirectory(_ path: String) throws(RuntimeError) -> Int32
    func closeDirectory(_ fd: Int32)
    /// Copies the tree under an open directory into `destination` (tmpcopyup).
    func copyTree(from directory: Int32, to destination: String) throws(RuntimeError)
}

public struct LinuxMountSystem: MountSystem {
    public init() {}

    public func mount(source: String?, target: String, type: String?, flags: UInt, data: String?) throws(RuntimeError) {
        if libcMount(source ?? "", target, type ?? "", flags, data) != 0 {
            throw RuntimeError.system("mount \(source ?? "none") to \(target)" + (type.map { " (type \($0))" } ?? ""), errno: errno)
        }
    }

    public func unmount(_ target: String, detach: Bool) throws(RuntimeError) {
        if umount2(target, detach ? Int32(MNT_DETACH) : 0) != 0 { throw RuntimeError.system("unmount \(target)", errno: errno) }
    }

    public func kind(of path: String) -> FileKind? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFREG: return .regular
        case S_IFLNK: return .symlink
        default: return .other
        }
    }

    public func readLink(_ path: String) -> String? { Files.readLink(path) }

    public func makeDirectories(_ path: String, mode: UInt32) throws(RuntimeError) {
        try Files.makeDirectories(path, mode: mode_t(mode))
    }

    public func createFile(_ path: String) throws(RuntimeError) {
        let fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
        if fd < 0 { throw RuntimeError.system("create \(path)", errno: errno) }
        close(fd)
    }

    public func makeNode(_ path: String, type: String, mode: UInt32, major: Int64, minor: Int64) throws(RuntimeError) {
        let fileType: mode_t
        switch type {
        case "b": fileType = S_IFBLK
        case "p": fileType = S_IFIFO
        default: fileType = S_IFCHR
        }
        if cc_mknod(path, fileType | mode_t(mode & 0o7777), UInt32(truncatingIfNeeded: major), UInt32(truncatingIfNeeded: minor)) != 0 {
            throw RuntimeError.system("mknod \(path)", errno: errno)
        }
        // mknod applies the umask; devices must carry exactly the mode the spec asked for.
        if libcChmod(path, mode_t(mode & 0o7777)) != 0 { throw RuntimeError.system("chmod \(path)", errno: errno) }
    }

    public func chown(_ path: String, uid: UInt32, gid: UInt32) throws(RuntimeError) {
        if libcChown(path, uid, gid) != 0 { throw RuntimeError.system("chown \(path)", errno: errno) }
    }

    public func symlink(target: String, at path: String) throws(RuntimeError) {
        if libcSymlink(target, path) != 0, errno != EEXIST { throw RuntimeError.system("symlink \(path)", errno: errno) }
    }

    public func remove(_ path: String) { unlink(path) }

    public func pivotRoot(_ newRoot: String) throws(RuntimeError) {
        // A persona of a device whose root is a rootfs, where the kernel says EINVAL.
        if HostFacts.currentOverrides().contains("pivot-root-einval") {
            throw RuntimeError.system("pivot_root \(newRoot)", errno: EINVAL)
        }
        let oldRoot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC)
        if oldRoot < 0 { throw RuntimeError.system("open /", errno: errno) }
        defer { close(oldRoot) }
        try check(chdir(newRoot), "chdir \(newRoot)")
        // pivot_root(".", ".") stacks the old root on top of the new one; no put_old directory
        // is needed, so a read-only rootfs works too.
        try check(cc_pivot_root(".", "."), "pivot_root \(newRoot)")
        try check(fchdir(oldRoot), "fchdir to the old root")
        // Slave first, so that detaching the old root does not propagate to the host.
        try mount(source: nil, target: ".", type: nil, flags: MountFlags.slave | MountFlags.recursive, data: nil)
        try unmount(".", detach: true)
        try check(chdir("/"), "chdir /")
    }

    public func moveRoot(_ newRoot: String) throws(RuntimeError) {
        try check(chdir(newRoot), "chdir \(newRoot)")
        try mount(source: newRoot, target: "/", type: nil, flags: MountFlags.move, data: nil)
        try check(chroot("."), "chroot \(newRoot)")
        try check(chdir("/"), "chdir /")
    }

    public func permissions(of path: String) -> UInt32? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return UInt32(info.st_mode & 0o7777)
    }

    public func chmod(_ path: String, mode: UInt32) throws(RuntimeError) {
        if libcChmod(path, mode_t(mode)) != 0 { throw RuntimeError.system("chmod \(path)", errno: errno) }
    }

    public func openDirectory(_ path: String) throws(RuntimeError) -> Int32 {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw RuntimeError.system("open \(path)", errno: errno) }
        return fd
    }

    public func closeDirectory(_ fd: Int32) { close(fd) }

    public func copyTree(from directory: Int32, to destination: String) throws(RuntimeError) {
        try TreeCopy.copy(from: directory, to: destination)
    }

    public func changeRoot(_ newRoot: String) throws(RuntimeError) {
        try check(chroot(newRoot), "chroot \(newRoot)")
        try check(chdir("/"), "chdir /")
    }

    public func lockedFlags(_ path: String) -> UInt {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return 0 }
        // statvfs's ST_* bits equal the MS_* bits for these flags.
        let keep = MountFlags.noSuid | MountFlags.noDev | MountFlags.noExec | MountFlags.noAtime
            | MountFlags.noDirAtime | MountFlags.relAtime
        return UInt(info.f_flag) & keep
    }
}
