import PortRuntime

enum FeaturesCommand {
    static let usage = "Usage: port-run features\n\nPrints what this runtime supports (runtime-spec features.md) as JSON.\n"

    static func run(_ arguments: ArraySlice<String>, context: Context) throws(RuntimeError) -> Int32 {
        let parsed = try ParsedFlags.parse(arguments, flags: [.bool("help", "h")], stopAtPositional: false)
        if parsed.isSet("help") { Output.stdout(usage); return 0 }
        try noArguments(parsed, command: "features")
        Output.stdout(Features.render())
        return 0
    }
}
