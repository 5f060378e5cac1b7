#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// The exec fifo between `create` and `start`. Init opens it for writing (blocking until start
/// opens it for reading), then calls execve with the write end close-on-exec: a successful
/// execve shows up as EOF; a failed one as the error text init writes before exiting.
public enum ExecFifo {
    public static let fileName = "exec.fifo"

    /// Only its owner may open it (anyone else who could would hold `start` up): the host
    /// user that the container's process runs as, since init opens it once it has become
    /// that user.
    public static func create(at path: String, owner: (uid: UInt32, gid: UInt32)?) throws(RuntimeError) {
        let oldMask = umask(0o077)
        defer { umask(oldMask) }
        if mkfifo(path, 0o600) != 0 { throw RuntimeError.system("mkfifo \(path)", errno: errno) }
        if let owner, geteuid() == 0, libcChown(path, owner.uid, owner.gid) != 0 {
            throw RuntimeError.system("chown \(path)", errno: errno)
        }
    }

    /// The handle init keeps while it waits: O_PATH on the fifo itself (not on the state
    /// directory, whose ".." would lead a container to the host).
    static func handle(at path: String) throws(RuntimeError) -> Int32 {
        let fd = libcOpen(path, CC_O_PATH | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 { throw RuntimeError.system("open \(path)", errno: errno) }
        return fd
    }

    /// In init, inside the container: opens the fifo for writing through /proc/self/fd,
    /// which blocks until `start` opens it for reading. The kernel resolves that path in the
    /// container's /proc, so what it opened is checked to be the fifo itself before init
    /// goes on; init holds nothing else of the host's while it waits.
    static func waitForStart(_ handle: Int32) throws(RuntimeError) -> Int32 {
        let writer = retryingEINTR { libcOpen("/proc/self/fd/\(handle)", O_WRONLY | O_CLOEXEC) }
        if writer < 0 { throw RuntimeError.system("open the exec fifo through the container's /proc/self/fd", errno: errno) }
        guard Files.sameFile(handle, writer) else {
            libcClose(writer)
            throw RuntimeError("the container's /proc/self/fd did not lead to the exec fifo: refusing to start")
        }
        libcClose(handle)
        return writer
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
