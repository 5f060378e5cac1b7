import PortRuntime

enum StartCommand {
    static let usage = "Usage: port-run start <container-id>\n\nStarts the process of a created container.\n"

    static func run(_ arguments: ArraySlice<String>, context: Context) throws(RuntimeError) -> Int32 {
        let parsed = try ParsedFlags.parse(arguments, flags: [.bool("help", "h")], stopAtPositional: false)
        if parsed.isSet("help") { Output.stdout(usage); return 0 }
        try context.lifecycle.start(containerID(parsed, command: "start"))
        return 0
    }
}
