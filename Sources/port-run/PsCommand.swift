#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import PortRuntime

enum PsCommand {
    static let usage = """
        Usage: port-run ps [options] <container-id> [ps options]

        Lists the container's processes: as JSON host pids, or through the host's ps(1)
        (default options -ef), keeping the header and the container's lines.

        Options:
          -f, --format table|json output format (default: table)

        """

    static func run(_ arguments: ArraySlice<String>, context: Context) throws(RuntimeError) -> Int32 {
        let parsed = try ParsedFlags.parse(arguments, flags: [.value("format", "f"), .bool("help", "h")])
        if parsed.isSet("help") { Output.stdout(usage); return 0 }
        let pids = try context.lifecycle.processes(containerID(parsed, command: "ps", extra: Int.max - 1))
        switch parsed.value("format") ?? "table" {
        case "json":
            Output.stdout(JSONOutput.array(pids.map { .int(Int64($0)) }).render() + "\n")
        case "table":
            let options = parsed.positionals.dropFirst()
            Output.stdout(try hostPs(Array(options.isEmpty ? ["-ef"] : options), keeping: Set(pids)))
        case let other:
            throw RuntimeError("invalid format option \"\(other)\" (table or json)")
        }
        return 0
    }

    /// Runs ps(1) and keeps the header and the lines whose PID column is the container's.
    static func hostPs(_ options: [String], keeping pids: Set<Int32>) throws(RuntimeError) -> String {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw RuntimeError.system("pipe", errno: errno) }
        let argv = (["ps"] + options).map { strdup($0) } + [nil]
        let child = fork()
        if child == 0 {
            dup2(fds[1], 1)
            close(fds[0])
            execvp("ps", argv)
            _exit(127)
        }
        close(fds[1])
        let output = String(decoding: (try? Files.read(fd: fds[0], path: "ps output")) ?? [], as: UTF8.self)
        close(fds[0])
        var status: Int32 = 0
        waitpid(child, &status, 0)
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        guard let header = lines.first, let pidColumn = header.split(separator: " ").firstIndex(of: "PID") else {
            throw RuntimeError("ps: no PID column in the output of ps \(options.joined(separator: " "))")
        }
        let kept = lines.dropFirst().filter { line in
            let fields = line.split(separator: " ")
            return fields.count > pidColumn && Int32(fields[pidColumn]).map(pids.contains) == true
        }
        return ([header] + kept).joined(separator: "\n") + "\n"
    }
}
