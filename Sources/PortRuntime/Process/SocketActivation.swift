#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif

/// systemd socket activation passed through as runc does: the LISTEN_FDS sockets (from fd 3)
/// go to the container first, before any --preserve-fds ones, with LISTEN_PID=1 inside.
enum SocketActivation {
    /// How many activation fds port-run itself received (0 unless LISTEN_PID names us).
    static func inherited() -> Int32 {
        guard let rawCount = getenv("LISTEN_FDS"), let count = Int32(String(cString: rawCount)), count > 0, count < 65536,
              let rawPid = getenv("LISTEN_PID"), Int32(String(cString: rawPid)) == getpid() else { return 0 }
        return count
    }
}
