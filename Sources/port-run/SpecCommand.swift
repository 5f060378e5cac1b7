#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import PortRuntime

enum SpecCommand {
    static let usage = """
        Usage: port-run spec [options]

        Writes a default config.json (runc's defaults) into the bundle directory.

        Options:
          -b, --bundle DIR        bundle directory (default: current directory)
          --rootless              for a user who is not root: a user namespace mapping
                                  their uid and gid to root, host network and /sys, no limits

        """

    static func run(_ arguments: ArraySlice<String>, context: Context) throws(RuntimeError) -> Int32 {
        let parsed = try ParsedFlags.parse(arguments, flags: [.value("bundle", "b"), .bool("rootless"), .bool("help", "h")], stopAtPositional: false)
        if parsed.isSet("help") { Output.stdout(usage); return 0 }
        try noArguments(parsed, command: "spec")
        let path = (parsed.value("bundle") ?? ".") + "/config.json"
        if Files.exists(path) { throw RuntimeError("File \(path) exists. Remove it first or use a different bundle.") }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        if fd < 0 { throw RuntimeError.system("create \(path)", errno: errno) }
        defer { close(fd) }
        let rootless = parsed.isSet("rootless")
        // What this kernel cannot create is left out, and said: a config that fails on its
        // first run helps no one.
        var lacking = Strategy.namespacesLacking(DefaultSpec.namespaces(rootless: rootless), facts: HostFacts.load(cacheDirectory: nil))
        // Without a user namespace of their own a user who is not root can make no namespace
        // at all: nothing is left out then, and `run` says why in one line.
        if lacking.contains(where: { $0.type == .user || $0.type == .mount }) { lacking = [] }
        for (type, feature, probe) in lacking {
            Log.warning("config.json: no \(type.rawValue) namespace: this kernel cannot create one (\(feature)): \(probe.description)")
        }
        let spec = DefaultSpec.render(rootless: rootless ? (getuid(), getgid()) : nil,
                                      leavingOut: Set(lacking.map(\.type)))
        try Files.writeAll(fd: fd, Array(spec.utf8), path: path)
        return 0
    }
}
