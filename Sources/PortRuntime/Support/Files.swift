#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// Small file helpers over raw syscalls: no Foundation, and every error carries the path.
public enum Files {
    /// Reads a whole file, refusing anything larger than `limit` before reading it.
    public static func read(_ path: String, limit: Int = 16 << 20) throws(RuntimeError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw RuntimeError.system("open \(path)", errno: errno) }
        defer { close(fd) }
        return try read(fd: fd, path: path, limit: limit)
    }

    public static func read(fd: Int32, path: String, limit: Int = 16 << 20) throws(RuntimeError) -> [UInt8] {
        var info = stat()
        if fstat(fd, &info) == 0, info.st_size > limit {
            throw RuntimeError("read \(path): file is \(info.st_size) bytes, more than the \(limit) allowed")
        }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = chunk.withUnsafeMutableBytes { buffer in retryingEINTR { libcRead(fd, buffer.baseAddress, buffer.count) } }
            if count < 0 { throw RuntimeError.system("read \(path)", errno: errno) }
            if count == 0 { return result }
            result.append(contentsOf: chunk[0..<count])
            if result.count > limit { throw RuntimeError("read \(path): more than the \(limit) bytes allowed") }
        }
    }

    public static func readString(_ path: String) throws(RuntimeError) -> String {
        String(decoding: try read(path), as: UTF8.self)
    }

    /// Writes all bytes, retrying short writes.
    public static func writeAll(fd: Int32, _ bytes: [UInt8], path: String) throws(RuntimeError) {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { buffer in
                retryingEINTR { libcWrite(fd, buffer.baseAddress! + offset, buffer.count - offset) }
            }
            if count < 0 { throw RuntimeError.system("write \(path)", errno: errno) }
            offset += count
        }
    }

    /// Replaces `path` atomically: a reader sees the old file or the new one, never a part.
    /// The new file is made beside it with O_EXCL|O_NOFOLLOW, so a symlink planted at either
    /// name is replaced, never followed (a root-owned file elsewhere is never written).
    public static func writeAtomically(_ path: String, _ text: String, mode: mode_t = 0o644) throws(RuntimeError) {
        var temp = ""
        var fd: Int32 = -1
        for attempt in 0..<16 {
            temp = "\(path).tmp\(getpid())-\(attempt)"
            fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
            if fd >= 0 || errno != EEXIST { break }
        }
        if fd < 0 { throw RuntimeError.system("create \(temp)", errno: errno) }
        do {
            try writeAll(fd: fd, Array(text.utf8), path: temp)
        } catch {
            close(fd)
            unlink(temp)
            throw error
        }
        close(fd)
        if rename(temp, path) != 0 {
            let code = errno
            unlink(temp)
            throw RuntimeError.system("rename \(temp) to \(path)", errno: code)
        }
    }

    /// Copies what is left of `input` to `output` a chunk at a time (never the whole file in
    /// memory): sendfile, or read and write where the kernel refuses sendfile for these files.
    public static func copyContents(from input: Int32, to output: Int32, display: String) throws(RuntimeError) {
        while true {
            let sent = cc_sendfile(output, input, 1 << 30)
            if sent == 0 { return }
            if sent > 0 { continue }
            if errno == EINTR { continue }
            if errno == EINVAL || errno == ENOSYS { break }
            throw RuntimeError.system("copy \(display)", errno: errno)
        }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { buffer in retryingEINTR { libcRead(input, buffer.baseAddress, buffer.count) } }
            if count == 0 { return }
            if count < 0 { throw RuntimeError.system("read \(display)", errno: errno) }
            try writeAll(fd: output, Array(buffer[0..<count]), path: display)
        }
    }

    /// A regular file's contents, up to `limit` bytes. For files the container controls: a
    /// fifo, a device or a socket there would block or never end, so only a regular file is
    /// read (opened without waiting, never becoming a controlling terminal).
    public static func readRegular(_ path: String, limit: Int) throws(RuntimeError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        if fd < 0 { throw RuntimeError.system("open \(path)", errno: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { throw RuntimeError("\(path): not a regular file") }
        return try read(fd: fd, path: path, limit: limit)
    }

    /// Writes a short value to an existing file (sysfs, procfs), as `echo value > path` does.
    public static func writeValue(_ path: String, _ value: String) throws(RuntimeError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        if fd < 0 { throw RuntimeError.system("open \(path)", errno: errno) }
        defer { close(fd) }
        try writeAll(fd: fd, Array(value.utf8), path: path)
    }

    /// Whether two open fds hold the same file (device and inode).
    public static func sameFile(_ first: Int32, _ second: Int32) -> Bool {
        var one = stat(), two = stat()
        return fstat(first, &one) == 0 && fstat(second, &two) == 0 && one.st_dev == two.st_dev && one.st_ino == two.st_ino
    }

    /// Whether two paths lead to the same file (device and inode), symlinks followed.
    public static func sameFile(_ first: String, _ second: String) -> Bool {
        var one = stat(), two = stat()
        return stat(first, &one) == 0 && stat(second, &two) == 0 && one.st_dev == two.st_dev && one.st_ino == two.st_ino
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// `mkdir -p`: creates each missing component with `mode` and returns those it made,
    /// outermost first. The whole path is tried first, since it usually exists or lacks only
    /// its last component: one syscall instead of one per component.
    @discardableResult
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws(RuntimeError) -> [String] {
        if mkdir(path, mode) == 0 { return [path] }
        if errno == EEXIST { return [] }
        let parent = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? ""
        guard errno == ENOENT, !parent.isEmpty else { throw RuntimeError.system("mkdir \(path)", errno: errno) }
        var made = try makeDirectories(parent, mode: mode)
        if mkdir(path, mode) == 0 {
            made.append(path)
        } else if errno != EEXIST {
            throw RuntimeError.system("mkdir \(path)", errno: errno)
        }
        return made
    }

    /// `rm -rf` of a tree that holds only plain files and directories (state directories).
    public static func removeTree(_ path: String) {
        if unlink(path) == 0 || errno == ENOENT { return }
        for name in list(path) { removeTree(path + "/" + name) }
        rmdir(path)
    }

    /// Names in a directory, without "." and "..".
    public static func list(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = entryName(entry)
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// The name in a readdir(3) entry.
    public static func entryName(_ entry: UnsafeMutablePointer<dirent>) -> String {
        withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// The target of a symbolic link (or a /proc magic link), nil when `path` is none.
    public static func readLink(_ path: String) -> String? {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = buffer.withUnsafeMutableBytes { libcReadlink(path, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count - 1) }
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }

    /// The target of the symlink `name` in the directory open at `directory` ("" for the
    /// symlink an O_PATH|O_NOFOLLOW fd holds itself), nil when it is none.
    public static func readLink(at directory: Int32, _ name: String) -> String? {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = buffer.withUnsafeMutableBytes { readlinkat(directory, name, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count - 1) }
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }

    /// A line of an /etc/passwd-format file by uid, split into its fields; read from the file
    /// itself, never through NSS (a static binary, an Android host, a container's own file).
    public static func passwdEntry(uid: UInt32, in path: String = "/etc/passwd") -> [Substring]? {
        guard let bytes = try? readRegular(path, limit: 4 << 20) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            if fields.count >= 3, UInt32(fields[2]) == uid { return fields }
        }
        return nil
    }

    /// The absolute, symlink-free form of `path` (realpath(3)).
    public static func realPath(_ path: String) throws(RuntimeError) -> String {
        guard let resolved = realpath(path, nil) else { throw RuntimeError.system("resolve \(path)", errno: errno) }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
