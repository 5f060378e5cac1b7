#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// A recursive copy from an open directory into another (files, directories, symlinks;
/// modes and owners), for `tmpcopyup`. Both sides are fds and every name is created with
/// O_EXCL/O_NOFOLLOW relative to them, so no symlink in either tree is ever followed.
/// Device nodes and sockets are skipped: a tmpfs copy has no use for them.
enum TreeCopy {
    static func copy(from source: Int32, to destination: PathHandle) throws(RuntimeError) {
        let target = openat(destination.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if target < 0 { throw RuntimeError.system("open \(destination.path) for copy-up", errno: errno) }
        defer { libcClose(target) }
        try copy(from: source, into: target, display: destination.path)
    }

    private static func copy(from source: Int32, into target: Int32, display: String) throws(RuntimeError) {
        let duplicate = dup(source)
        guard duplicate >= 0, let dir = fdopendir(duplicate) else { throw RuntimeError.system("read directory for copy-up", errno: errno) }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = Files.entryName(entry)
            if name == "." || name == ".." { continue }
            var info = stat()
            guard fstatat(source, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            let path = display + "/" + name
            let mode = info.st_mode & 0o7777
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                if mkdirat(target, name, 0o700) != 0 { throw RuntimeError.system("mkdir \(path)", errno: errno) }
                let child = openat(source, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                if child < 0 { throw RuntimeError.system("open \(name) for copy-up", errno: errno) }
                defer { libcClose(child) }
                let copied = openat(target, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                if copied < 0 { throw RuntimeError.system("open \(path)", errno: errno) }
                defer { libcClose(copied) }
                try copy(from: child, into: copied, display: path)
                _ = fchown(copied, info.st_uid, info.st_gid)
                _ = fchmod(copied, mode)
            case S_IFREG:
                try copyFile(name, from: source, into: target, info: info, display: path)
            case S_IFLNK:
                if let link = Files.readLink(at: source, name) {
                    _ = symlinkat(link, target, name)
                    _ = fchownat(target, name, info.st_uid, info.st_gid, AT_SYMLINK_NOFOLLOW)
                }
            default:
                continue
            }
        }
    }

    private static func copyFile(_ name: String, from directory: Int32, into target: Int32, info: stat, display: String) throws(RuntimeError) {
        // Swapped for a fifo since it was listed, it would block the open: never wait.
        let input = openat(directory, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        if input < 0 { throw RuntimeError.system("open \(name) for copy-up", errno: errno) }
        defer { libcClose(input) }
        var opened = stat()
        guard fstat(input, &opened) == 0, opened.st_mode & S_IFMT == S_IFREG else {
            throw RuntimeError("\(display) changed while it was copied up: refusing to go on")
        }
        let output = openat(target, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        if output < 0 { throw RuntimeError.system("create \(display)", errno: errno) }
        defer { libcClose(output) }
        try Files.copyContents(from: input, to: output, display: display)
        _ = fchown(output, info.st_uid, info.st_gid)
        _ = fchmod(output, info.st_mode & 0o7777)
    }
}
