#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// Something inside the container's rootfs, resolved once and held open (usually O_PATH):
/// every later mount, chmod or creation goes through this fd, never through its path, which
/// a container sharing the directory could swap for a symlink in between (CVE-2021-30465,
/// CVE-2024-45310).
public final class PathHandle {
    public let fd: Int32
    /// Where it is, as the container sees it ("/dev/pts"), symlinks already followed.
    public let path: String

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { libcClose(fd) }

    /// The fd as a path the kernel resolves to exactly this file: mount(2) takes paths only.
    public var procPath: String { "/proc/self/fd/\(fd)" }

    /// The container path of `name` inside this directory.
    public func child(_ name: String) -> String { (path == "/" ? "" : path) + "/" + name }

    var fileType: mode_t? {
        var info = stat()
        return fstat(fd, &info) == 0 ? info.st_mode & S_IFMT : nil
    }
}

/// The container's root, held open, and the one way to find or make anything inside it:
/// paths are resolved as the container would see them (symlinks followed, "/" and ".."
/// never above the root), by openat2 RESOLVE_IN_ROOT where the kernel has it, else by a
/// walk of one component at a time with O_NOFOLLOW that reads each symlink and goes on
/// from the root fd, so that no lookup ever leaves it. Missing directories and files are
/// made with mkdirat/openat relative to a parent already held.
public struct RootDirectory {
    public let root: PathHandle
    /// The root's path in the runtime's mount namespace ("/" once it is the process's root):
    /// before the switch of root every resolved fd is checked to lie below it.
    public let hostPath: String
    let kernelResolves: Bool
    static let maxSymlinks = 40

    public init(root: PathHandle, hostPath: String, kernelResolves: Bool) {
        self.root = root
        self.hostPath = hostPath
        self.kernelResolves = kernelResolves
    }

    /// Opens `hostPath` as the root.
    public static func open(_ hostPath: String, kernelResolves: Bool) throws(RuntimeError) -> RootDirectory {
        let fd = libcOpen(hostPath, CC_O_PATH | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw RuntimeError.system("open the rootfs \(hostPath)", errno: errno) }
        return RootDirectory(root: PathHandle(fd: fd, path: "/"), hostPath: hostPath, kernelResolves: kernelResolves)
    }

    enum Creation: Equatable {
        case none
        case directories(mode_t)
        /// Missing directories above it, then an empty file.
        case file(mode_t)
    }

    /// The file at `path`, nil when it does not exist. `followFinal: false` returns a final
    /// symlink itself; `noSymlinks` refuses any symlink on the way (procfs and sysfs targets).
    public func lookup(_ path: String, followFinal: Bool = true, noSymlinks: Bool = false) throws(RuntimeError) -> PathHandle? {
        try resolve(path, followFinal: followFinal, noSymlinks: noSymlinks, creating: .none)
    }

    /// `mkdir -p` inside the root; the directory's handle.
    public func makeDirectories(_ path: String, mode: mode_t = 0o755, noSymlinks: Bool = false) throws(RuntimeError) -> PathHandle {
        let handle = try resolve(path, followFinal: true, noSymlinks: noSymlinks, creating: .directories(mode))!
        guard handle.fileType == S_IFDIR else { throw RuntimeError("\(path): not a directory") }
        return handle
    }

    /// The file at `path`, made empty (with its directories) if missing.
    public func makeFile(_ path: String, mode: mode_t = 0o644) throws(RuntimeError) -> PathHandle {
        try resolve(path, followFinal: true, noSymlinks: false, creating: .file(mode))!
    }

    /// The directory that holds `path`'s last component (made if missing) and that name.
    public func parent(of path: String) throws(RuntimeError) -> (directory: PathHandle, name: String) {
        let parts = SafePath.components(path)
        guard let name = parts.last, name != "..", name != "." else { throw RuntimeError("\(path): no file name") }
        return (try makeDirectories("/" + parts.dropLast().joined(separator: "/")), name)
    }

    /// After a mount on `handle`, its fd still names what lies underneath: the new mount is
    /// found by resolving the same path again, which must lead to the same place.
    public func reopenAfterMount(_ handle: PathHandle) throws(RuntimeError) -> PathHandle {
        guard let reopened = try lookup(handle.path) else { throw RuntimeError("\(handle.path) disappeared while it was mounted on") }
        if checksPlacement, Files.readLink(reopened.procPath) != Files.readLink(handle.procPath) {
            throw RuntimeError("\(handle.path) was moved while it was mounted on: refusing to go on")
        }
        return reopened
    }

