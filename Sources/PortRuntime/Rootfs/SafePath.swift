/// Lexical path helpers. Resolution inside the rootfs is RootDirectory's, always to an fd.
public enum SafePath {
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
