import PortRuntime

enum ExecCommand {
    static let usage = """
        Usage: port-run exec [options] <container-id> [command [args...]]

        Runs a new process in a running container and exits with its status.

        Options:
          -p, --process FILE      the process as a runtime-spec process.json
          -t, --tty               allocate a pseudo-terminal
          --console-socket PATH   unix socket that receives the pty master
          --cwd DIR               working directory in the container
          -e, --env KEY=VALUE     extra environment variable (repeatable)
          -u, --user UID[:GID]    user and group ids
          -g, --additional-gids G additional group id (repeatable)
          -c, --cap CAP           extra capability (repeatable)
          --no-new-privs          set no_new_privs
          -d, --detach            return once the process runs
          --pid-file FILE         write the process id to FILE
          --preserve-fds N        pass N extra fds (from fd 3)

        """

    static let flags: [Flag] = [
        .value("process", "p"), .bool("tty", "t"), .value("console-socket"), .value("cwd"), .value("env", "e"),
        .value("user", "u"), .value("additional-gids", "g"), .value("cap", "c"), .bool("no-new-privs"),
        .bool("detach", "d"), .value("pid-file"), .value("preserve-fds"), .value("apparmor"), .value("process-label"),
        .value("cgroup"), .bool("ignore-paused"), .bool("help", "h"),
    ]

    static func run(_ arguments: ArraySlice<String>, context: Context) throws(RuntimeError) -> Int32 {
        let parsed = try ParsedFlags.parse(arguments, flags: flags)
        if parsed.isSet("help") { Output.stdout(usage); return 0 }
        var options = ExecOptions(id: try containerID(parsed, command: "exec", extra: Int.max - 1))
        options.args = Array(parsed.positionals.dropFirst())
        if let path = parsed.value("process") { options.processJSON = try Files.read(path, limit: 4 << 20) }
        options.env = parsed.values("env")
        options.cwd = parsed.value("cwd")
        if let user = parsed.value("user") {
            let parts = user.split(separator: ":", maxSplits: 1).map(String.init)
            guard let uid = UInt32(parts[0]), parts.count == 1 || UInt32(parts[1]) != nil else {
                throw RuntimeError("invalid --user \"\(user)\": expected UID[:GID] (numbers)")
            }
            options.user = (uid, parts.count == 2 ? UInt32(parts[1]) : nil)
        }
        options.additionalGids = try parsed.values("additional-gids").map { (text: String) throws(RuntimeError) -> UInt32 in
            guard let gid = UInt32(text) else { throw RuntimeError("invalid --additional-gids \"\(text)\"") }
            return gid
        }
        options.addedCapabilities = parsed.values("cap")
        options.noNewPrivileges = parsed.isSet("no-new-privs")
        options.tty = parsed.isSet("tty")
        options.detach = parsed.isSet("detach")
        options.ignorePaused = parsed.isSet("ignore-paused")
        options.pidFile = parsed.value("pid-file")
        options.consoleSocket = parsed.value("console-socket")
        if let raw = parsed.value("preserve-fds") {
            guard let count = Int32(raw), count >= 0 else { throw RuntimeError("invalid --preserve-fds value \"\(raw)\"") }
            options.preserveFds = count
        }
        return try context.lifecycle.exec(options)
    }
}
