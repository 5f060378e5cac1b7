#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// Who makes the container's cgroup: port-run through cgroupfs, systemd as a transient unit
/// (`--systemd-cgroup`), or nobody (`--cgroup-manager disabled`).
public enum CgroupDriver: String, Sendable { case cgroupfs, systemd, disabled }

/// The container lifecycle, as the CLI calls it: create, start, run, state, kill, delete, list.
public struct Lifecycle: Sendable {
    public let store: StateStore
    public let cgroupDriver: CgroupDriver
    /// false with `--cgroup-manager disabled`: containers run without cgroups.
    public var cgroupsEnabled: Bool { cgroupDriver != .disabled }

    public init(root: String, cgroupDriver: CgroupDriver = .cgroupfs) {
        store = StateStore(root: root)
        self.cgroupDriver = cgroupDriver
    }

    /// create, run and exec put a runtime process where a container can see it: from here on
    /// it runs from a copy that cannot be written back to the binary (see SelfProtection).
    func protectRuntimeBinary(facts: HostFacts) throws(RuntimeError) {
        var directories = [store.root]
        if let temp = getenv("TMPDIR") { directories.append(String(cString: temp)) }
        directories += ["/tmp", "/dev/shm"]
        try SelfProtection.ensure(facts: facts, tempDirectories: directories)
        // Not dumpable from here on, and so every stage forked from here until its execve:
        // no process of a container can ptrace them or open their /proc/PID/fd, exe or root.
        _ = cc_prctl(CC_PR_SET_DUMPABLE, 0, 0, 0, 0)
    }

    /// Releases a created container: its process execs. Fails with init's own message
    /// (e.g. `exec /bin/app: exec format error`) when the execve fails.
    public func start(_ id: String) throws(RuntimeError) {
        let lock = try store.lock(id)
        defer { store.unlock(lock) }
        let state = try store.load(id)
        switch store.status(of: state) {
        case .created: break
        case .running, .paused: throw RuntimeError("cannot start an already running container")
        case .stopped, .creating: throw RuntimeError("cannot start a container that has stopped")
        }
        defer { unlink(store.fifoPath(id)) }
        try ExecFifo.release(at: store.fifoPath(id)) { ProcessProbe.isAlive(state.pid, startTime: state.initStartTime) }
        Log.debug("container \(id) started: init \(state.pid) has exec'd the process")
        state.hooks.runWarning(.poststart, state: state.hookState(status: .running))
    }

    public func state(_ id: String) throws(RuntimeError) -> JSONOutput {
        let state = try store.load(id)
        return state.ociState(status: store.status(of: state))
    }

    public func kill(_ id: String, signal: Int32, all: Bool) throws(RuntimeError) {
        let state = try store.load(id)
        switch store.status(of: state) {
        case .created, .running, .paused: break
        case .creating, .stopped:
            // containerd's shim sends `kill --all` on every stop: what is left in the cgroup
            // of a container whose init is gone (a shared pid namespace) is killed, and that
            // is a success, as in runc.
            guard all else { throw RuntimeError("container not running") }
            if !state.cgroupDirectories.isEmpty {
                for pid in state.cgroups.processes() where pid > 0 { libcKill(pid, signal) }
            }
            return
        }
        if all {
            if signal == SIGKILL, !state.cgroupDirectories.isEmpty, state.cgroups.killAll() { return }
            // pid 0 or -1 would signal our own process group or everything: never.
            for pid in containerPids(state) where pid > 0 { libcKill(pid, signal) }
            return
        }
        if libcKill(state.pid, signal) != 0 { throw RuntimeError.system("kill container \(id)", errno: errno) }
    }

