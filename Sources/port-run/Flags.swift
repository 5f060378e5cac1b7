import PortRuntime

/// runc's flag syntax (urfave/cli on Go's flag package): `-name`, `--name`, `--name=value`
/// or `--name value`; flags end at the first positional argument or at `--`.
struct Flag {
    let names: [String]
    let takesValue: Bool

    static func value(_ names: String...) -> Flag { Flag(names: names, takesValue: true) }
    static func bool(_ names: String...) -> Flag { Flag(names: names, takesValue: false) }
}

struct ParsedFlags {
    private var values: [String: [String]] = [:]
    private var switches: Set<String> = []
    var positionals: [String] = []

    /// The last value given for a flag, as Go's flag package keeps it.
    func value(_ name: String) -> String? { values[name]?.last }
    /// Every value of a repeatable flag (`-e A=1 -e B=2`).
    func values(_ name: String) -> [String] { values[name] ?? [] }
    func isSet(_ name: String) -> Bool { switches.contains(name) }

    static func parse(_ arguments: ArraySlice<String>, flags: [Flag], stopAtPositional: Bool = true) throws(RuntimeError) -> ParsedFlags {
        var result = ParsedFlags()
        var remaining = arguments
        while let argument = remaining.popFirst() {
            if argument == "--" { result.positionals += remaining; break }
            guard argument.hasPrefix("-"), argument.count > 1 else {
                result.positionals.append(argument)
                if stopAtPositional { result.positionals += remaining; break }
                continue
            }
            let body = argument.drop { $0 == "-" }
            let name = String(body.prefix { $0 != "=" })
            let inline = body.firstIndex(of: "=").map { String(body[body.index(after: $0)...]) }
            guard let flag = flags.first(where: { $0.names.contains(name) }) else {
                throw RuntimeError("flag provided but not defined: -\(name)")
            }
            let key = flag.names[0]
            if flag.takesValue {
                guard let value = inline ?? remaining.popFirst() else { throw RuntimeError("flag needs an argument: -\(name)") }
                result.values[key, default: []].append(value)
            } else {
                switch inline?.lowercased() {
                case nil, "true", "1": result.switches.insert(key)
                case "false", "0": result.switches.remove(key)
                default: throw RuntimeError("invalid boolean value \"\(inline!)\" for -\(name)")
                }
            }
        }
        return result
    }
}

/// The container id every lifecycle command takes first; `extra` more arguments may follow
/// it (kill's signal, exec's command). One more than that is an error, not ignored.
func containerID(_ parsed: ParsedFlags, command: String, extra: Int = 0) throws(RuntimeError) -> String {
    guard let id = parsed.positionals.first else {
        throw RuntimeError("\"\(command)\" requires a container id (see port-run \(command) --help)")
    }
    if parsed.positionals.count > 1 + extra {
        let unexpected = parsed.positionals.dropFirst(1 + extra).map { "\"\($0)\"" }.joined(separator: " ")
        throw RuntimeError("\"\(command)\" takes \(extra == 0 ? "only the container id" : "at most \(1 + extra) arguments"); unexpected: \(unexpected)")
    }
    return id
}

/// For a command that takes no arguments (list, spec, features): one given is an error.
func noArguments(_ parsed: ParsedFlags, command: String) throws(RuntimeError) {
    guard let first = parsed.positionals.first else { return }
    throw RuntimeError("\"\(command)\" takes no arguments; unexpected: \"\(first)\"")
}
