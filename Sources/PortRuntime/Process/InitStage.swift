#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// What the init stage needs; built by the parent stage before it forks.
public struct InitRequest {
    public var containerID: String
    public var spec: Spec
    public var rootfs: String
    public var bundle: String
    public var noPivot: Bool
    public var noNewKeyring: Bool
    public var launch: ProcessLaunch
    /// Where the pty master goes when process.terminal is set.
    public var consoleSocket: Int32?
    /// The container's cgroup: init joins it before its cgroup namespace is made.
    public var cgroupDirectories: [String] = []
    /// The v2 directory init was born in (clone3 CLONE_INTO_CGROUP): it need not join it.
    var bornInCgroup: String?
    /// The runtime is not root of the host: no host cgroup tree may end up writable.
    public var rootless = false
    var process: Spec.Process { launch.process }
}

/// The init stage: runs in the forked, single-threaded child, builds the container around
/// itself and ends in the container process's execve. It never returns: any failure is sent
/// to the parent with its stage and the process exits. It is not dumpable from the start
/// (the parent made itself so before forking): no process of the container can ptrace it or
/// open its /proc/PID/fd, exe or root until the container's own execve.
enum InitStage {
    /// `fifo` is an O_PATH fd of the exec fifo, the one thing of the host's init keeps while
    /// it waits for `start`.
    static func run(_ request: InitRequest, syncFd: Int32, fifo: Int32) -> Never {
        var fifoWriter: Int32 = -1
        do throws(RuntimeError) {
            var hookState: ContainerState?
            let executable = try prepare(request, syncFd: syncFd, fifo: fifo, hookState: &hookState)
            SyncChannel.send(.ready, on: syncFd)
            // Until the parent has recorded the container, its death must take init along:
            // otherwise a killed `create` leaves a process that no state names.
            guard SyncChannel.receive(on: syncFd) == .committed else { _exit(1) }
            _ = cc_prctl(CC_PR_SET_PDEATHSIG, 0, 0, 0, 0)
            // The parent waits for this echo: exiting earlier would fire the death signal.
            SyncChannel.send(.committed, on: syncFd)
            // From here on the fifo carries any error; the socket leads to the host.
            libcClose(syncFd)
            fifoWriter = try ExecFifo.waitForStart(fifo)
            if let state = hookState { try request.spec.hooks.run(.startContainer, state: state.hookState(status: .created)) }
            try request.launch.exec(executable)
        } catch {
            // Before `ready` the parent is listening on the socket; after it, `start` is
            // reading the fifo. Either way the message reaches whoever waits.
            if fifoWriter >= 0 {
                try? Files.writeAll(fd: fifoWriter, Array(error.message.utf8), path: "exec fifo")
                _exit(255)
            }
            SyncChannel.send(.error(error.message), on: syncFd)
            _exit(1)
        }
    }