    /// Removes a stopped or created container; a running one only with `force` (SIGKILL first).
    public func delete(_ id: String, force: Bool) throws(RuntimeError) {
        try StateStore.validate(id: id)
        // As runc: --force on a container that is already gone succeeds, so retries are safe.
        guard store.exists(id) else {
            if force { return }
            throw RuntimeError("container does not exist: \(id)")
        }
        let lock = try store.lock(id)
        defer { store.unlock(lock) }
        let state: ContainerState
        do { state = try store.load(id) } catch {
            // A create that was killed half-way leaves a directory without state: only
            // `--force` may clear it, since a create may still be running.
            guard force else { throw error }
            store.remove(id)
            return
        }
        let status = store.status(of: state)
        if status == .creating {
            // We hold the lock, so the create that wrote this is gone: clear what it left.
            destroyCgroups(state)
            store.remove(id)
            return
        }
        if (status == .running || status == .paused) && !force {
            throw RuntimeError("cannot delete container \(id) that is not stopped: \(status.rawValue)")
        }
        if status == .paused { try? state.cgroups.setFrozen(false) }
        if status != .stopped {
            killRemaining(state)
            waitForExit(state)
        }
        removeStopped(state)
    }

    /// The end of every container whose process is gone: its cgroup, poststop hooks (which
    /// only warn), its state.
    func removeStopped(_ state: ContainerState) {
        destroyCgroups(state)
        state.hooks.runWarning(.poststop, state: state.hookState(status: .stopped))
        store.remove(state.id)
    }

    /// Freezes every process of a running container (its cgroup's freezer).
    public func pause(_ id: String) throws(RuntimeError) {
        let state = try store.load(id)
        switch store.status(of: state) {
        case .running: break
        case .paused: throw RuntimeError("container \(id) is already paused")
        default: throw RuntimeError("container \(id) is not running")
        }
        guard !state.cgroupDirectories.isEmpty else { throw RuntimeError("cannot pause container \(id): it has no cgroup") }
        try state.cgroups.setFrozen(true)
    }

    public func resume(_ id: String) throws(RuntimeError) {
        let state = try store.load(id)
        guard store.status(of: state) == .paused else { throw RuntimeError("container \(id) is not paused") }
        try state.cgroups.setFrozen(false)
    }

    /// Host pids of every process of a running container (`ps`, `kill --all`).
    public func processes(_ id: String) throws(RuntimeError) -> [Int32] {
        let state = try store.load(id)
        switch store.status(of: state) {
        case .created, .running, .paused: return containerPids(state)
        case .creating, .stopped: throw RuntimeError("container not running")
        }
    }

    /// From the cgroup when there is one; else from the pid namespace; else just init.
    func containerPids(_ state: ContainerState) -> [Int32] {
        if !state.cgroupDirectories.isEmpty { return state.cgroups.processes().sorted() }
        return state.ownPidNamespace ? ProcessProbe.pidsSharingNamespace(with: state.pid).sorted() : [state.pid]
    }

    /// Kills what is left in the cgroup (a shared pid namespace leaves orphans), then removes it.
    func destroyCgroups(_ state: ContainerState) {
        guard !state.cgroupDirectories.isEmpty else { return }
        let cgroups = state.cgroups
        if cgroups.isFrozen { try? cgroups.setFrozen(false) }
        if !cgroups.processes().isEmpty { _ = cgroups.killAll() }
        for _ in 0..<100 {
            let left = cgroups.processes()
            if left.isEmpty { break }
            for pid in left { libcKill(pid, SIGKILL) }
            usleep(2000)
        }
        if !state.systemdUnit.isEmpty { SystemdScope.stop(state.systemdUnit) }
        cgroups.destroy()
    }

    /// SIGKILL to every process of the container that can still be found.
    func killRemaining(_ state: ContainerState) {
        if !state.cgroupDirectories.isEmpty, state.cgroups.killAll() { return }
        for pid in containerPids(state) where pid > 0 { libcKill(pid, SIGKILL) }
    }

    /// Up to a second; returns as soon as init is gone (not a `for ... where`, which would
    /// go on reading /proc to the end).
    func waitForExit(_ state: ContainerState) {
        for _ in 0..<1000 {
            guard ProcessProbe.isAlive(state.pid, startTime: state.initStartTime) else { return }
            usleep(1000)
        }
    }

    public func list() -> [(state: ContainerState, status: ContainerState.Status)] {
        store.ids().compactMap { id in
            guard let state = try? store.load(id) else { return nil }
            return (state, store.status(of: state))
        }
    }
}
