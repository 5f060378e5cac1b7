#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif

/// A recursive copy from an open directory (files, directories, symlinks; modes and owners),
/// for `tmpcopyup`. Device nodes and sockets are skipped: a tmpfs copy has no use for them.
enum TreeCopy {
    static func copy(from source: Int32, to destination: String) throws(RuntimeError) {
        let duplicate = dup(source)
        guard duplicate >= 0, let dir = fdopendir(duplicate) else { throw RuntimeError.system("read directory for copy-up", errno: errno) }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = Files.entryName(entry)
            if name == "." || name == ".." { continue }
            var info = stat()
            guard fstatat(source, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            let target = destination + "/" + name
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                if mkdir(target, info.st_mode & 0o7777) != 0, errno != EEXIST { throw RuntimeError.system("mkdir \(target)", errno: errno) }
                let child = openat(source, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                if child < 0 { throw RuntimeError.system("open \(name) for copy-up", errno: errno) }
                defer { close(child) }
                try copy(from: child, to: target)
            case S_IFREG:
                try copyFile(name, in: source, to: target, mode: info.st_mode & 0o7777)
            case S_IFLNK:
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let count = readlinkat(source, name, &buffer, buffer.count - 1)
                if count >= 0 {
                    buffer[count] = 0
                    _ = symlink(buffer, target)
                }
            default:
                continue
            }
            _ = lchown(target, info.st_uid, info.st_gid)
            if (info.st_mode & S_IFMT) != S_IFLNK { _ = libcChmod(target, info.st_mode & 0o7777) }
        }
    }

    private static func copyFile(_ name: String, in directory: Int32, to target: String, mode: mode_t) throws(RuntimeError) {
        let input = openat(directory, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if input < 0 { throw RuntimeError.system("open \(name) for copy-up", errno: errno) }
        defer { close(input) }
        let output = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        if output < 0 { throw RuntimeError.system("create \(target)", errno: errno) }
        defer { close(output) }
        try Files.writeAll(fd: output, try Files.read(fd: input, path: name, limit: Int.max), path: target)
    }
}
