#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// The parent side of container creation: forks the init stage (into a new or joined pid
/// namespace) and waits until it is ready or has failed.
enum ParentStage {
    /// Returns init's host pid once init waits on the exec fifo. On failure init has been
    /// reaped and the error carries init's own message.
    /// `runHooks` is called when init has mounted the rootfs (only if the spec has hooks);
    /// it returns the state JSON that init's own hooks read.
    static func launch(_ request: InitRequest, fifoPath: String,
                       runHooks: (pid_t) throws(RuntimeError) -> ContainerState,
                       commit: (pid_t) throws(RuntimeError) -> Void) throws(RuntimeError) -> pid_t {
        let channel = try SyncChannel.make()
        defer { close(channel.parentEnd) }
        let fifo: Int32
        do { fifo = try ExecFifo.handle(at: fifoPath) } catch {
            close(channel.childEnd)
            throw error
        }
        defer { close(fifo) }

        // With a user namespace, init makes its pid namespace itself (it must belong to the
        // user namespace) and forks the real init, which then has to come back to us.
        let userNamespace = request.spec.namespace(.user) != nil
        if userNamespace { _ = cc_prctl(CC_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }
        var pid: pid_t
        do {
            let child = try spawnInPidNamespace(userNamespace ? nil : request.spec.namespace(.pid), request: request)
            pid = child.pid
            if pid == 0 {
                close(channel.parentEnd)
                var request = request
                request.bornInCgroup = child.bornIn
                InitStage.run(request, syncFd: channel.childEnd, fifo: fifo)
            }
        } catch {
            close(channel.childEnd)
            throw error
        }
        close(channel.childEnd)
        while true {
            switch SyncChannel.receive(on: channel.parentEnd) {
            case .ready?:
                try killingChildOnFailure(pid) { () throws(RuntimeError) in try commit(pid) }
                SyncChannel.send(.committed, on: channel.parentEnd)
                guard SyncChannel.receive(on: channel.parentEnd) == .committed else {
                    let status = reap(pid)
                    throw RuntimeError("container init exited after setup (\(describe(status)))")
                }
                return pid
            case .runHooks?:
                try killingChildOnFailure(pid) { () throws(RuntimeError) in
                    SyncChannel.send(.hooksDone(try runHooks(pid).stored.render()), on: channel.parentEnd)
                }
            case .error(let message)?:
                reap(pid)
                throw RuntimeError(message)
            case .needIDMaps?:
                try killingChildOnFailure(pid) { () throws(RuntimeError) in
                    try IDMaps.write(request.spec.linux, to: pid, strategy: request.launch.strategy)
                    SyncChannel.send(.idMapsDone, on: channel.parentEnd)
                }
            case .initPid(let realInit)?:
                reap(pid)
                pid = realInit
                SyncChannel.send(.proceed, on: channel.parentEnd)
            case .seccompListener(let listener)?:
                let container = JSONOutput.object([
                    ("ociVersion", .string(request.spec.ociVersion)), ("id", .string(request.containerID)),
                    ("status", .string("creating")), ("pid", .int(Int64(pid))), ("bundle", .string(request.bundle)),
                ])
                try killingChildOnFailure(pid) { () throws(RuntimeError) in
                    try SeccompAgent.relay(listener, profile: request.launch.seccomp, pid: pid, container: container,
                                           replyingOn: channel.parentEnd)
                }
            case .hooksDone?, .committed?, .idMapsDone?, .seccompListenerDone?, .proceed?, nil:
                let status = reap(pid)
                throw RuntimeError("container init exited during setup (\(describe(status)))")
            }
        }
    }

    /// Work the parent does while its child (init, or an exec process) waits on it: when it
    /// fails, the child must not live on. (Only for a live child: a pid that was reaped may
    /// already belong to someone else.)
    static func killingChildOnFailure(_ pid: pid_t, _ work: () throws(RuntimeError) -> Void) throws(RuntimeError) {
        do { try work() } catch {
            kill(pid, SIGKILL)
            reap(pid)
            throw error
        }
    }

    /// unshare/setns(CLONE_NEWPID) only changes where the *next* child goes, so the parent
    /// spawns inside it and then returns its own children to its original pid namespace.
    private static func spawnInPidNamespace(_ namespace: Spec.Namespace?, request: InitRequest) throws(RuntimeError) -> Spawn.Child {
        let spawn = { () throws(RuntimeError) -> Spawn.Child in
            try Spawn.child("init", cgroupDirectories: request.cgroupDirectories, strategy: request.launch.strategy)
        }
        guard let namespace else { return try spawn() }
        let original = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC)
        if original < 0 { throw RuntimeError.system("open /proc/self/ns/pid", errno: errno) }
        defer { close(original) }
        if let path = namespace.path {
            try Namespaces.join(path, type: .pid)
        } else if cc_unshare(CC_CLONE_NEWPID) != 0 {
            throw RuntimeError.system("unshare pid namespace", errno: errno)
        }
        let child: Spawn.Child
        do { child = try spawn() } catch {
            _ = cc_setns(original, CC_CLONE_NEWPID)
            throw error
        }
        // Only the parent goes back; the child stays where it was made.
        if child.pid != 0, cc_setns(original, CC_CLONE_NEWPID) != 0 {
            Log.warning("return to the runtime's pid namespace: \(errnoText(errno))")
        }
        return child
    }

    @discardableResult
    static func reap(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        _ = retryingEINTR { waitpid(pid, &status, 0) }
        return status
    }

    static func describe(_ status: Int32) -> String {
        if cc_wifsignaled(status) != 0 { return "killed by signal \(cc_wtermsig(status))" }
        return "exit status \(cc_wexitstatus(status))"
    }

    /// runc's convention: the exit code, or 128 + the signal that killed the process.
    static func exitCode(_ status: Int32) -> Int32 {
        if cc_wifsignaled(status) != 0 { return 128 + cc_wtermsig(status) }
        return cc_wexitstatus(status)
    }
}
