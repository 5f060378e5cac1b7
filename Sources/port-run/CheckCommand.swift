#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import PortRuntime

enum CheckCommand {
    static let usage = """
        Usage: port-run check [--json] [--personas DIR]
               port-run check --simulate PERSONA[,OVERLAY...] [--personas DIR] -- COMMAND [ARGS...]

        Probes this kernel and reports what it has, the persona that matches it best and the
        code path chosen for each feature; exits 1 when containers cannot run here.
        --simulate runs COMMAND as if on the persona's kernel (kernel-quirks/personas): the
        missing syscalls fail with ENOSYS (or SIGSYS), unknown flags with EINVAL.

        """

    static func run(_ arguments: ArraySlice<String>, context: Context) throws(RuntimeError) -> Int32 {
        let parsed = try ParsedFlags.parse(arguments, flags: [.bool("json"), .value("personas"), .value("simulate"), .bool("help", "h")])
        if parsed.isSet("help") { Output.stdout(usage); return 0 }
        let directory = personaDirectory(parsed.value("personas"))
        if let names = parsed.value("simulate") {
            let command = Array(parsed.positionals)
            guard !command.isEmpty else { throw RuntimeError("check --simulate needs a command after --") }
            let layers = try names.split(separator: ",").map { (name: Substring) throws(RuntimeError) -> (name: String, text: String) in
                try load(String(name), from: directory)
            }
            try PersonaSimulator.exec(try Persona.parse(layers: layers), command: command)
        }
        let personas = Files.list(directory).filter { $0.hasSuffix(".persona") }.sorted().compactMap { file -> Persona? in
            guard let text = try? Files.readString(directory + "/" + file) else { return nil }
            return try? Persona.parse(layers: [(String(file.dropLast(8)), text)])
        }
        let report = HostReport(facts: HostFacts.load(cacheDirectory: nil), personas: personas)
        Output.stdout(parsed.isSet("json") ? report.json : report.text)
        return report.blockers.isEmpty ? 0 : 1
    }

    /// PORT_RUN_PERSONAS, else the source tree next to the binary, else the installed data.
    static func personaDirectory(_ flag: String?) -> String {
        if let flag { return flag }
        if let environment = getenv("PORT_RUN_PERSONAS") { return String(decoding: UnsafeRawBufferPointer(start: environment, count: strlen(environment)), as: UTF8.self) }
        if var path = Files.readLink("/proc/self/exe") {
            for _ in 0..<4 {
                path = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
                if Files.isDirectory(path + "/kernel-quirks/personas") { return path + "/kernel-quirks/personas" }
            }
        }
        if let prefix = getenv("PREFIX") {
            let termux = String(cString: prefix) + "/share/port-run/personas"
            if Files.isDirectory(termux) { return termux }
        }
        return "/usr/share/port-run/personas"
    }

    static func load(_ name: String, from directory: String) throws(RuntimeError) -> (name: String, text: String) {
        for suffix in [".persona", ".overlay", ""] where Files.exists(directory + "/" + name + suffix) {
            return (name, try Files.readString(directory + "/" + name + suffix))
        }
        throw RuntimeError("no persona \"\(name)\" in \(directory) (see kernel-quirks/personas)")
    }
}
