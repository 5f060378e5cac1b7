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
        try UnixSocket.connect(path, what: "console socket \(path)")
    }

    /// A new pty from the container's own devpts, its master sent over the console socket,
    /// its slave returned. The devpts's ptmx and the slave are checked to be what they claim
    /// (the container controls /dev), and with `bindConsole` the slave is bound onto the
    /// container's /dev/console, which must not be a symlink (CVE-2025-52565).
    static func create(in root: RootDirectory, procfs: Procfs, sendingTo consoleSocket: Int32,
                       size: (height: UInt32, width: UInt32)?, bindConsole: Bool) throws(RuntimeError) -> Int32 {
        guard let ptmx = try root.lookup("/dev/pts/ptmx", followFinal: false) else {
            throw RuntimeError("the container has no /dev/pts/ptmx (a devpts at /dev/pts) for its terminal")
        }
        try checkDevpts(ptmx, major: 5, minor: 2, what: "/dev/pts/ptmx")
        let master = try procfs.reopen(ptmx.fd, flags: O_RDWR | O_NOCTTY, display: "/dev/pts/ptmx")
        defer { libcClose(master) }
        var index: UInt32 = 0
        if cc_pty_unlock(master, &index) != 0 { throw RuntimeError.system("unlock the pty", errno: errno) }
        let slave = try openSlave(master, index: index, in: root, procfs: procfs)
        do throws(RuntimeError) {
            if let size { _ = cc_set_window_size(master, UInt16(clamping: size.height), UInt16(clamping: size.width)) }
            // As runc: tools compare a terminal's output byte for byte, without "\r\n".
            if cc_terminal_clear_onlcr(slave) != 0 { throw RuntimeError.system("clear ONLCR on the pty", errno: errno) }
            if bindConsole { try bind(slave, ontoConsoleIn: root) }
            let name = Array("/dev/pts/\(index)".utf8)
            if cc_send_fd(consoleSocket, master, name, name.count) < 0 {
                throw RuntimeError.system("send the pty master over the console socket", errno: errno)
            }
        } catch {
            libcClose(slave)
            throw error
        }
        libcClose(consoleSocket)
        return slave
    }

    /// The kernel hands out the slave itself where it can (TIOCGPTPEER, 4.13); before that it
    /// is found by name and checked to be slave number `index`.
    private static func openSlave(_ master: Int32, index: UInt32, in root: RootDirectory, procfs: Procfs) throws(RuntimeError) -> Int32 {
        let peer = cc_pty_peer(master, O_RDWR | O_NOCTTY | O_CLOEXEC)
        if peer >= 0 { return peer }
        let path = "/dev/pts/\(index)"
        guard let handle = try root.lookup(path, followFinal: false) else { throw RuntimeError.system("open \(path)", errno: ENOENT) }
        try checkDevpts(handle, major: 136, minor: index, what: path)
        return try procfs.reopen(handle.fd, flags: O_RDWR | O_NOCTTY, display: path)
    }

    /// A character device `major:minor` on a devpts filesystem.
    private static func checkDevpts(_ handle: PathHandle, major: UInt32, minor: UInt32, what: String) throws(RuntimeError) {
        var info = stat()
        // Unix98 slaves are major 136 with the pty's index as minor (MKDEV(136, index)).
        guard fstat(handle.fd, &info) == 0, info.st_mode & S_IFMT == S_IFCHR,
              cc_dev_major(UInt64(info.st_rdev)) == major, cc_dev_minor(UInt64(info.st_rdev)) == minor,
              cc_filesystem_type(handle.fd) == CC_DEVPTS_SUPER_MAGIC else {
            throw RuntimeError("\(what) is not a pty device of a devpts filesystem: refusing to use it")
        }
    }

    private static func bind(_ slave: Int32, ontoConsoleIn root: RootDirectory) throws(RuntimeError) {
        let console: PathHandle
        if let existing = try root.lookup("/dev/console", followFinal: false) {
            guard existing.fileType == S_IFREG || existing.fileType == S_IFCHR else {
                throw RuntimeError("/dev/console in the container is not a file (a symbolic link?): refusing to bind the terminal there")
            }
            console = existing
        } else {
            let dev = try root.makeDirectories("/dev")
            console = try root.childFile("console", of: dev, mode: 0o600)
        }
        if libcMount("/proc/self/fd/\(slave)", console.procPath, "bind", MountFlags.bind, nil) != 0 {
            throw RuntimeError.system("mount the pty on /dev/console", errno: errno)
        }
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
