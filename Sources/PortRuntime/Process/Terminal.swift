#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// `process.terminal`: a pty from the container's own devpts. The master goes to whoever
/// listens on the console socket (runc's protocol: SCM_RIGHTS with the pty's name as data);
/// the slave becomes the process's stdio and controlling terminal.
enum Terminal {
    /// Connects to the `--console-socket` path; the connection is handed to init.
    static func connect(_ path: String) throws(RuntimeError) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { throw RuntimeError.system("console socket", errno: errno) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw RuntimeError("console socket \(path): path too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { libcConnect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if result != 0 {
            let code = errno
            close(fd)
            throw RuntimeError.system("connect to console socket \(path)", errno: code)
        }
        return fd
    }

    /// Inside the container's root: makes the pty, sends the master, returns the slave.
    static func create(sendingTo consoleSocket: Int32, size: (height: UInt32, width: UInt32)?,
                       bindConsole: Bool) throws(RuntimeError) -> Int32 {
        var index: Int32 = 0
        let master = cc_open_pty_master("/dev/ptmx", &index)
        if master < 0 { throw RuntimeError.system("open /dev/ptmx", errno: errno) }
        defer { close(master) }
        let slavePath = "/dev/pts/\(index)"
        let slave = open(slavePath, O_RDWR | O_NOCTTY | O_CLOEXEC)
        if slave < 0 { throw RuntimeError.system("open \(slavePath)", errno: errno) }
        if let size { _ = cc_set_window_size(master, UInt16(clamping: size.height), UInt16(clamping: size.width)) }
        if bindConsole {
            // runc's /dev/console: the container's own pty, never the host's console.
            let console = open("/dev/console", O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
            if console >= 0 { close(console) }
            if libcMount(slavePath, "/dev/console", "bind", MountFlags.bind, nil) != 0 {
                close(slave)
                throw RuntimeError.system("mount \(slavePath) on /dev/console", errno: errno)
            }
        }
        let name = Array(slavePath.utf8)
        if cc_send_fd(consoleSocket, master, name, name.count) < 0 {
            close(slave)
            throw RuntimeError.system("send the pty master over the console socket", errno: errno)
        }
        close(consoleSocket)
        return slave
    }

    /// The slave becomes stdin, stdout, stderr and the controlling terminal.
    static func attach(_ slave: Int32) throws(RuntimeError) {
        for target: Int32 in 0...2 where dup2(slave, target) < 0 { throw RuntimeError.system("dup2 the pty", errno: errno) }
        if slave > 2 { close(slave) }
        try check(cc_make_controlling_tty(0), "set the controlling terminal")
    }

    /// Receives the master that init sent over our end of a console socketpair.
    static func receiveMaster(on fd: Int32) throws(RuntimeError) -> Int32 {
        var name = [UInt8](repeating: 0, count: 256)
        var master: Int32 = -1
        if cc_recv_fd(fd, &name, name.count, &master) < 0 || master < 0 {
            throw RuntimeError.system("receive the pty master", errno: errno == 0 ? EIO : errno)
        }
        return master
    }
}

/// Where a container's pty master goes: the caller's `--console-socket`, or, for a caller that
/// stays attached, one end of a socketpair whose other end it keeps.
enum Console {
    /// Returns the fd init sends the master over; `foreground` gets the caller's end.
    static func open(_ socketPath: String?, foreground: inout Int32?) throws(RuntimeError) -> Int32 {
        if let socketPath {
            foreground = nil
            return try Terminal.connect(socketPath)
        }
        var fds: [Int32] = [-1, -1]
        if socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) != 0 {
            throw RuntimeError.system("socketpair for the terminal", errno: errno)
        }
        foreground = fds[0]
        return fds[1]
    }
}
