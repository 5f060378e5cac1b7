import PortRuntime

/// Flags of `create`, shared by `run`.
let createFlags: [Flag] = [
    .value("bundle", "b"), .value("pid-file"), .value("console-socket"), .bool("no-pivot"),
    .bool("no-new-keyring"), .value("preserve-fds"), .bool("help", "h"),
]

func createOptions(_ parsed: ParsedFlags, command: String) throws(RuntimeError) -> CreateOptions {
    var options = CreateOptions(id: try containerID(parsed, command: command))
    if let bundle = parsed.value("bundle") { options.bundle = bundle }
    options.pidFile = parsed.value("pid-file")
    options.consoleSocket = parsed.value("console-socket")
    options.noPivot = parsed.isSet("no-pivot")
    options.noNewKeyring = parsed.isSet("no-new-keyring")
    if let raw = parsed.value("preserve-fds") {
        guard let count = Int32(raw), count >= 0, count < 65536 else { throw RuntimeError("invalid --preserve-fds value \"\(raw)\"") }
        options.preserveFds = count
    }
    return options
}

enum CreateCommand {
    static let usage = """
        Usage: port-run create [options] <container-id>

        Creates a container from the bundle's config.json; its process waits until `port-run start`.

        Options:
          -b, --bundle DIR        bundle directory (default: current directory)
          --pid-file FILE         write the container's process id to FILE
          --console-socket PATH   unix socket that receives the pty master (process.terminal)
          --no-pivot              use MS_MOVE and chroot instead of pivot_root
          --no-new-keyring        keep the caller's session keyring
          --preserve-fds N        pass N extra fds (from fd 3) to the container

        """

    static func run(_ arguments: ArraySlice<String>, context: Context) throws(RuntimeError) -> Int32 {
        let parsed = try ParsedFlags.parse(arguments, flags: createFlags, stopAtPositional: false)
        if parsed.isSet("help") { Output.stdout(usage); return 0 }
        try context.lifecycle.create(createOptions(parsed, command: "create"))
        return 0
    }
}
