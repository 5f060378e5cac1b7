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

/// What a mount(2) call mounts.
public enum MountSource {
    case none
    /// A filesystem's own source name: "tmpfs", "proc", "cgroup".
    case named(String)
    /// A bind of the file or directory this fd holds (a host path opened once, our own
    /// /dev/null, a pty).
    case file(PathHandle)
}

/// The syscall seam for what building a container's filesystem needs privileges for: every
/// target is a `PathHandle` that RootDirectory resolved inside the rootfs, and the real
/// system names it to the kernel as /proc/self/fd/N, so nothing is resolved by path again.
/// Lookups and creation stay with RootDirectory (unprivileged, so unit tests use a real
/// temporary tree); tests record these calls and need no root.
public protocol MountSystem {
    func mount(_ source: MountSource, on target: PathHandle, type: String?, flags: UInt, data: String?) throws(RuntimeError)
    /// mount(2) on a path of the runtime's own mount namespace: "/" after the switch of root,
    /// the host's proc and sysfs mounts before a switch without pivot_root.
    func mount(_ source: MountSource, onPath target: String, type: String?, flags: UInt, data: String?) throws(RuntimeError)
    func unmount(_ target: String, detach: Bool) throws(RuntimeError)
    /// mknod, then the node opened without following and checked to be what was made, with
    /// exactly `mode` (mknod applies the umask).
    func makeNode(_ name: String, in directory: PathHandle, type: String, mode: UInt32, major: Int64, minor: Int64) throws(RuntimeError) -> PathHandle
    func chown(_ name: String, in directory: PathHandle, uid: UInt32, gid: UInt32) throws(RuntimeError)
    /// mount_setattr(AT_RECURSIVE, MOUNT_ATTR_RDONLY) on the mount tree at `target` (5.12).
    func makeReadOnlyRecursively(_ target: PathHandle) throws(RuntimeError)
    /// mount_setattr(AT_RECURSIVE) with the given MOUNT_ATTR_* bits set and cleared (5.12).
    func setAttributesRecursively(_ target: PathHandle, set: UInt64, clear: UInt64) throws(RuntimeError)
    func pivotRoot(_ root: PathHandle) throws(RuntimeError)
    func moveRoot(_ root: PathHandle) throws(RuntimeError)
    /// chroot alone: the last resort when neither pivot_root nor MS_MOVE is allowed.
    func changeRoot(_ root: PathHandle) throws(RuntimeError)
    /// Flags of the mount holding `target` that a read-only remount must keep (nosuid, nodev, ...).
    func lockedFlags(_ target: PathHandle) -> UInt
    /// Copies the tree under an open directory into `destination` (tmpcopyup).
    func copyTree(from directory: Int32, to destination: PathHandle) throws(RuntimeError)
    /// The runtime's own mount table.
    func mounts() -> [MountInfoEntry]
}

public struct LinuxMountSystem: MountSystem {
    /// The runtime's procfs, for its mount table; without one the table reads as empty.
    let procfs: Procfs?

    public init(procfs: Procfs?) { self.procfs = procfs }

    public func mount(_ source: MountSource, on target: PathHandle, type: String?, flags: UInt, data: String?) throws(RuntimeError) {
        try mount(source, at: target.procPath, naming: target.path, type: type, flags: flags, data: data)
    }

    public func mount(_ source: MountSource, onPath target: String, type: String?, flags: UInt, data: String?) throws(RuntimeError) {
        try mount(source, at: target, naming: target, type: type, flags: flags, data: data)
    }

    private func mount(_ source: MountSource, at target: String, naming name: String, type: String?, flags: UInt, data: String?) throws(RuntimeError) {
        let sourcePath: String, sourceName: String
        switch source {
        case .none: (sourcePath, sourceName) = ("", "none")
        case .named(let named): (sourcePath, sourceName) = (named, named)
        case .file(let handle): (sourcePath, sourceName) = (handle.procPath, handle.path)
        }
        if libcMount(sourcePath, target, type ?? "", flags, data) != 0 {
            throw RuntimeError.system("mount \(sourceName) to \(name)" + (type.map { " (type \($0))" } ?? ""), errno: errno)
        }
    }

    public func unmount(_ target: String, detach: Bool) throws(RuntimeError) {
        if umount2(target, detach ? Int32(MNT_DETACH) : 0) != 0 { throw RuntimeError.system("unmount \(target)", errno: errno) }
    }