    /// Everything up to the point where only the fifo and execve remain.
    private static func prepare(_ request: InitRequest, syncFd: Int32, fifo: Int32,
                                hookState: inout ContainerState?) throws(RuntimeError) -> String {
        ProcessLaunch.resetSignals()
        let spec = request.spec
        let strategy = request.launch.strategy
        // If the parent died before this line, the socket's EOF at `committed` ends init.
        // With a user namespace init forks again, and its parent is meant to die: no signal.
        if spec.namespace(.user) == nil { _ = cc_prctl(CC_PR_SET_PDEATHSIG, UInt(SIGKILL), 0, 0, 0) }
        try CgroupManager.joinSelf(request.cgroupDirectories.filter { $0 != request.bornInCgroup })
        // The runtime's own procfs, checked, for every /proc write until the fds are closed.
        var procfs = try Procfs.open(strategy: strategy)
        var procfsOpen = true
        defer { if procfsOpen { procfs.close() } }
        // What else the runtime had open (its lock on the state directory, the far end of the
        // console socket) stays on the host: a container process that shares init's pid
        // namespace and may ptrace would otherwise find a host directory in init's fds.
        let kept = request.launch.preservedFds + [syncFd, fifo, procfs.fd, Log.settings.fd] + (request.consoleSocket.map { [$0] } ?? [])
        FdCloser.closeAll(except: Set(kept), strategy: strategy, procfs: procfs)
        // Before a user namespace: a negative score needs the host's CAP_SYS_RESOURCE.
        if let score = request.process.oomScoreAdj { try ProcessSetup.writeOOMScoreAdj(score, procfs: procfs) }
        try IDMaps.enterUserNamespace(spec, syncFd: syncFd)
        if try IDMaps.enterPidNamespace(spec, syncFd: syncFd) {
            // A new process: "self" is another pid now.
            procfs = try procfs.forThisProcess()
        }
        if setsid() < 0 { throw RuntimeError.system("setsid", errno: errno) }
        // Read before the cgroup namespace exists: inside it every path reads as "/", and the
        // container's /sys/fs/cgroup must show its own cgroup, not the host's root.
        let needsCgroups = spec.mounts.contains { $0.type == "cgroup" || $0.type == "cgroup2" }
        let cgroupLayout = needsCgroups ? CgroupLayout.current() : CgroupLayout(hierarchies: [])
        try Namespaces.enter(spec.linux.namespaces)
        if let time = spec.namespace(.time), time.path == nil { try enterNewTimeNamespace(spec.linux.timeOffsets, procfs: procfs) }
        if let hostname = spec.hostname, !hostname.isEmpty {
            try check(cc_sethostname(hostname, hostname.utf8.count), "sethostname \(hostname)")
        }
        if let domainname = spec.domainname, !domainname.isEmpty {
            try check(setdomainname(domainname, domainname.utf8.count), "setdomainname \(domainname)")
        }
        if !request.noNewKeyring && strategy.sessionKeyring {
            request.launch.labels.applyToKeyCreation(procfs: procfs)
            joinSessionKeyring(request.containerID)
        }

        var terminal: Int32?
        let system = LinuxMountSystem(procfs: procfs)
        if spec.namespace(.mount) != nil {
            let builder = RootfsBuilder(spec: spec, rootfs: request.rootfs, bundle: request.bundle, system: system,
                                        cgroups: cgroupLayout, mountLabel: request.launch.labels.mountLabel, strategy: strategy,
                                        rootless: request.rootless)
            let root = try builder.prepareRoot()
            try builder.mountAll(in: root)
            try builder.createDevices(in: root)
            try builder.createDevSymlinks(in: root)
            // createContainer hooks run with the container's root as their cwd, as in runc.
            try check(fchdir(root.root.fd), "enter the rootfs")
            hookState = try runCreationHooks(request.spec.hooks, syncFd: syncFd)
            terminal = try request.consoleSocket.map { fd throws(RuntimeError) in
                try Terminal.create(in: root, procfs: procfs, sendingTo: fd, size: request.process.consoleSize, bindConsole: true)
            }
            try ProcessSetup.applySysctls(spec.linux.sysctl, procfs: procfs)
            try builder.protectPaths(in: root)
            try builder.switchRoot(root, noPivot: request.noPivot)
            try builder.finalize()
        } else {
            hookState = try runCreationHooks(request.spec.hooks, syncFd: syncFd)
            // Without a mount namespace nothing may be mounted (it would land on the host);
            // the process still gets its rootfs as root directory.
            try check(chroot(request.rootfs), "chroot \(request.rootfs)")
            try check(chdir("/"), "chdir /")
            let root = try RootDirectory.open("/", kernelResolves: strategy.inRootResolution)
            terminal = try request.consoleSocket.map { fd throws(RuntimeError) in
                try Terminal.create(in: root, procfs: procfs, sendingTo: fd, size: request.process.consoleSize, bindConsole: false)
            }
            try ProcessSetup.applySysctls(spec.linux.sysctl, procfs: procfs)
        }

        procfsOpen = false
        let hasMountNamespace = spec.namespace(.mount) != nil
        let executable = try request.launch.prepare(keeping: [syncFd, fifo], procfs: procfs, terminal: terminal,
                                                    afterClosingFds: { () throws(RuntimeError) in
            guard hasMountNamespace else { return }
            try RootfsBuilder<LinuxMountSystem>.finishRoot(spec, cwd: request.process.cwd, kernelResolves: strategy.inRootResolution,
                                                           system: LinuxMountSystem(procfs: nil))
        }, handOver: ProcessLaunch.handOverThroughParent(syncFd))
        return executable
    }
    /// Between mounting the rootfs and switching into it: the parent runs prestart and
    /// createRuntime hooks (runtime namespace), then init runs createContainer hooks (the
    /// container's namespaces, host paths still reachable). Returns the state hooks read.
    private static func runCreationHooks(_ hooks: Hooks, syncFd: Int32) throws(RuntimeError) -> ContainerState? {
        guard !hooks.isEmpty else { return nil }
        SyncChannel.send(.runHooks, on: syncFd)
        guard case .hooksDone(let stored)? = SyncChannel.receive(on: syncFd),
              let state = try? ContainerState(stored: Array(stored.utf8)) else {
            throw RuntimeError("the runtime stopped before the hooks ran")
        }
        try hooks.run(.createContainer, state: state.hookState(status: .creating))
        return state
    }

    /// unshare(CLONE_NEWTIME) made a namespace for init's children only. It takes its offsets
    /// before any process is in it, then init joins it itself: on older kernels (5.10)
    /// an execve does not move a process into it, and init would keep the host's clocks.
    private static func enterNewTimeNamespace(_ offsets: [Spec.TimeOffset], procfs: Procfs) throws(RuntimeError) {
        if !offsets.isEmpty {
            let clockIDs = ["monotonic": 1, "boottime": 7]
            let lines = offsets.map { "\(clockIDs[$0.clock]!) \($0.seconds) \($0.nanoseconds)\n" }.joined()
            do { try procfs.write("self/timens_offsets", lines) } catch { throw RuntimeError("linux.timeOffsets: \(error.message)") }
        }
        try Namespaces.join("/proc/self/ns/time_for_children", type: .time)
    }

    /// A fresh session keyring keeps the host's keys out of the container. Best effort, as in
    /// runc: kernels without keyrings (or a seccomp that denies keyctl) still run containers.
    private static func joinSessionKeyring(_ id: String) {
        if cc_keyctl_join_session("_ses.\(id)") < 0 {
            Log.debug("join session keyring: \(errnoText(errno)); continuing without one")
        }
    }
}
