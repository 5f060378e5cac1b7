import PortRuntime

enum StateCommand {
    static let usage = "Usage: port-run state <container-id>\n\nPrints the container's OCI state as JSON.\n"

    static func run(_ arguments: ArraySlice<String>, context: Context) throws(RuntimeError) -> Int32 {
        let parsed = try ParsedFlags.parse(arguments, flags: [.bool("help", "h")], stopAtPositional: false)
        if parsed.isSet("help") { Output.stdout(usage); return 0 }
        let state = try context.lifecycle.state(containerID(parsed, command: "state"))
        Output.stdout(state.render(indent: 2) + "\n")
        return 0
    }
}