    public func makeNode(_ name: String, in directory: PathHandle, type: String, mode: UInt32, major: Int64, minor: Int64) throws(RuntimeError) -> PathHandle {
        let fileType: mode_t
        switch type {
        case "b": fileType = S_IFBLK
        case "p": fileType = S_IFIFO
        default: fileType = S_IFCHR
        }
        let display = directory.child(name)
        let (deviceMajor, deviceMinor) = (UInt32(truncatingIfNeeded: major), UInt32(truncatingIfNeeded: minor))
        if cc_mknodat(directory.fd, name, fileType | mode_t(mode & 0o7777), deviceMajor, deviceMinor) != 0 {
            throw RuntimeError.system("mknod \(display)", errno: errno)
        }
        let fd = openat(directory.fd, name, CC_O_PATH | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 { throw RuntimeError.system("open \(display)", errno: errno) }
        let node = PathHandle(fd: fd, path: display)
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == fileType,
              fileType == S_IFIFO || (cc_dev_major(UInt64(info.st_rdev)) == deviceMajor && cc_dev_minor(UInt64(info.st_rdev)) == deviceMinor) else {
            throw RuntimeError("\(display) is not the device just made: refusing to use it")
        }
        if libcChmod(node.procPath, mode_t(mode & 0o7777)) != 0 { throw RuntimeError.system("chmod \(display)", errno: errno) }
        return node
    }

    public func chown(_ name: String, in directory: PathHandle, uid: UInt32, gid: UInt32) throws(RuntimeError) {
        if fchownat(directory.fd, name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0 {
            throw RuntimeError.system("chown \(directory.child(name))", errno: errno)
        }
    }

    public func makeReadOnlyRecursively(_ target: PathHandle) throws(RuntimeError) {
        if cc_mount_setattr(target.fd, 1, CC_MOUNT_ATTR_RDONLY, 0) != 0 {
            throw RuntimeError.system("make \(target.path) read-only recursively", errno: errno)
        }
    }

    public func setAttributesRecursively(_ target: PathHandle, set: UInt64, clear: UInt64) throws(RuntimeError) {
        if cc_mount_setattr(target.fd, 1, set, clear) != 0 {
            let code = errno
            if code == ENOSYS { throw RuntimeError("this kernel cannot set attributes of a whole mount tree (mount_setattr, Linux 5.12)", errno: code) }
            throw RuntimeError.system("set recursive mount attributes on \(target.path)", errno: code)
        }
    }

    public func pivotRoot(_ root: PathHandle) throws(RuntimeError) {
        // A persona of a device whose root is a rootfs, where the kernel says EINVAL.
        if HostFacts.currentOverrides().contains("pivot-root-einval") {
            throw RuntimeError.system("pivot_root", errno: EINVAL)
        }
        let oldRoot = libcOpen("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC)
        if oldRoot < 0 { throw RuntimeError.system("open /", errno: errno) }
        defer { libcClose(oldRoot) }
        try check(fchdir(root.fd), "enter the rootfs")
        // pivot_root(".", ".") stacks the old root on top of the new one; no put_old directory
        // is needed, so a read-only rootfs works too.
        try check(cc_pivot_root(".", "."), "pivot_root")
        try check(fchdir(oldRoot), "fchdir to the old root")
        // Slave first, so that detaching the old root does not propagate to the host.
        try mount(.none, onPath: ".", type: nil, flags: MountFlags.slave | MountFlags.recursive, data: nil)
        try unmount(".", detach: true)
        try check(chdir("/"), "chdir /")
    }

    public func moveRoot(_ root: PathHandle) throws(RuntimeError) {
        try check(fchdir(root.fd), "enter the rootfs")
        try mount(.named("."), onPath: "/", type: nil, flags: MountFlags.move, data: nil)
        try check(chroot("."), "chroot into the rootfs")
        try check(chdir("/"), "chdir /")
    }

    public func changeRoot(_ root: PathHandle) throws(RuntimeError) {
        try check(fchdir(root.fd), "enter the rootfs")
        try check(chroot("."), "chroot into the rootfs")
        try check(chdir("/"), "chdir /")
    }

    public func lockedFlags(_ target: PathHandle) -> UInt {
        var info = statvfs()
        // fstatvfs takes an O_PATH fd from 3.12 on; before, the fd's /proc path does.
        guard fstatvfs(target.fd, &info) == 0 || statvfs(target.procPath, &info) == 0 else { return 0 }
        // statvfs's ST_* bits equal the MS_* bits for these flags.
        let keep = MountFlags.noSuid | MountFlags.noDev | MountFlags.noExec | MountFlags.noAtime
            | MountFlags.noDirAtime | MountFlags.relAtime
        return UInt(info.f_flag) & keep
    }

    public func copyTree(from directory: Int32, to destination: PathHandle) throws(RuntimeError) {
        try TreeCopy.copy(from: directory, to: destination)
    }

    public func mounts() -> [MountInfoEntry] {
        guard let procfs, let fd = try? procfs.open("self/mountinfo", flags: O_RDONLY) else { return [] }
        defer { libcClose(fd) }
        return MountInfoEntry.parse(String(decoding: (try? Files.read(fd: fd, path: "/proc/self/mountinfo")) ?? [], as: UTF8.self))
    }
}
