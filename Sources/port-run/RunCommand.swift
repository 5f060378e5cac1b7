import PortRuntime

enum RunCommand {
    static let usage = """
        Usage: port-run run [options] <container-id>

        Creates and starts a container. In the foreground it forwards signals to the container,
        exits with its status (128+N when signal N killed it) and deletes it afterwards.

        Options: those of `create`, and
          -d, --detach            return once the container is running
          --keep                  leave the container, stopped, after it exits (delete removes it)
          --no-subreaper          do not reap processes the container leaves behind

        """

    static func run(_ arguments: ArraySlice<String>, context: Context) throws(RuntimeError) -> Int32 {
        let parsed = try ParsedFlags.parse(arguments, flags: createFlags + [.bool("detach", "d"), .bool("keep"), .bool("no-subreaper")], stopAtPositional: false)
        if parsed.isSet("help") { Output.stdout(usage); return 0 }
        return try context.lifecycle.run(createOptions(parsed, command: "run"), detach: parsed.isSet("detach"),
                                         keep: parsed.isSet("keep"), subreaper: !parsed.isSet("no-subreaper"))
    }
}
