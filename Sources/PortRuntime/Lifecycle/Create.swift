#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CCompat

/// Options shared by `create` and `run` (runc's flags of the same names).
public struct CreateOptions: Sendable {
    public var id: String
    public var bundle: String = "."
    public var pidFile: String?
    public var consoleSocket: String?
    public var noPivot = false
    public var noNewKeyring = false
    public var preserveFds: Int32 = 0

    public init(id: String) { self.id = id }
}

extension Lifecycle {
    /// Creates the container and leaves its init waiting on the exec fifo. On any failure
    /// nothing is left behind: no state directory, no process.
    @discardableResult
    public func create(_ options: CreateOptions) throws(RuntimeError) -> ContainerState {
        try StateStore.validate(id: options.id)
        let bundle = try resolveBundle(options.bundle)
        let spec = try loadSpec(bundle: bundle)
        guard var process = spec.process else { throw RuntimeError("config.json: process: required to create a container") }
        if process.terminal && options.consoleSocket == nil {
            throw RuntimeError("cannot allocate tty if port-run will detach without setting console socket")
        }
        if process.terminal { throw RuntimeError("config.json: process.terminal: terminals are not supported by this version of port-run") }
        // Termux's exec helper is a bionic library: it would break any glibc container.
        process.env.removeAll { $0.hasPrefix("LD_PRELOAD=") && $0.contains("libtermux-exec") }
        let rootfs = try resolveRootfs(spec.root.path, bundle: bundle)
        let lastCap = CapabilitySets.kernelLastCap()
        let capabilities: CapabilitySets?
        do { capabilities = try process.capabilities.map { caps throws(SpecError) in try CapabilitySets(caps, lastCap: lastCap) } } catch {
            throw RuntimeError(error.description)
        }

        try store.claim(options.id)
        var launchedPid: pid_t = 0
        do {
            try ExecFifo.create(at: store.fifoPath(options.id))
            let request = InitRequest(containerID: options.id, spec: spec, process: process, rootfs: rootfs, bundle: bundle,
                                      noPivot: options.noPivot, noNewKeyring: options.noNewKeyring,
                                      preserveFds: options.preserveFds, strategy: Strategy.detect(),
                                      capabilities: capabilities, lastCap: lastCap)
            launchedPid = try ParentStage.launch(request, stateDirectory: store.directory(options.id))
            let state = ContainerState(id: options.id, ociVersion: spec.ociVersion, pid: launchedPid,
                                       initStartTime: ProcessProbe.startTime(launchedPid), bundle: bundle, rootfs: rootfs,
                                       created: Clock.rfc3339Nano(), annotations: spec.annotations,
                                       ownPidNamespace: spec.namespace(.pid)?.path == nil && spec.namespace(.pid) != nil)
            try store.save(state)
            if let pidFile = options.pidFile { try Files.writeAtomically(absolute(pidFile), String(launchedPid)) }
            Log.debug("created container \(options.id): init pid \(launchedPid)")
            return state
        } catch {
            if launchedPid > 0 {
                Glibc.kill(launchedPid, SIGKILL)
                ParentStage.reap(launchedPid)
            }
            store.remove(options.id)
            throw error
        }
    }

    /// `run`: create, start, and unless detached wait for the container, forwarding signals,
    /// then delete it. Returns the exit code port-run should exit with.
    public func run(_ options: CreateOptions, detach: Bool) throws(RuntimeError) -> Int32 {
        if !detach {
            SignalForwarder.block()
            _ = cc_prctl(CC_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        }
        let state = try create(options)
        do {
            try start(options.id)
        } catch {
            guard !detach else { throw error }
            // runc's convention: the status of the failed container process (255 when its
            // execve failed), with the reason printed.
            let status = ParentStage.exitCode(ParentStage.reap(state.pid))
            store.remove(options.id)
            throw RuntimeError(error.message, exitCode: status == 0 ? 1 : status)
        }
        if detach { return 0 }
        let status = SignalForwarder.forwardUntilExit(state.pid)
        if state.ownPidNamespace == false { killRemaining(state) }
        store.remove(options.id)
        return ParentStage.exitCode(status)
    }

    func resolveBundle(_ path: String) throws(RuntimeError) -> String {
        do { return try Files.realPath(path) } catch { throw RuntimeError("bundle \(path): \(errnoText(errno))") }
    }

    func loadSpec(bundle: String) throws(RuntimeError) -> Spec {
        let path = bundle + "/config.json"
        // A config.json larger than this is refused from its size alone, before reading it.
        let bytes = try Files.read(path, limit: 32 << 20)
        let spec: Spec
        do {
            spec = try Spec.decode(bytes)
            try spec.validateForCreate()
        } catch { throw RuntimeError(error.description) }
        if spec.namespace(.mount) == nil && !spec.mounts.isEmpty {
            Log.warning("config.json: mounts: ignored, since there is no mount namespace to hold them")
        }
        return spec
    }

    func resolveRootfs(_ path: String, bundle: String) throws(RuntimeError) -> String {
        let joined = path.hasPrefix("/") ? path : bundle + "/" + path
        let resolved: String
        do { resolved = try Files.realPath(joined) } catch { throw RuntimeError("rootfs \(joined): \(errnoText(errno))") }
        guard Files.isDirectory(resolved) else { throw RuntimeError("rootfs \(joined): not a directory") }
        return resolved
    }

    func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
        guard getcwd(&buffer, buffer.count) != nil else { return path }
        return String(cString: buffer) + "/" + path
    }
}
