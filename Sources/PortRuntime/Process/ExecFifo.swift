#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif

/// The exec fifo between `create` and `start`. Init opens it for writing (blocking until start
/// opens it for reading), then calls execve with the write end close-on-exec: a successful
/// execve shows up as EOF; a failed one as the error text init writes before exiting.
public enum ExecFifo {
    public static let fileName = "exec.fifo"

    public static func create(at path: String) throws(RuntimeError) {
        let oldMask = umask(0)
        defer { umask(oldMask) }
        if mkfifo(path, 0o622) != 0 { throw RuntimeError.system("mkfifo \(path)", errno: errno) }
    }

    /// Releases a container that waits in `created` and returns once its process has exec'd.
    /// Throws with init's own message when execve failed, or when init died first.
    public static func release(at path: String, isInitAlive: () -> Bool) throws(RuntimeError) {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        if fd < 0 { throw RuntimeError.system("open exec fifo \(path)", errno: errno) }
        defer { close(fd) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 100)
            if ready < 0, errno != EINTR { throw RuntimeError.system("poll exec fifo", errno: errno) }
            if ready <= 0 {
                // No writer yet: init may still be opening the fifo, or it may be gone.
                if !isInitAlive() { throw RuntimeError("container init exited before it could start") }
                continue
            }
            let count = buffer.withUnsafeMutableBytes { raw in libcRead(fd, raw.baseAddress, raw.count) }
            if count > 0 { received.append(contentsOf: buffer[0..<count]); continue }
            if count < 0, errno == EAGAIN || errno == EINTR { continue }
            break
        }
        if !received.isEmpty { throw RuntimeError(String(decoding: received, as: UTF8.self)) }
    }
}
