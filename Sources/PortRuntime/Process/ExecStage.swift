#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// `exec`: a new process that joins every namespace and the cgroups of a running container's
/// init, then takes the same last steps as init. It is made in two steps, as runc's nsexec
/// does: a joiner, still in the runtime's pid namespace where no container process can see
/// it, enters the cgroups, the other namespaces and the container's root; only then does a
/// child of it enter the pid namespace, so that from the first moment a container process
/// can see it, its root, its mounts and its fds are the container's. The child reports
/// failures over a socket; its successful execve closes that socket (close-on-exec), which
/// the parent reads as EOF.
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
        let spawned: Spawn.Child
        do { spawned = try Spawn.child("exec process", cgroupDirectories: cgroupDirectories, strategy: launch.strategy) } catch {
            close(channel.childEnd)
            throw error
        }
        if spawned.pid == 0 {
            close(channel.parentEnd)
            join(launch, namespaces: namespaces, rootFd: rootFd, cgroups: cgroupDirectories.filter { $0 != spawned.bornIn },
                 syncFd: channel.childEnd, consoleSocket: consoleSocket)
        }
        close(channel.childEnd)
        var pid = spawned.pid
        // Until the joiner names its child, `pid` is the joiner, which then exits.
        var joining = namespaces.contains { $0.type == .pid }
        while true {
            switch SyncChannel.receive(on: channel.parentEnd) {
            case .initPid(let child)? where joining:
                ParentStage.reap(pid)
                pid = child
                joining = false
                SyncChannel.send(.proceed, on: channel.parentEnd)
            case nil where joining:
                let status = ParentStage.reap(pid)
                throw RuntimeError("the exec process exited before it entered the container's pid namespace (\(ParentStage.describe(status)))")
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
            case .ready?, .runHooks?, .hooksDone?, .committed?, .needIDMaps?, .idMapsDone?, .initPid?, .seccompListenerDone?, .proceed?:
                libcKill(pid, SIGKILL)
                ParentStage.reap(pid)
                throw RuntimeError("the exec process sent a message out of turn")
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

    /// The joiner: in the runtime's pid namespace, not dumpable from the fork on (the parent
    /// made itself so). It holds no host fd past this point but the namespaces and root it
    /// enters, and closes even those in the child it hands over.
    private static func join(_ launch: ProcessLaunch, namespaces: [(type: NamespaceType, fd: Int32)], rootFd: Int32,
                             cgroups: [String], syncFd: Int32, consoleSocket: Int32?) -> Never {
        do throws(RuntimeError) {
            try launch.policies.applyInitialAffinity()
            // Into init's cgroups first, while the host's cgroup paths are still visible. Outside
            // them the process would escape the container's limits and device rules; only a
            // rootless caller may lack the right to join (as in runc).
            for directory in cgroups {
                do { try CgroupManager.joinSelf([directory]) } catch {
                    if !HostFacts.isRootless { throw RuntimeError("join the container's cgroup \(directory): \(error.message)") }
                }
            }
            // Whatever else the runtime had open (its lock, its log) stays on the host.
            let hostProcfs = try Procfs.open(strategy: launch.strategy)
            FdCloser.closeAll(except: Set(launch.preservedFds + [syncFd, rootFd, hostProcfs.fd] + (consoleSocket.map { [$0] } ?? []) + namespaces.map(\.fd)),
                              strategy: launch.strategy, procfs: hostProcfs)
            hostProcfs.close()
            for (type, fd) in namespaces where type != .pid {
                if cc_setns(fd, Namespaces.cloneFlag(type)) != 0 {
                    throw RuntimeError.system("join the container's \(type.rawValue) namespace", errno: errno)
                }
            }
            // Joining a user namespace changes credentials, which resets dumpability to the
            // fs.suid_dumpable sysctl: not dumpable again, until the execve.
            _ = cc_prctl(CC_PR_SET_DUMPABLE, 0, 0, 0, 0)
            // init's root, also when it was entered with chroot (--no-pivot).
            try check(fchdir(rootFd), "enter the container's root")
            try check(chroot("."), "chroot into the container's root")
            if let pidNamespace = namespaces.first(where: { $0.type == .pid })?.fd {
                // setns(CLONE_NEWPID) moves only the children: the one made now is the exec
                // process, a child of the runtime (CLONE_PARENT) so that it waits for it.
                try check(cc_setns(pidNamespace, CC_CLONE_NEWPID), "join the container's pid namespace")
                try SyncChannel.handOverForked(cc_fork_sibling(), what: "the exec process", on: syncFd)
            }
            for (_, fd) in namespaces { libcClose(fd) }
            libcClose(rootFd)
            try run(launch, syncFd: syncFd, consoleSocket: consoleSocket, inUserNamespace: namespaces.contains { $0.type == .user })
        } catch {
            SyncChannel.send(.error(error.message), on: syncFd)
            _exit(error.exitCode == 255 ? 255 : 1)
        }
    }

    /// The exec process, in every namespace of the container and inside its root.
    private static func run(_ launch: ProcessLaunch, syncFd: Int32, consoleSocket: Int32?, inUserNamespace: Bool) throws(RuntimeError) -> Never {
        ProcessLaunch.resetSignals()
        if setsid() < 0 { throw RuntimeError.system("setsid", errno: errno) }
        let procfs = try Procfs.openInContainer(strategy: launch.strategy, inUserNamespace: inUserNamespace)
        let terminal = try consoleSocket.map { fd throws(RuntimeError) in
            // The root's handle ends with this closure, before prepare closes every fd.
            let root = try RootDirectory.open("/", kernelResolves: launch.strategy.inRootResolution)
            return try Terminal.create(in: root, procfs: procfs, sendingTo: fd, size: launch.process.consoleSize, bindConsole: false)
        }
        let executable = try launch.prepare(keeping: [syncFd], procfs: procfs, terminal: terminal,
                                            handOver: ProcessLaunch.handOverThroughParent(syncFd))
        try launch.exec(executable)
    }
}
