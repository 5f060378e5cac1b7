#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif

/// `exec`: the process comes from `--process FILE`, or from the container's own process with
/// the command line's changes, as runc builds it.
public struct ExecOptions: Sendable {
    public var id: String
    public var processJSON: [UInt8]?
    public var args: [String] = []
    public var env: [String] = []
    public var cwd: String?
    public var user: (uid: UInt32, gid: UInt32?)?
    public var additionalGids: [UInt32] = []
    public var addedCapabilities: [String] = []
    public var noNewPrivileges = false
    public var tty = false
    public var detach = false
    public var pidFile: String?
    public var consoleSocket: String?
    public var preserveFds: Int32 = 0
    public var ignorePaused = false

    public init(id: String) { self.id = id }
}

extension Lifecycle {
    /// Runs a new process in a running container; returns the exit code for port-run (the
    /// process's status, or 0 when detached).
    public func exec(_ options: ExecOptions) throws(RuntimeError) -> Int32 {
        // runc's contract (#3073): any failure to run the process exits 255, so callers can
        // tell it from the process's own status.
        do { return try runExec(options) } catch { throw RuntimeError("exec failed: \(error.message)", exitCode: 255) }
    }

    private func runExec(_ options: ExecOptions) throws(RuntimeError) -> Int32 {
        // First: the protected copy starts over, so nothing before the re-exec is kept.
        let facts = HostFacts.load(cacheDirectory: store.root)
        try protectRuntimeBinary(facts: facts)
        let state = try store.load(options.id)
        switch store.status(of: state) {
        case .running, .created: break
        case .paused where options.ignorePaused: break
        case .paused: throw RuntimeError("cannot exec in a paused container (thaw it first, or pass --ignore-paused)")
        default: throw RuntimeError("cannot exec in a stopped container")
        }
        let spec = try loadSpec(bundle: state.bundle)
        let process = try execProcess(options, spec: spec)
        if process.terminal && options.detach && options.consoleSocket == nil {
            throw RuntimeError("cannot allocate tty if port-run will detach without setting console socket")
        }
        let launch = try ProcessLaunch.make(process, seccomp: spec.linux.seccomp, policies: .forExec(process, container: spec),
                                            preserveFds: options.preserveFds,
                                            strategy: Strategy(facts: facts))
        if !options.detach { SignalForwarder.block() }
        var foreground: Int32? = -1
        let console = try process.terminal ? Console.open(options.consoleSocket, foreground: &foreground) : nil
        defer { if let console { close(console) } }
        let pid: pid_t
        do { pid = try ExecStage.launch(launch, into: state, consoleSocket: console) } catch {
            if let peer = foreground, peer >= 0 { close(peer) }
            throw error
        }
        if let pidFile = options.pidFile { try Files.writeAtomically(absolute(pidFile), String(pid)) }
        if options.detach { return 0 }
        if console != nil, let peer = foreground, peer >= 0 {
            defer { close(peer) }
            let master = try Terminal.receiveMaster(on: peer)
            return ParentStage.exitCode(ConsoleProxy.run(master: master, until: pid))
        }
        return ParentStage.exitCode(SignalForwarder.forwardUntilExit(pid))
    }

    func execProcess(_ options: ExecOptions, spec: Spec) throws(RuntimeError) -> Spec.Process {
        if let json = options.processJSON {
            do throws(SpecError) {
                let process = try Spec.Process.decode(json)
                if process.args.isEmpty { throw SpecError(path: "args", reason: "must not be empty") }
                return process
            } catch { throw RuntimeError("process.json: \(error.path.isEmpty ? "" : error.path + ": ")\(error.reason)") }
        }
        guard !options.args.isEmpty else { throw RuntimeError("exec: no command given (pass COMMAND or --process FILE)") }
        guard var process = spec.process else { throw RuntimeError("config.json: process: missing") }
        process.args = options.args
        process.terminal = options.tty
        process.env += options.env
        if let cwd = options.cwd { process.cwd = cwd }
        if let user = options.user {
            process.user.uid = user.uid
            process.user.gid = user.gid ?? process.user.gid
        }
        if !options.additionalGids.isEmpty { process.user.additionalGids = options.additionalGids }
        if options.noNewPrivileges { process.noNewPrivileges = true }
        if !options.addedCapabilities.isEmpty {
            var caps = process.capabilities ?? Spec.Capabilities(bounding: [], effective: [], inheritable: [], permitted: [], ambient: [])
            caps.bounding = (caps.bounding ?? []) + options.addedCapabilities
            caps.effective = (caps.effective ?? []) + options.addedCapabilities
            caps.permitted = (caps.permitted ?? []) + options.addedCapabilities
            caps.ambient = (caps.ambient ?? []) + options.addedCapabilities
            process.capabilities = caps
        }
        return process
    }
}
