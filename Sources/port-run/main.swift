#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import PortRuntime

/// What every command needs from the global flags.
struct Context {
    let lifecycle: Lifecycle
}

let version = Features.version

let globalUsage = """
    port-run \(version): an OCI container runtime, a drop-in for runc.

    Usage: port-run [global options] <command> [options] [arguments]

    Commands:
      create   create a container          start    start a created container
      run      create and start            state    print a container's state
      kill     signal a container          delete   delete a container
      list     list containers             spec     write a default config.json
      exec     run a process in a container features print what this runtime supports
      ps       list a container's processes  pause/resume  freeze or thaw a container
      check    probe this kernel; --simulate PERSONA -- CMD runs CMD as if on an older kernel
      update   change a running container's limits  events  stats and OOM events as JSON

    Global options:
      --root DIR              state directory (default: \(StateStore.defaultRoot), or under
                              $PREFIX/var/run or $TMPDIR where /run is missing, as on Android)
      --log FILE              write log lines to FILE (default: stderr)
      --log-format text|json  log line format (default: text)
      --debug                 log debug detail
      --cgroup-manager M      cgroupfs (default), systemd (a transient unit per container,
                              made through systemd's D-Bus API) or disabled (no cgroups)
      --systemd-cgroup        the same as --cgroup-manager systemd (runc's flag)
      -v, --version           print the version

    """

let globalFlags: [Flag] = [
    .value("root"), .value("log"), .value("log-format"), .bool("debug"), .bool("version", "v"), .bool("help", "h"),
    .bool("systemd-cgroup"), .value("cgroup-manager"),
    // Accepted for compatibility with engines that always pass them.
    .value("rootless"), .value("criu"),
]

typealias Command = (ArraySlice<String>, Context) throws(RuntimeError) -> Int32

let commands: [String: Command] = [
    "create": CreateCommand.run, "start": StartCommand.run, "run": RunCommand.run, "state": StateCommand.run,
    "kill": KillCommand.run, "delete": DeleteCommand.run, "list": ListCommand.run, "spec": SpecCommand.run,
    "exec": ExecCommand.run, "features": FeaturesCommand.run, "ps": PsCommand.run,
    "pause": PauseCommand.pause, "resume": PauseCommand.resume, "check": CheckCommand.run,
    "update": UpdateCommand.run, "events": EventsCommand.run,
]

func configureLogging(_ parsed: ParsedFlags) throws(RuntimeError) {
    var settings = Log.Settings()
    if parsed.isSet("debug") { settings.minimum = .debug }
    if let format = parsed.value("log-format") {
        guard let chosen = Log.Format(rawValue: format) else { throw RuntimeError("invalid log format \"\(format)\" (text or json)") }
        settings.format = chosen
    }
    if let path = parsed.value("log"), !path.isEmpty {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        if fd < 0 { throw RuntimeError.system("open log file \(path)", errno: errno) }
        settings.fd = fd
    }
    Log.settings = settings
    if HostFacts.entropyDeferred {
        Log.debug("the kernel's entropy pool is not ready yet: started with a fixed hashing seed instead of waiting for it")
    }
}

@MainActor
func main() -> Int32 {
    HostFacts.restoreEnvironment()
    do throws(RuntimeError) {
        let parsed = try ParsedFlags.parse(CommandLine.arguments.dropFirst(), flags: globalFlags)
        try configureLogging(parsed)
        if parsed.isSet("version") {
            Output.stdout("port-run version \(version)\nspec: \(DefaultSpec.ociVersion)\n")
            return 0
        }
        guard let name = parsed.positionals.first else {
            Output.stdout(globalUsage)
            return parsed.isSet("help") ? 0 : 1
        }
        guard let command = commands[name] else { throw RuntimeError("unknown command \"\(name)\" (see port-run --help)") }
        let manager = parsed.value("cgroup-manager") ?? (parsed.isSet("systemd-cgroup") ? "systemd" : "cgroupfs")
        guard let driver = CgroupDriver(rawValue: manager) else {
            throw RuntimeError("invalid --cgroup-manager \"\(manager)\" (cgroupfs, systemd or disabled)")
        }
        if parsed.isSet("systemd-cgroup"), driver != .systemd {
            throw RuntimeError("--systemd-cgroup contradicts --cgroup-manager \(manager)")
        }
        let context = Context(lifecycle: Lifecycle(root: parsed.value("root") ?? StateStore.hostDefaultRoot(),
                                                   cgroupDriver: driver))
        return try command(parsed.positionals.dropFirst(), context)
    } catch {
        // One line, once: to stderr for people, and to --log for engines that read it back.
        if Log.settings.fd != 2 { Log.error(error.message) }
        Output.stderr(error.message + "\n")
        return error.exitCode
    }
}

exit(main())
