#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// The last steps before a container process runs, shared by a container's init and by
/// `exec`: limits, user, capabilities, cwd, no_new_privs, fd closing, execve.
public struct ProcessLaunch: Sendable {
    public var process: Spec.Process
    /// nil when the spec sets no capabilities: the process keeps what it has, as in runc.
    public var capabilities: CapabilitySets?
    public var lastCap: Int
    public var preserveFds: Int32
    /// The fds the caller hands to the container (socket activation's, then --preserve-fds'),
    /// from 3 on: no stage closes them.
    var preservedFds: [Int32] { (0..<preserveFds).map { 3 + $0 } }
    public var strategy: Strategy
    public var seccomp: SeccompProfile?
    /// AppArmor and SELinux labels, only those this host's LSMs will apply.
    public var labels = LSMLabels()
    var policies = ProcessPolicies()

    /// Validates capability names and the seccomp profile and builds the launch; errors name
    /// the JSON path.
    static func make(_ process: Spec.Process, seccomp: JSONField?, policies: ProcessPolicies, preserveFds: Int32,
                     strategy: Strategy, mountLabel: String? = nil) throws(RuntimeError) -> ProcessLaunch {
        let lastCap = CapabilitySets.kernelLastCap()
        do {
            let capabilities = try process.capabilities.map { caps throws(SpecError) in try CapabilitySets(caps, lastCap: lastCap) }
            let profile = try SeccompProfile(seccomp)
            return ProcessLaunch(process: process, capabilities: capabilities, lastCap: lastCap, preserveFds: preserveFds,
                                 strategy: strategy, seccomp: try strategy.adapt(profile),
                                 labels: try LSMLabels.plan(process: process, mountLabel: mountLabel), policies: policies)
        } catch let error as SpecError {
            throw RuntimeError(error.description)
        } catch let error as RuntimeError {
            throw error
        } catch {
            throw RuntimeError("\(error)")
        }
    }

    /// Applies everything but the execve, inside the container's root; returns the resolved
    /// executable. Only stdio, the preserved fds and `keep` stay open: `procfs` (the
    /// runtime's own, checked) serves the fd list and the LSM labels and is closed before
    /// anything of the container's is touched; `afterClosingFds` runs then (init makes its
    /// cwd there). `handOver` gets the seccomp listener fd (SCMP_ACT_NOTIFY) and returns
    /// once the agent has it.
    func prepare(keeping keep: [Int32], procfs: Procfs, terminal: Int32?, afterClosingFds: () throws(RuntimeError) -> Void = {},
                 handOver: (Int32) throws(RuntimeError) -> Void) throws(RuntimeError) -> String {
        if let terminal { try Terminal.attach(terminal) }
        try ProcessSetup.applyRlimits(process.rlimits)
        try policies.apply()
        umask(mode_t(process.user.umask ?? 0o022))
        // The runtime's fds go first: a cwd of /proc/self/fd/N must not reach one of them
        // (the CVE-2024-21626 class). The few kept are checked for below.
        FdCloser.closeAll(except: Set(preservedFds + keep + [procfs.fd]), strategy: strategy, procfs: procfs)
        do { try labels.applyOnExec(procfs: procfs) } catch {
            procfs.close()
            throw error
        }
        procfs.close()
        try afterClosingFds()
        // cwd is entered before and after the user switch: the first may need root's access,
        // the second proves the container user can be there.
        let enteredEarly = chdir(process.cwd) == 0
        // Checked before the seccomp filter, which may well deny getcwd.
        let verifiedCwd = enteredEarly ? try ensureCwdInsideRoot() : nil
        // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, so it goes in before the
        // capabilities are dropped (as runc); with it, as late as possible.
        if let seccomp, !process.noNewPrivileges { try loadFilter(seccomp, handOver: handOver) }
        if process.user.uid != 0 { ProcessSetup.giveStdioTo(process.user) }
        try capabilities?.applyBeforeUserSwitch(lastCap: lastCap)
        try ProcessSetup.switchUser(process.user)
        // A change of uid resets dumpability to fs.suid_dumpable: not dumpable until execve.
        _ = cc_prctl(CC_PR_SET_DUMPABLE, 0, 0, 0, 0)
        try capabilities?.applyAfterUserSwitch()
        if !enteredEarly || process.user.uid != 0 {
            try check(chdir(process.cwd), "chdir to cwd (\"\(process.cwd)\") set in config.json")
            if let verifiedCwd {
                // The same directory as the one checked: device and inode say so without getcwd.
                var info = stat()
                guard stat(".", &info) == 0, info.st_dev == verifiedCwd.dev, info.st_ino == verifiedCwd.ino else {
                    throw RuntimeError("process.cwd \"\(process.cwd)\" changed while the process was set up; refusing to start")
                }
            } else {
                _ = try ensureCwdInsideRoot()
            }
        }
        let executable = try ProcessSetup.resolveExecutable(process.args[0], env: process.env)
        if process.noNewPrivileges {
            try check(cc_prctl(CC_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
        }
        if let seccomp, process.noNewPrivileges { try loadFilter(seccomp, handOver: handOver) }
        return executable
    }

    private func loadFilter(_ profile: SeccompProfile, handOver: (Int32) throws(RuntimeError) -> Void) throws(RuntimeError) {
        guard let listener = try SeccompFilter.load(profile) else { return }
        defer { close(listener) }
        try handOver(listener)
    }

    /// The child's side of the hand-over: the parent, still on the host, reaches the agent.
    static func handOverThroughParent(_ syncFd: Int32) -> (Int32) throws(RuntimeError) -> Void {
        return { listener throws(RuntimeError) in
            SyncChannel.send(.seccompListener(fd: listener), on: syncFd)
            guard SyncChannel.receive(on: syncFd) == .seccompListenerDone else {
                throw RuntimeError("the runtime stopped before the seccomp agent got the listener")
            }
        }
    }

    /// A directory outside the process's root has no path from it: the kernel then reports
    /// the cwd as "(unreachable)/..." (or glibc as ENOENT). Either means an escape.
    @discardableResult
    private func ensureCwdInsideRoot() throws(RuntimeError) -> (dev: UInt64, ino: UInt64) {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil, buffer.first == CChar(UInt8(ascii: "/")) else {
            throw RuntimeError("process.cwd \"\(process.cwd)\" leads outside the container's root; refusing to start")
        }
        var info = stat()
        _ = stat(".", &info)
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }

    func exec(_ executable: String) throws(RuntimeError) -> Never {
        let env = ProcessSetup.environment(process.env, uid: process.user.uid)
        let argv = process.args.map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        execve(executable, argv, envp)
        throw RuntimeError("exec \(process.args[0]): \(errnoText(errno))", exitCode: 255)
    }

    /// The parent may have blocked signals to forward them; the container starts clean.
    static func resetSignals() {
        var empty = sigset_t()
        sigemptyset(&empty)
        sigprocmask(SIG_SETMASK, &empty, nil)
        for signal in 1..<Int32(65) where signal != SIGKILL && signal != SIGSTOP {
            libcRestoreDefaultAction(signal)
        }
    }
}
