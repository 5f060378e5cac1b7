#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif

enum UnixSocket {
    /// A stream socket connected to `path` (close-on-exec). `what` names it in errors, e.g.
    /// "console socket /run/x.sock": "connect to console socket /run/x.sock: no such file…".
    static func connect(_ path: String, what: String) throws(RuntimeError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw RuntimeError("\(what): the path is too long for a unix socket")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: bytes) }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { throw RuntimeError.system("\(what): socket", errno: errno) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { libcConnect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if result != 0 {
            let code = errno
            close(fd)
            throw RuntimeError.system("connect to \(what)", errno: code)
        }
        return fd
    }
}
