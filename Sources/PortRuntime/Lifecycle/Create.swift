#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
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
        var unused: Int32?
        return try create(options, foregroundConsole: &unused)
    }

    /// `foregroundConsole`: non-nil on entry means "the caller stays attached": a terminal
    /// without a console socket then gets an internal one, whose end (where the pty master
    /// arrives) is returned here.
    func create(_ options: CreateOptions, foregroundConsole: inout Int32?) throws(RuntimeError) -> ContainerState {
        try StateStore.validate(id: options.id)
        // First, before any parsing: the protected copy starts over from here, and nothing
        // done before the re-exec would be kept.
        let facts = HostFacts.load(cacheDirectory: store.root)
        try protectRuntimeBinary(facts: facts)
        let bundle = try resolveBundle(options.bundle)
        let spec = try loadSpec(bundle: bundle)
        guard var process = spec.process else { throw RuntimeError("config.json: process: required to create a container") }
        if process.terminal && options.consoleSocket == nil && foregroundConsole == nil {
            throw RuntimeError("cannot allocate tty if port-run will detach without setting console socket")
        }
        // Termux's exec helper is a bionic library: it would break any glibc container.
        process.env.removeAll { $0.hasPrefix("LD_PRELOAD=") && $0.includes("libtermux-exec") }
        let activation = SocketActivation.inherited()
        if activation > 0 { process.env += ["LISTEN_FDS=\(activation)", "LISTEN_PID=1"] }
        let rootfs = try resolveRootfs(spec.root.path, bundle: bundle)
        try Strategy.checkNamespaces(spec, facts: facts)
        let strategy = Strategy(facts: facts)
        try strategy.checkMountOptions(spec)
        let launch = try ProcessLaunch.make(process, seccomp: spec.linux.seccomp, policies: .forInit(process, linux: spec.linux),
                                            preserveFds: activation + options.preserveFds,
                                            strategy: strategy, mountLabel: spec.linux.mountLabel)
        Log.debug("config: \(bundle)/config.json, ociVersion \(spec.ociVersion), rootfs \(rootfs)")
        Log.debug("strategy: fd closing by \(launch.strategy.fdClosing.rawValue), session keyring \(launch.strategy.sessionKeyring ? "yes" : "no")")

        var resources: CgroupResources
        do { resources = try CgroupResources(spec.linux.resources) } catch { throw RuntimeError(error.description) }
        resources.allowContainerDevices(spec.linux.devices)
        if resources.ignoredKernelMemory {
            Log.warning("linux.resources.memory.kernel: kernel memory limits are deprecated and ignored")
        }
        let systemd = try systemdUnit(spec, id: options.id)
        let unit = systemd?.name
        let cgroups = try planCgroups(spec, id: options.id, resources: resources, systemdUnit: unit)
        let console = try process.terminal ? Console.open(options.consoleSocket, foreground: &foregroundConsole) : nil
        defer { if let console { close(console) } }
        var lock = try store.claim(options.id)
        defer { if lock >= 0 { store.unlock(lock) } }
        var launchedPid: pid_t = 0
        var creationHooksStarted = false
        var cgroupsCreated = false
        var scopePlaceholder: pid_t = 0
        var scopeStarted = false
        do {
            // What a `delete` after a crash needs to find: the cgroup, before it exists.
            var placeholder = ContainerState(id: options.id, ociVersion: spec.ociVersion, pid: 0, initStartTime: 0, bundle: bundle,
                                             rootfs: rootfs, created: Clock.rfc3339Nano(), annotations: spec.annotations,
                                             ownPidNamespace: false)
            placeholder.cgroupDirectories = cgroups?.directories ?? []
            try store.save(placeholder)
            // The systemd scope's placeholder counts as a task until init holds the scope:
            // the pids limit comes after it is gone.
            let (earlyLimits, pidsLimit) = unit == nil ? (resources, nil) : resources.splittingPidsLimit()
            if let cgroups {
                Log.debug("cgroups: \(cgroups.directories.joined(separator: ", "))")
                if let unit {
                    scopePlaceholder = try SystemdScope(name: unit).start(containerID: options.id, resources: earlyLimits, annotations: systemd?.annotations ?? [])
                    scopeStarted = true
                    // Only a unit this create started is one a later delete may stop.
                    placeholder.systemdUnit = unit.unit
                    try store.save(placeholder)
                    Log.debug("systemd unit \(unit.unit) in \(unit.slice)")
                }
                try cgroups.create()
                cgroupsCreated = true
                try cgroups.apply(earlyLimits)
            }
            try ExecFifo.create(at: store.fifoPath(options.id), owner: spec.linux.hostIDs(uid: process.user.uid, gid: process.user.gid))
            var request = InitRequest(containerID: options.id, spec: spec, rootfs: rootfs, bundle: bundle,
                                      noPivot: options.noPivot, noNewKeyring: options.noNewKeyring, launch: launch,
                                      consoleSocket: console, cgroupDirectories: cgroups?.directories ?? [])
            request.rootless = HostFacts.isRootless
            func stateOf(_ pid: pid_t) -> ContainerState {
                var state = ContainerState(id: options.id, ociVersion: spec.ociVersion, pid: pid,
                                           initStartTime: ProcessProbe.startTime(pid), bundle: bundle, rootfs: rootfs,
                                           created: Clock.rfc3339Nano(), annotations: spec.annotations,
                                           ownPidNamespace: spec.namespace(.pid)?.path == nil && spec.namespace(.pid) != nil)
                state.hooks = spec.hooks
                state.cgroupDirectories = cgroups?.directories ?? []
                state.systemdUnit = unit?.unit ?? ""
                return state
            }
            launchedPid = try ParentStage.launch(request, fifoPath: store.fifoPath(options.id)) { pid throws(RuntimeError) in
                let state = stateOf(pid)
                creationHooksStarted = true
                Log.debug("init \(pid) mounted the rootfs: running prestart and createRuntime hooks")
                // runtime-tools expects "created" for prestart (its legacy meaning), "creating" after.
                try spec.hooks.run(.prestart, state: state.hookState(status: .created))
                try spec.hooks.run(.createRuntime, state: state.hookState(status: .creating))
                return state
            } commit: { pid throws(RuntimeError) in
                Log.debug("init \(pid) is ready and waits on the exec fifo: recording the container")
                try store.save(stateOf(pid))
                if let pidFile = options.pidFile { try Files.writeAtomically(absolute(pidFile), String(pid)) }
            }
            // init is in the unit's cgroup now and holds it.
            if let unit {
                SystemdScope(name: unit).release(scopePlaceholder)
                scopePlaceholder = 0
                if let pidsLimit, let cgroups {
                    try SystemdScope.setProperties(unit.unit, pidsLimit)
                    try cgroups.apply(pidsLimit)
                }
            }
            let state = stateOf(launchedPid)
            Log.debug("created container \(options.id): init pid \(launchedPid)")
            return state
        } catch {
            // The spec's step 12: once creation hooks ran, a failure still runs poststop.
            if creationHooksStarted {
                let state = ContainerState(id: options.id, ociVersion: spec.ociVersion, pid: launchedPid, initStartTime: 0,
                                           bundle: bundle, rootfs: rootfs, created: "", annotations: spec.annotations,
                                           ownPidNamespace: false)
                spec.hooks.runWarning(.poststop, state: state.hookState(status: .stopped))
            }
            if launchedPid > 0 {
                libcKill(launchedPid, SIGKILL)
                ParentStage.reap(launchedPid)
            }
            if let unit, scopeStarted {
                SystemdScope(name: unit).release(scopePlaceholder)
                SystemdScope.stop(unit.unit)
            }
            if cgroupsCreated { cgroups?.destroy() }
            // Removing the directory needs an fd of its own: with fds exhausted, the lock's.
            store.unlock(lock)
            lock = -1
            store.remove(options.id)
            if let peer = foregroundConsole { close(peer) }
            throw error
        }
    }

    /// `run`: create, start, and unless detached wait for the container, forwarding signals,
    /// then delete it (`keep`: leave it stopped, with its cgroup, for `delete`). Without
    /// `subreaper` processes the container leaves behind are not reaped here. Returns the
    /// exit code port-run should exit with.
    public func run(_ options: CreateOptions, detach: Bool, keep: Bool = false, subreaper: Bool = true) throws(RuntimeError) -> Int32 {
        if detach && keep { throw RuntimeError("--detach and --keep cannot be used together") }
        var console: Int32? = detach ? nil : -1
        if !detach {
            SignalForwarder.block()
            if subreaper { _ = cc_prctl(CC_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }
        }
        let state = try create(options, foregroundConsole: &console)
        let master = try console.flatMap { peer throws(RuntimeError) -> Int32? in
            guard peer >= 0 else { return nil }
            defer { close(peer) }
            return try Terminal.receiveMaster(on: peer)
        }
        do {
            try start(options.id)
        } catch {
            guard !detach else { throw error }
            // runc's convention: the status of the failed container process (255 when its
            // execve failed), with the reason printed.
            let status = ParentStage.exitCode(ParentStage.reap(state.pid))
            removeStopped(state)
            throw RuntimeError(error.message, exitCode: status == 0 ? 1 : status)
        }
        if detach { return 0 }
        let status = master.map { ConsoleProxy.run(master: $0, until: state.pid) } ?? SignalForwarder.forwardUntilExit(state.pid)
        if state.ownPidNamespace == false { killRemaining(state) }
        if !keep { removeStopped(state) }
        return ParentStage.exitCode(status)
    }

    /// nil means no cgroups: disabled by the caller, or no hierarchy on this host (then said
    /// once, and a spec that sets limits is refused rather than run without them).
    func planCgroups(_ spec: Spec, id: String, resources: CgroupResources, systemdUnit: SystemdUnitName?) throws(RuntimeError) -> CgroupManager? {
        let layout = cgroupsEnabled ? CgroupLayout.current() : CgroupLayout(hierarchies: [])
        var manager = CgroupManager(directories: [])
        if let systemdUnit, !layout.hierarchies.isEmpty {
            manager = try CgroupManager.plan(systemdUnit: systemdUnit, layout: layout)
        } else if !layout.hierarchies.isEmpty {
            manager = try CgroupManager.plan(cgroupsPath: spec.linux.cgroupsPath, id: id, layout: layout)
        }
        let rootless = cgroupsEnabled && HostFacts.isRootless
        // Rootless: only where the user may make the directory (a cgroup delegated to them).
        if rootless { manager.directories.removeAll { !CgroupManager.mayCreate($0) } }
        if manager.directories.isEmpty {
            let nonDevice = { var copy = resources; copy.devices = []; return copy }()
            if !nonDevice.isEmpty {
                let reason = !cgroupsEnabled ? "cgroups are disabled" : rootless ? "no cgroup is delegated to this user" : "this host has no cgroup hierarchy"
                throw RuntimeError("config.json: linux.resources: limits need cgroups, and \(reason)")
            }
            Log.debug("running without cgroups (\(!cgroupsEnabled ? "--cgroup-manager disabled" : rootless ? "none delegated to this user" : "no cgroup hierarchy found"))")
            return nil
        }
        return manager
    }

    /// With the systemd driver, the unit that will hold the container's cgroup and the
    /// properties its annotations set, read before anything is made; refused where no
    /// systemd runs, and for a rootless user (the user manager is not driven yet).
    func systemdUnit(_ spec: Spec, id: String) throws(RuntimeError) -> (name: SystemdUnitName, annotations: [DBusValue])? {
        guard cgroupDriver == .systemd else { return nil }
        let name = try SystemdUnitName(cgroupsPath: spec.linux.cgroupsPath, id: id)
        let annotations = try SystemdProperties.annotations(spec.annotations)
        try SystemdScope.requireRunning()
        if HostFacts.isRootless {
            throw RuntimeError("--systemd-cgroup: a rootless container needs the user's systemd manager, which port-run does not drive yet; use the cgroupfs driver")
        }
        return (name, annotations)
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
            try spec.validateForCreate(isHostNetwork: { path in Files.sameFile("/proc/self/ns/net", path) })
        } catch { throw RuntimeError(error.description) }
        if spec.namespace(.mount) == nil && !spec.mounts.isEmpty {
            Log.warning("config.json: mounts: ignored, since there is no mount namespace to hold them")
        }
        return spec
    }

    /// The rootfs's real path. The host's own root, or a directory above the state root, is
    /// refused: the container would get the host, or the runtime's state, as its own files.
    func resolveRootfs(_ path: String, bundle: String) throws(RuntimeError) -> String {
        let joined = path.hasPrefix("/") ? path : bundle + "/" + path
        let resolved: String
        do { resolved = try Files.realPath(joined) } catch { throw RuntimeError("rootfs \(joined): \(errnoText(errno))") }
        guard Files.isDirectory(resolved) else { throw RuntimeError("rootfs \(joined): not a directory") }
        if resolved == "/" || Files.sameFile(resolved, "/") {
            throw RuntimeError("rootfs \(joined): is the host's root directory; refusing to use it as a container's")
        }
        let stateRoot = (try? Files.realPath(store.root)) ?? store.root
        if stateRoot == resolved || stateRoot.hasPrefix(resolved + "/") {
            throw RuntimeError("rootfs \(joined): holds the runtime's state directory \(stateRoot); refusing to use it as a container's")
        }
        return resolved
    }

    func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
        guard getcwd(&buffer, buffer.count) != nil else { return path }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/" + path
    }
}
