#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import PortRuntime

enum ListCommand {
    static let usage = """
        Usage: port-run list [options]

        Lists the containers under --root.

        Options:
          -f, --format table|json output format (default: table)
          -q, --quiet             print only the ids

        """

    static func run(_ arguments: ArraySlice<String>, context: Context) throws(RuntimeError) -> Int32 {
        let parsed = try ParsedFlags.parse(arguments, flags: [.value("format", "f"), .bool("quiet", "q"), .bool("help", "h")], stopAtPositional: false)
        if parsed.isSet("help") { Output.stdout(usage); return 0 }
        try noArguments(parsed, command: "list")
        let entries = context.lifecycle.list()
        if parsed.isSet("quiet") {
            Output.stdout(entries.map { $0.state.id + "\n" }.joined())
            return 0
        }
        switch parsed.value("format") ?? "table" {
        case "json":
            let items = entries.map { $0.state.ociState(status: $0.status, owner: owner(of: $0.state.id, context: context)) }
            Output.stdout(JSONOutput.array(items).render() + "\n")
        case "table":
            let rows = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]] + entries.map { entry in
                [entry.state.id, String(entry.status == .stopped ? 0 : entry.state.pid), entry.status.rawValue,
                 entry.state.bundle, entry.state.created, owner(of: entry.state.id, context: context)]
            }
            Output.stdout(table(rows))
        case let other:
            throw RuntimeError("invalid format option \"\(other)\" (table or json)")
        }
        return 0
    }

    /// Go's tabwriter as runc sets it up: cells padded to the widest plus 3, at least 12.
    static func table(_ rows: [[String]]) -> String {
        let columns = rows[0].count
        let widths = (0..<columns - 1).map { column in max(12, rows.map { $0[column].count }.max()! + 3) }
        return rows.map { row in
            (0..<columns - 1).map { row[$0].padding(to: widths[$0]) }.joined() + row[columns - 1] + "\n"
        }.joined()
    }

    /// The owner of the state directory by name, from the host's /etc/passwd (no NSS).
    static func owner(of id: String, context: Context) -> String {
        var info = stat()
        guard stat(context.lifecycle.store.directory(id), &info) == 0 else { return "" }
        return Files.passwdEntry(uid: info.st_uid).map { String($0[0]) } ?? "#\(info.st_uid)"
    }
}

private extension String {
    func padding(to width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}
