import PortRuntime

enum EventsCommand {
    static let usage = """
        Usage: port-run events [options] <container-id>

        Streams the container's events as JSON lines (stats every interval, and "oom"
        events) until it stops.

        Options:
          --stats                 print one stats event and exit
          --interval DURATION     time between stats events (5s, 500ms; default 5s)

        """

    static func run(_ arguments: ArraySlice<String>, context: Context) throws(RuntimeError) -> Int32 {
        let parsed = try ParsedFlags.parse(arguments, flags: [.bool("stats"), .value("interval"), .bool("help", "h")], stopAtPositional: false)
        if parsed.isSet("help") { Output.stdout(usage); return 0 }
        let interval = try seconds(parsed.value("interval") ?? "5s")
        try context.lifecycle.events(containerID(parsed, command: "events"), statsOnce: parsed.isSet("stats"), interval: interval) {
            Output.stdout($0.render() + "\n")
        }
        return 0
    }

    /// Go duration syntax as runc takes it: "5s", "500ms", "1m", or bare seconds.
    static func seconds(_ text: String) throws(RuntimeError) -> Double {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let value = Double(text.dropLast(suffix.count)), value > 0 { return value * scale }
        }
        if let value = Double(text), value > 0 { return value }
        throw RuntimeError("invalid --interval \"\(text)\" (e.g. 5s or 500ms)")
    }
}
