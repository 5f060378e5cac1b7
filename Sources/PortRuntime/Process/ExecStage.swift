#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// `exec`: a new process that joins every namespace and the cgroups of a running container's
/// init, then takes the same last steps as init. The child reports failures over a socket;
/// its successful execve closes that socket (close-on-exec), which the parent reads as EOF.
enum ExecStage {
    /// Namespaces in the order they are joined: mount last among those that need the host's
    /// /proc, since joining it changes what paths mean.
    static let joinOrder: [NamespaceType] = [.user, .cgroup, .ipc, .uts, .network, .time, .mount]

    static func launch(_ launch: ProcessLaunch, into state: ContainerState, consoleSocket: Int32?) throws(RuntimeError) -> pid_t {
        let initPid = state.pid
        let namespaces = try openNamespaces(of: initPid)
        defer { for (_, fd) in namespaces { close(fd) } }
        let rootFd = open("/proc/\(initPid)/root", CC_O_PATH | O_DIRECTORY | O_CLOEXEC)
        if rootFd < 0 { throw RuntimeError.system("open the container's root", errno: errno) }
        defer { close(rootFd) }
        let cgroupDirectories = cgroupDirectories(of: initPid)
        let channel = try SyncChannel.make()
        defer { close(channel.parentEnd) }

        // The pid namespace applies to children: join it here, fork, and come back.
        let original = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC)
        defer { if original >= 0 { close(original) } }
        if let pidNamespace = namespaces.first(where: { $0.type == .pid })?.fd, cc_setns(pidNamespace, CC_CLONE_NEWPID) != 0 {
            close(channel.childEnd)
            throw RuntimeError.system("join the container's pid namespace", errno: errno)
        }
        let spawned: Spawn.Child
        do { spawned = try Spawn.child("exec process", cgroupDirectories: cgroupDirectories, strategy: launch.strategy) } catch {
            if original >= 0 { _ = cc_setns(original, CC_CLONE_NEWPID) }
            close(channel.childEnd)
            throw error
        }
        let pid = spawned.pid
        if pid == 0 {
            close(channel.parentEnd)
            child(launch, namespaces: namespaces, rootFd: rootFd, cgroups: cgroupDirectories.filter { $0 != spawned.bornIn },
                  syncFd: channel.childEnd, consoleSocket: consoleSocket)
        }
        if original >= 0 { _ = cc_setns(original, CC_CLONE_NEWPID) }
        close(channel.childEnd)
        while true {
            switch SyncChannel.receive(on: channel.parentEnd) {
            case nil:
                return pid
            case .error(let message)?:
                let status = ParentStage.exitCode(ParentStage.reap(pid))
                throw RuntimeError(message, exitCode: status == 1 ? 1 : 255)
            case .seccompListener(let listener)?:
                try ParentStage.killingChildOnFailure(pid) { () throws(RuntimeError) in
                    try SeccompAgent.relay(listener, profile: launch.seccomp, pid: pid, container: state.ociState(status: .running),
                                           replyingOn: channel.parentEnd)
                }
            case .ready?, .runHooks?, .hooksDone?, .committed?, .needIDMaps?, .idMapsDone?, .initPid?, .seccompListenerDone?:
                return pid
            }
        }
    }

    /// The init's namespaces that differ from ours; sharing one is not joining it.
    private static func openNamespaces(of pid: Int32) throws(RuntimeError) -> [(type: NamespaceType, fd: Int32)] {
        var result: [(NamespaceType, Int32)] = []
        for type in [NamespaceType.pid] + joinOrder {
            let path = "/proc/\(pid)/ns/\(type.procName)"
            guard let target = Files.readLink(path) else { continue }
            if Files.readLink("/proc/self/ns/\(type.procName)") == target { continue }
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 {
                for (_, opened) in result { close(opened) }
                throw RuntimeError.system("open \(path)", errno: errno)
            }
            result.append((type, fd))
        }
        return result
    }

    /// Host directories of init's cgroups, one per hierarchy of this host.
    private static func cgroupDirectories(of pid: Int32) -> [String] {
        let procCgroup = (try? Files.readString("/proc/\(pid)/cgroup")) ?? ""
        let mountInfo = MountInfoEntry.parse((try? Files.readString("/proc/self/mountinfo")) ?? "")
        return CgroupLayout(mountInfo: mountInfo, procCgroup: procCgroup).hierarchies.map(\.ownDirectory)
    }

    /// Not dumpable from the fork on (the parent made itself so): until its execve no process
    /// of the container can ptrace it (and skip its seccomp filter) or open its fds.
    private static func child(_ launch: ProcessLaunch, namespaces: [(type: NamespaceType, fd: Int32)], rootFd: Int32,
                              cgroups: [String], syncFd: Int32, consoleSocket: Int32?) -> Never {
        do throws(RuntimeError) {
            ProcessLaunch.resetSignals()
            if setsid() < 0 { throw RuntimeError.system("setsid", errno: errno) }
            // Into init's cgroups first, while the host's cgroup paths are still visible.
            for directory in cgroups { try? CgroupManager.joinSelf([directory]) }
            // The runtime's own procfs, opened before the container's mounts are ours: the
            // container controls its /proc. It is closed before anything of the container's
            // is touched (ProcessLaunch.prepare).
            let procfs = try Procfs.open(strategy: launch.strategy)
            for (type, fd) in namespaces where type != .pid {
                if cc_setns(fd, Namespaces.cloneFlag(type)) != 0 {
                    throw RuntimeError.system("join the container's \(type.rawValue) namespace", errno: errno)
                }
            }
            // init's root, also when it was entered with chroot (--no-pivot).
            try check(fchdir(rootFd), "enter the container's root")
            try check(chroot("."), "chroot into the container's root")
            let terminal = try consoleSocket.map { fd throws(RuntimeError) in
                // The root's handle ends with this closure, before prepare closes every fd.
                let root = try RootDirectory.open("/", kernelResolves: launch.strategy.inRootResolution)
                return try Terminal.create(in: root, procfs: procfs, sendingTo: fd, size: launch.process.consoleSize, bindConsole: false)
            }
            let executable = try launch.prepare(keeping: [syncFd], procfs: procfs, terminal: terminal,
                                                handOver: ProcessLaunch.handOverThroughParent(syncFd))
            try launch.exec(executable)
        } catch {
            SyncChannel.send(.error(error.message), on: syncFd)
            _exit(error.exitCode == 255 ? 255 : 1)
        }
    }
}
