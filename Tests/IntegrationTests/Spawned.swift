import Foundation

/// A command the harness runs to its end, with a deadline: a hung runtime (or a hung helper
/// under it) fails its test with the kernel's view of every process involved, instead of
/// stalling the whole suite. posix_spawn and a pidfd, not Foundation's Process: that one
/// waits through a run loop the deadline could not bound.
enum Spawned {
    struct Timeout: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs `path` with stdin from /dev/null and stdout, stderr into the two files; its wait
    /// status. On the deadline, prints what every process of its tree is blocked in, kills
    /// the tree and throws.
    static func run(_ path: String, _ arguments: [String], directory: String?, stdout: String, stderr: String,
                    seconds: Int) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_TRUNC, 0)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_TRUNC, 0)
        // No fd of the test process reaches the runtime: a leak test must see the runtime's own.
        if let closeFrom = GlibcExtra.closeFrom { _ = closeFrom(&actions, 3) }
        if let directory {
            guard let chdir = GlibcExtra.addChdir else { throw Timeout(description: "this glibc cannot spawn into \(directory)") }
            _ = chdir(&actions, directory)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // XCTest's threads may block signals; the command starts with none blocked, all default.
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, &attributes, argv, environ)
        guard spawned == 0 else { throw Timeout(description: "cannot run \(path): \(String(cString: strerror(spawned)))") }

        if !exits(pid, within: seconds) {
            let tree = descendants(of: pid)
            let report = tree.map(describe).joined(separator: "\n")
            FileHandle.standardError.write(Data("harness: \(path) \(arguments.joined(separator: " ")) still runs after \(seconds) s:\n\(report)\n".utf8))
            for member in tree { kill(member, SIGKILL) }
            var ignored: Int32 = 0
            waitpid(pid, &ignored, 0)
            throw Timeout(description: "\(URL(fileURLWithPath: path).lastPathComponent) \(arguments.prefix(6).joined(separator: " ")) hung for \(seconds) s (the kernel's view is on stderr)")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status
    }

    /// Whether `pid` ends within `seconds`, waiting on its pidfd (polling where there is none).
    private static func exits(_ pid: pid_t, within seconds: Int) -> Bool {
        if let open = GlibcExtra.pidfdOpen {
            let pidfd = open(pid, 0)
            if pidfd >= 0 {
                defer { close(pidfd) }
                var entry = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
                let deadline = Date().addingTimeInterval(TimeInterval(seconds))
                while true {
                    let left = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
                    let ready = poll(&entry, 1, left)
                    if ready > 0 { return true }
                    if ready == 0 || errno != EINTR { return false }
                }
            }
        }
        for _ in 0..<(seconds * 100) {
            // WNOWAIT: the caller reaps it.
            var info = siginfo_t()
            if waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info._sifields._sigchld.si_pid == pid { return true }
            usleep(10_000)
        }
        return false
    }

    /// `pid` and everything under it, parents first.
    private static func descendants(of pid: pid_t) -> [pid_t] {
        var parents: [pid_t: pid_t] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let child = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, let parent = pid_t(fields[1]) { parents[child] = parent }
        }
        var tree = [pid]
        var index = 0
        while index < tree.count {
            tree += parents.filter { $0.value == tree[index] }.map(\.key).sorted()
            index += 1
        }
        return tree
    }

    private static func describe(_ pid: pid_t) -> String {
        func read(_ file: String) -> String {
            (try? String(contentsOfFile: "/proc/\(pid)/\(file)", encoding: .utf8)) ?? "?"
        }
        let command = read("cmdline").replacingOccurrences(of: "\0", with: " ")
        let state = read("status").split(separator: "\n").first { $0.hasPrefix("State:") } ?? "State: ?"
        let stack = read("stack").split(separator: "\n").prefix(8).map { "      " + $0 }.joined(separator: "\n")
        return "  \(pid) \(command)| \(state) | wchan \(read("wchan")) | syscall \(read("syscall").prefix(40))\n\(stack)"
    }
}

/// glibc functions Swift's Glibc module leaves out (they sit behind _GNU_SOURCE), looked up once.
private enum GlibcExtra {
    typealias FileAction = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    typealias ChdirAction = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    typealias PidfdOpen = @convention(c) (pid_t, UInt32) -> Int32

    static let closeFrom: FileAction? = symbol("posix_spawn_file_actions_addclosefrom_np")
    static let addChdir: ChdirAction? = symbol("posix_spawn_file_actions_addchdir_np")
    static let pidfdOpen: PidfdOpen? = symbol("pidfd_open")

    private static func symbol<T>(_ name: String) -> T? {
        guard let address = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(address, to: T.self)
    }
}
