import PortRuntime

enum PauseCommand {
    static func pause(_ arguments: ArraySlice<String>, context: Context) throws(RuntimeError) -> Int32 {
        let parsed = try ParsedFlags.parse(arguments, flags: [.bool("help", "h")], stopAtPositional: false)
        if parsed.isSet("help") { Output.stdout("Usage: port-run pause <container-id>\n\nFreezes every process of the container.\n"); return 0 }
        try context.lifecycle.pause(containerID(parsed, command: "pause"))
        return 0
    }

    static func resume(_ arguments: ArraySlice<String>, context: Context) throws(RuntimeError) -> Int32 {
        let parsed = try ParsedFlags.parse(arguments, flags: [.bool("help", "h")], stopAtPositional: false)
        if parsed.isSet("help") { Output.stdout("Usage: port-run resume <container-id>\n\nThaws a paused container.\n"); return 0 }
        try context.lifecycle.resume(containerID(parsed, command: "resume"))
        return 0
    }
}