    /// A directory inside one already held (a fresh tmpfs), made when missing; never a symlink.
    public func childDirectory(_ name: String, of directory: PathHandle, mode: mode_t = 0o755) throws(RuntimeError) -> PathHandle {
        let display = directory.child(name)
        if mkdirat(directory.fd, name, mode) != 0, errno != EEXIST { throw RuntimeError.system("mkdir \(display)", errno: errno) }
        let fd = openat(directory.fd, name, CC_O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 { throw RuntimeError.system("open \(display)", errno: errno) }
        return try placed(fd, expected: display, asked: display)
    }

    /// An empty file (or an existing one that is no directory) named `name` in a directory
    /// already held; never a symlink. A bind target for a file. An existing file is never
    /// opened for writing: a fifo there would block.
    public func childFile(_ name: String, of directory: PathHandle, mode: mode_t = 0o644) throws(RuntimeError) -> PathHandle {
        let display = directory.child(name)
        let made = openat(directory.fd, name, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_NONBLOCK | O_CLOEXEC, mode)
        if made >= 0 { libcClose(made) } else if errno != EEXIST { throw RuntimeError.system("create \(display)", errno: errno) }
        let fd = openat(directory.fd, name, CC_O_PATH | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 { throw RuntimeError.system("open \(display)", errno: errno) }
        let handle = try placed(fd, expected: display, asked: display)
        guard let type = handle.fileType, type != S_IFDIR, type != S_IFLNK else {
            throw RuntimeError("\(display) is a directory or a symbolic link: refusing to bind a file there")
        }
        return handle
    }

    /// Before the switch of root, paths are checked against what the kernel says the fd is.
    private var checksPlacement: Bool { hostPath != "/" }

    private func resolve(_ path: String, followFinal: Bool, noSymlinks: Bool, creating: Creation) throws(RuntimeError) -> PathHandle? {
        if kernelResolves {
            var resolve = CC_RESOLVE_IN_ROOT | CC_RESOLVE_NO_MAGICLINKS
            if noSymlinks { resolve |= CC_RESOLVE_NO_SYMLINKS }
            let flags = UInt64(CC_O_PATH | O_CLOEXEC | (followFinal ? 0 : O_NOFOLLOW))
            for _ in 0..<4 {
                let fd = cc_openat2(root.fd, path, flags, 0, resolve)
                if fd >= 0 { return try placed(fd, expected: nil, asked: path) }
                // EAGAIN: a rename raced the lookup. Anything else (missing, a symlink where
                // none may be) is the walk's to answer in full, or to create.
                if errno == ENOENT && creating == .none { return nil }
                if errno != EAGAIN { break }
            }
        }
        return try walk(path, followFinal: followFinal, noSymlinks: noSymlinks, creating: creating)
    }

    /// One component at a time from the root fd. ".." pops a directory this walk holds, so it
    /// can never climb above the root, whatever is renamed meanwhile; a symlink is read and
    /// its target walked in its place ("/" meaning the root).
    private func walk(_ path: String, followFinal: Bool, noSymlinks: Bool, creating: Creation) throws(RuntimeError) -> PathHandle? {
        var held: [(fd: Int32, name: String)] = []
        defer { for entry in held { libcClose(entry.fd) } }
        var pending = Array(SafePath.components(path).reversed())
        var symlinks = 0
        var retries = 0
        while let part = pending.popLast() {
            if part == "." { continue }
            if part == ".." {
                if let last = held.popLast() { libcClose(last.fd) }
                continue
            }
            let directory = held.last?.fd ?? root.fd
            let isLast = pending.isEmpty
            let fd = openat(directory, part, CC_O_PATH | O_NOFOLLOW | O_CLOEXEC)
            if fd < 0 {
                let code = errno
                guard code == ENOENT, creating != .none else {
                    if code == ENOENT { return nil }
                    throw RuntimeError.system("open \(display(held, part))", errno: code)
                }
                retries += 1
                if retries > 16 { throw RuntimeError("create \(display(held, part)): it keeps changing") }
                // A directory the walk holds may have been moved out of the root since it was
                // opened: nothing is made in it unless it is still inside.
                if directory != root.fd { try checkInside(directory, display: display(held, part)) }
                try create(part, in: directory, last: isLast, creating: creating, display: display(held, part))
                pending.append(part)
                continue
            }
            var info = stat()
            if fstat(fd, &info) != 0 {
                let code = errno
                libcClose(fd)
                throw RuntimeError.system("stat \(display(held, part))", errno: code)
            }
            switch info.st_mode & S_IFMT {
            case S_IFLNK where !(isLast && !followFinal):
                let target = Files.readLink(at: fd, "")
                libcClose(fd)
                if noSymlinks { throw RuntimeError("\(display(held, part)) is a symbolic link") }
                symlinks += 1
                guard let target, symlinks <= Self.maxSymlinks else {
                    throw RuntimeError("resolve \(path): too many levels of symbolic links")
                }
                if target.hasPrefix("/") {
                    for entry in held { libcClose(entry.fd) }
                    held.removeAll()
                }
                pending += SafePath.components(target).reversed()
            case S_IFDIR, S_IFLNK:
                held.append((fd, part))
            default:
                if !isLast {
                    libcClose(fd)
                    throw RuntimeError.system("open \(display(held, part))", errno: ENOTDIR)
                }
                held.append((fd, part))
            }
        }
        let resolved = "/" + held.map(\.name).joined(separator: "/")
        guard let last = held.popLast() else {
            let fd = cc_fcntl_int(root.fd, F_DUPFD_CLOEXEC, 3)
            if fd < 0 { throw RuntimeError.system("duplicate the root fd", errno: errno) }
            return PathHandle(fd: fd, path: "/")
        }
        return try placed(last.fd, expected: resolved, asked: path)
    }

    /// A missing component: the file itself when it is the last one and a file is wanted,
    /// else a directory. EEXIST means a racer made it first; the walk then looks again.
    private func create(_ name: String, in directory: Int32, last: Bool, creating: Creation, display: String) throws(RuntimeError) {
        switch creating {
        case .file(let mode) where last:
            let fd = openat(directory, name, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, mode)
            if fd >= 0 { libcClose(fd) } else if errno != EEXIST { throw RuntimeError.system("create \(display)", errno: errno) }
        case .directories(let mode):
            if mkdirat(directory, name, mode) != 0, errno != EEXIST { throw RuntimeError.system("mkdir \(display)", errno: errno) }
        default:
            if mkdirat(directory, name, 0o755) != 0, errno != EEXIST { throw RuntimeError.system("mkdir \(display)", errno: errno) }
        }
    }

    /// Checks that the kernel names `fd` below the root (a directory the walk held may have
    /// been moved out of it meanwhile), and wraps it with the path it has there.
    private func placed(_ fd: Int32, expected: String?, asked: String) throws(RuntimeError) -> PathHandle {
        guard checksPlacement else { return PathHandle(fd: fd, path: expected ?? SafePath.clean(asked)) }
        guard let actual = Files.readLink("/proc/self/fd/\(fd)") else {
            let code = errno
            libcClose(fd)
            throw RuntimeError.system("find where \(asked) is", errno: code)
        }
        guard let inside = containerPath(ofHostPath: actual), expected == nil || inside == expected else {
            libcClose(fd)
            throw RuntimeError("\(asked) resolved to \(actual), outside the rootfs \(hostPath): refusing to use it")
        }
        return PathHandle(fd: fd, path: inside)
    }

    /// Where a path the kernel names for an fd lies inside the root, nil when outside.
    private func containerPath(ofHostPath actual: String) -> String? {
        actual == hostPath ? "/" : actual.hasPrefix(hostPath + "/") ? String(actual.dropFirst(hostPath.count)) : nil
    }

    private func checkInside(_ directory: Int32, display: String) throws(RuntimeError) {
        guard checksPlacement else { return }
        guard let actual = Files.readLink("/proc/self/fd/\(directory)"), containerPath(ofHostPath: actual) != nil else {
            throw RuntimeError("create \(display): its directory was moved out of the rootfs \(hostPath): refusing to go on")
        }
    }

    private func display(_ held: [(fd: Int32, name: String)], _ part: String) -> String {
        "/" + (held.map(\.name) + [part]).joined(separator: "/")
    }
}
