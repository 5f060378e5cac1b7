import PortRuntime

enum DeleteCommand {
    static let usage = """
        Usage: port-run delete [options] <container-id>

        Deletes a stopped or created container.

        Options:
          -f, --force             kill a running container first

        """

    static func run(_ arguments: ArraySlice<String>, context: Context) throws(RuntimeError) -> Int32 {
        let parsed = try ParsedFlags.parse(arguments, flags: [.bool("force", "f"), .bool("help", "h")], stopAtPositional: false)
        if parsed.isSet("help") { Output.stdout(usage); return 0 }
        try context.lifecycle.delete(containerID(parsed, command: "delete"), force: parsed.isSet("force"))
        return 0
    }
}
