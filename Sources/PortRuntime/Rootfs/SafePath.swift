/// Resolves a path inside the container's rootfs the way the container would see it: symlinks
/// are followed, but "/" and ".." never climb above the rootfs. A symlink in an image that
/// points at /etc therefore lands on the rootfs's /etc, never the host's.
/// (The openat2 RESOLVE_IN_ROOT path, where the kernel has it, comes with the kernel strategy.)
public enum SafePath {
    static let maxSymlinks = 255

    public static func resolve(_ unsafePath: String, in root: String, system: some MountSystem) throws(RuntimeError) -> String {
        var pending = components(unsafePath)
        var resolved: [String] = []
        var symlinks = 0
        while !pending.isEmpty {
            let part = pending.removeFirst()
            if part == "." { continue }
            if part == ".." { _ = resolved.popLast(); continue }
            let candidate = root + "/" + (resolved + [part]).joined(separator: "/")
            guard system.kind(of: candidate) == .symlink, let target = system.readLink(candidate) else {
                resolved.append(part)
                continue
            }
            symlinks += 1
            if symlinks > maxSymlinks { throw RuntimeError("resolve \(unsafePath) in \(root): too many levels of symbolic links") }
            if target.hasPrefix("/") { resolved = [] }
            pending = components(target) + pending
        }
        return resolved.isEmpty ? root : root + "/" + resolved.joined(separator: "/")
    }

    static func components(_ path: String) -> [String] {
        path.split(separator: "/").map(String.init)
    }

    /// Lexical clean-up of an absolute path: "/a/./b/../c" -> "/a/c".
    public static func clean(_ path: String) -> String {
        var parts: [String] = []
        for part in components(path) where part != "." {
            if part == ".." { _ = parts.popLast() } else { parts.append(part) }
        }
        return "/" + parts.joined(separator: "/")
    }
}
