import PortRuntime

enum KillCommand {
    static let usage = """
        Usage: port-run kill [options] <container-id> [signal]

        Sends a signal (default TERM; a name like KILL or SIGKILL, or a number) to the container.

        Options:
          -a, --all               send it to every process of the container

        """

    static func run(_ arguments: ArraySlice<String>, context: Context) throws(RuntimeError) -> Int32 {
        let parsed = try ParsedFlags.parse(arguments, flags: [.bool("all", "a"), .bool("help", "h")], stopAtPositional: false)
        if parsed.isSet("help") { Output.stdout(usage); return 0 }
        let id = try containerID(parsed, command: "kill", extra: 1)
        let signal = try SignalName.parse(parsed.positionals.dropFirst().first ?? "TERM")
        try context.lifecycle.kill(id, signal: signal, all: parsed.isSet("all"))
        return 0
    }
}
