#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// `run`/`exec` in the foreground with a terminal and no console socket: port-run holds the
/// pty master and copies between it and its own stdio, in raw mode when stdin is a terminal,
/// forwarding signals (and window-size changes) until the container's process exits.
enum ConsoleProxy {
    static func run(master: Int32, until pid: pid_t) -> Int32 {
        var signals = SignalForwarder.signalSet()
        let signalFd = withUnsafePointer(to: &signals) { cc_signalfd(-1, $0, O_CLOEXEC) }
        var saved = [UInt8](repeating: 0, count: cc_termios_size())
        let rawMode = isatty(0) == 1 && cc_terminal_raw(0, &saved, saved.count) == 0
        defer { if rawMode { _ = cc_terminal_restore(0, saved) } }
        if isatty(0) == 1 { _ = cc_copy_window_size(0, master) }

        var stdinOpen = true
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            var fds = [pollfd(fd: master, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: signalFd, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: stdinOpen ? 0 : -1, events: Int16(POLLIN), revents: 0)]
            if poll(&fds, 3, -1) < 0 { continue }
            if fds[0].revents != 0 && !copy(from: master, to: 1, &buffer) {
                // EIO: every holder of the slave is gone; the process has exited or will.
                return wait(pid)
            }
            if fds[2].revents != 0 && !copy(from: 0, to: master, &buffer) { stdinOpen = false }
            if fds[1].revents != 0 {
                let signal = cc_read_signal(signalFd)
                if signal < 0 { continue }
                if signal == SIGCHLD {
                    var status: Int32 = 0
                    if waitpid(pid, &status, WNOHANG) == pid {
                        while copy(from: master, to: 1, &buffer, nonBlocking: true) {}
                        return status
                    }
                } else {
                    if signal == SIGWINCH { _ = cc_copy_window_size(0, master) }
                    kill(pid, signal)
                }
            }
        }
    }

    private static func copy(from source: Int32, to target: Int32, _ buffer: inout [UInt8], nonBlocking: Bool = false) -> Bool {
        if nonBlocking {
            var poller = pollfd(fd: source, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 0) > 0 else { return false }
        }
        let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
        guard count > 0 else { return false }
        try? Files.writeAll(fd: target, Array(buffer[0..<count]), path: "terminal")
        return true
    }

    private static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        _ = retryingEINTR { waitpid(pid, &status, 0) }
        return status
    }
}
