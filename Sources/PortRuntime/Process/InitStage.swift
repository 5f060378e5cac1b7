#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CCompat

/// What the init stage needs; built by the parent stage before it forks.
public struct InitRequest {
    public var containerID: String
    public var spec: Spec
    public var process: Spec.Process
    public var rootfs: String
    public var bundle: String
    public var noPivot: Bool
    public var noNewKeyring: Bool
    public var preserveFds: Int32
    public var strategy: Strategy
    /// nil when the spec sets no capabilities: the process keeps what it has, as in runc.
    public var capabilities: CapabilitySets?
    public var lastCap: Int
}

/// The init stage: runs in the forked, single-threaded child, builds the container around
/// itself and ends in the container process's execve. It never returns: any failure is sent
/// to the parent with its stage and the process exits.
enum InitStage {
    /// `stateDirFd` is the container's state directory, opened before the root switch, so the
    /// exec fifo can be reached without /proc (a container may mount none).
    static func run(_ request: InitRequest, syncFd: Int32, stateDirFd: Int32) -> Never {
        var fifoWriter: Int32 = -1
        do throws(RuntimeError) {
            let executable = try prepare(request, syncFd: syncFd, stateDirFd: stateDirFd)
            SyncChannel.send(.ready, on: syncFd)
            // Blocks until `start` opens the fifo for reading.
            fifoWriter = openat(stateDirFd, ExecFifo.fileName, O_WRONLY | O_CLOEXEC)
            if fifoWriter < 0 { throw RuntimeError.system("open exec fifo", errno: errno) }
            close(stateDirFd)
            try exec(executable, request: request)
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
    private static func prepare(_ request: InitRequest, syncFd: Int32, stateDirFd: Int32) throws(RuntimeError) -> String {
        resetSignals()
        let spec = request.spec
        if setsid() < 0 { throw RuntimeError.system("setsid", errno: errno) }
        try Namespaces.enter(spec.linux.namespaces)
        if let hostname = spec.hostname, !hostname.isEmpty {
            try check(cc_sethostname(hostname, hostname.utf8.count), "sethostname \(hostname)")
        }
        if let domainname = spec.domainname, !domainname.isEmpty {
            try check(setdomainname(domainname, domainname.utf8.count), "setdomainname \(domainname)")
        }
        if let score = request.process.oomScoreAdj { try ProcessSetup.writeOOMScoreAdj(score) }
        if !request.noNewKeyring { joinSessionKeyring(request.containerID) }

        let cwd = request.process.cwd
        if spec.namespace(.mount) != nil {
            let needsCgroups = spec.mounts.contains { $0.type == "cgroup" || $0.type == "cgroup2" }
            let builder = RootfsBuilder(spec: spec, rootfs: request.rootfs, bundle: request.bundle, system: LinuxMountSystem(),
                                        cgroups: needsCgroups ? CgroupLayout.current() : CgroupLayout(hierarchies: []))
            try builder.prepareRoot()
            try builder.mountAll()
            try builder.createDevices()
            try builder.createDevSymlinks()
            try builder.switchRoot(noPivot: request.noPivot)
            try ProcessSetup.applySysctls(spec.linux.sysctl)
            if !Files.isDirectory(cwd) { try? Files.makeDirectories(cwd) }
            try builder.finalize()
        } else {
            // Without a mount namespace nothing may be mounted (it would land on the host);
            // the process still gets its rootfs as root directory.
            try check(chroot(request.rootfs), "chroot \(request.rootfs)")
            try ProcessSetup.applySysctls(spec.linux.sysctl)
        }

        try ProcessSetup.applyRlimits(request.process.rlimits)
        umask(mode_t(request.process.user.umask ?? 0o022))
        // cwd is entered before and after the user switch: the first may need root's access,
        // the second proves the container user can be there.
        let enteredEarly = chdir(cwd) == 0
        try request.capabilities?.applyBeforeUserSwitch(lastCap: request.lastCap)
        try ProcessSetup.switchUser(request.process.user)
        try request.capabilities?.applyAfterUserSwitch()
        if !enteredEarly || request.process.user.uid != 0 { try check(chdir(cwd), "chdir to cwd (\"\(cwd)\") set in config.json") }
        let executable = try ProcessSetup.resolveExecutable(request.process.args[0], env: request.process.env)
        if request.process.noNewPrivileges {
            try check(cc_prctl(CC_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
        }
        let preserved = (0..<request.preserveFds).map { 3 + $0 }
        FdCloser.closeAll(except: Set(preserved + [syncFd, stateDirFd]), strategy: request.strategy)
        return executable
    }

    private static func exec(_ executable: String, request: InitRequest) throws(RuntimeError) -> Never {
        let env = ProcessSetup.environment(request.process.env, uid: request.process.user.uid)
        let argv = request.process.args.map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        execve(executable, argv, envp)
        let code = errno
        throw RuntimeError("exec \(request.process.args[0]): \(errnoText(code))", exitCode: 255)
    }

    /// The parent may have blocked signals to forward them; the container starts clean.
    private static func resetSignals() {
        var empty = sigset_t()
        sigemptyset(&empty)
        sigprocmask(SIG_SETMASK, &empty, nil)
        for signal in 1..<Int32(65) where signal != SIGKILL && signal != SIGSTOP {
            Glibc.signal(signal, SIG_DFL)
        }
    }

    /// A fresh session keyring keeps the host's keys out of the container. Best effort, as in
    /// runc: kernels without keyrings (or a seccomp that denies keyctl) still run containers.
    private static func joinSessionKeyring(_ id: String) {
        if cc_keyctl_join_session("_ses.\(id)") < 0 {
            Log.debug("join session keyring: \(errnoText(errno)); continuing without one")
        }
    }
}
