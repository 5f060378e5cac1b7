#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// Builds the container's filesystem in the init stage's own mount namespace, all of it
/// before the switch of root: the spec's mounts in order, /dev, the masked and read-only
/// paths. Every target is resolved inside the rootfs once, to an fd (RootDirectory), and
/// mounted through that fd; every kernel call goes through `MountSystem`, so the order and
/// flags are unit-tested.
public struct RootfsBuilder<System: MountSystem> {
    public let spec: Spec
    /// Absolute, symlink-free path of the rootfs on the host.
    public let rootfs: String
    /// Relative bind-mount sources are relative to the bundle, as in runc.
    public let bundle: String
    public let system: System
    public let cgroups: CgroupLayout
    /// linux.mountLabel where SELinux is in use: the `context=` of filesystems without xattrs.
    public let mountLabel: String?
    /// openat2 RESOLVE_IN_ROOT, else the component walk.
    public let kernelResolves: Bool
    /// The runtime is not root of the host: no host cgroup tree may end up writable.
    public let rootless: Bool
    public let recursiveAttributes: Bool

    public init(spec: Spec, rootfs: String, bundle: String, system: System, cgroups: CgroupLayout, mountLabel: String? = nil,
                strategy: Strategy = Strategy(fdClosing: .procWalk), rootless: Bool = false) {
        self.mountLabel = mountLabel
        self.spec = spec
        self.rootfs = rootfs
        self.bundle = bundle
        self.system = system
        self.cgroups = cgroups
        kernelResolves = strategy.inRootResolution
        recursiveAttributes = strategy.recursiveMountAttributes
        self.rootless = rootless
    }

    private var requestedPropagation: UInt? {
        spec.linux.rootfsPropagation.flatMap(MountOptions.propagation(named:))
    }

    /// Before the spec's mounts, as runc and crun do: "/" gets the propagation asked for
    /// (rslave unless the spec says otherwise; unbindable only after pivot_root, since nothing
    /// could be bound from it before), and only the mount holding the rootfs is made private
    /// (slave, if asked): pivot_root refuses a shared parent, and a bind below a shared mount
    /// would propagate to the host. So with rshared the container's binds of shared host
    /// mounts stay in the host's peer groups (Kubernetes' Bidirectional). Returns the rootfs,
    /// bound onto itself and held open, through which everything else is done.
    public func prepareRoot() throws(RuntimeError) -> RootDirectory {
        var flags = MountFlags.slave | MountFlags.recursive
        if let requested = requestedPropagation {
            flags = requested & MountFlags.unbindable != 0 ? MountFlags.private | (requested & MountFlags.recursive) : requested
        }
        do {
            try system.mount(.none, onPath: "/", type: nil, flags: flags, data: nil)
        } catch where error.errno == EINVAL {
            // Inside a chroot "/" is no mount point (Android's Linux-deploy setups): only the
            // rootfs's own bind, below, can be kept from propagating.
        }
        try makeMountHoldingRootfsPrivate(slave: (requestedPropagation ?? 0) & MountFlags.slave != 0)
        let original = try RootDirectory.open(rootfs, kernelResolves: kernelResolves)
        try system.mount(.file(original.root), on: original.root, type: "bind", flags: MountFlags.bind | MountFlags.recursive, data: nil)
        // The fd still names the directory under the new mount: the root is the mount on top.
        let root = try RootDirectory.open(rootfs, kernelResolves: kernelResolves)
        guard Files.sameFile(root.root.fd, original.root.fd) else { throw RuntimeError("the rootfs \(rootfs) was replaced while it was mounted") }
        return root
    }

    /// The nearest mount point at or above the rootfs (EINVAL means "not a mount point").
    private func makeMountHoldingRootfsPrivate(slave: Bool) throws(RuntimeError) {
        var path = rootfs
        while true {
            do {
                try system.mount(.none, onPath: path, type: nil, flags: slave ? MountFlags.slave : MountFlags.private, data: nil)
                return
            } catch where error.errno == EINVAL && path != "/" {
                path = path.lastIndex(of: "/").map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "/"
            } catch where error.errno == EINVAL {
                return   // a chroot: nothing is a mount point
            }
        }
    }

    public func mountAll(in root: RootDirectory) throws(RuntimeError) {
        var freshCgroup2 = false
        for (index, mount) in spec.mounts.enumerated() {
            do throws(RuntimeError) {
                freshCgroup2 = try mountOne(mount, in: root) || freshCgroup2
            } catch {
                throw RuntimeError("mounts[\(index)] \(mount.destination): \(error.message)")
            }
        }
        if rootless && !freshCgroup2 { try protectHostCgroupTree(in: root) }
    }

    /// Mounts one spec entry; true when it was a cgroup2 mount of the container's own that
    /// the spec wants writable.
    private func mountOne(_ mount: Spec.Mount, in root: RootDirectory) throws(RuntimeError) -> Bool {
        var options = MountOptions(mount.options)
        let type = mount.type ?? "none"
        if options.isBind || type == "bind" {
            try bindMount(mount, options: options, in: root)
            return false
        }
        let target: PathHandle
        var existed = true
        if type == "proc" || type == "sysfs" {
            target = try pseudoFilesystemTarget(mount.destination, type: type, in: root)
        } else if let found = try root.lookup(mount.destination) {
            target = found
        } else {
            existed = false
            target = try root.makeDirectories(mount.destination)
        }
        try checkPlacement(target, type: type, bindSource: nil)
        // As runc: proc and sysfs take no context, mqueue keeps the policy's own label.
        if let mountLabel, !["proc", "sysfs", "mqueue", "cgroup", "cgroup2"].contains(type) {
            options.data.append(LSMLabels.mountOption(mountLabel))
        }
        if type == "cgroup" || type == "cgroup2" {
            let fresh = try mountCgroups(on: target, options: options, in: root)
            if options.hasRecursiveAttributes { try applyAfterMount(options, on: try root.reopenAfterMount(target)) }
            return fresh
        }
        if type == "tmpfs" {
            try mountTmpfs(mount, options: options, on: target, keepingMode: existed, in: root)
            return false
        }
        let source = MountSource.named(mount.source ?? type)
        do {
            try system.mount(source, on: target, type: type, flags: options.flags, data: options.dataString)
        } catch where type == "sysfs" && error.errno == EPERM {
            // In a user namespace without its own network namespace sysfs cannot be
            // mounted; runc binds the host's /sys instead, read-only as asked.
            try bindHostDirectory("/sys", on: target, flags: options.flags, in: root)
            if !options.propagation.isEmpty || options.hasRecursiveAttributes {
                try applyAfterMount(options, on: try root.reopenAfterMount(target))
            }
            return false
        } catch where type == "devpts" && error.errno == EINVAL && options.data.contains(where: { $0.hasPrefix("gid=") }) {
            // gid=5 (tty) may not be mapped in the container's user namespace.
            var withoutGid = options
            withoutGid.data.removeAll { $0.hasPrefix("gid=") }
            try system.mount(source, on: target, type: type, flags: options.flags, data: withoutGid.dataString)
        }
        if !options.propagation.isEmpty || options.hasRecursiveAttributes {
            try applyAfterMount(options, on: try root.reopenAfterMount(target))
        }
        return false
    }

    /// procfs and sysfs go on a real directory reached through real directories: a symlink
    /// there would let an image send the masked and read-only paths to a decoy
    /// (CVE-2019-19921, CVE-2023-27561).
    private func pseudoFilesystemTarget(_ destination: String, type: String, in root: RootDirectory) throws(RuntimeError) -> PathHandle {
        let target: PathHandle
        do throws(RuntimeError) {
            if let found = try root.lookup(destination, followFinal: false, noSymlinks: true) {
                target = found
            } else {
                target = try root.makeDirectories(destination, noSymlinks: true)
            }
        } catch {
            throw RuntimeError("\(type) must be mounted on a real directory: \(error.message) in the rootfs")
        }
        if target.fileType == S_IFLNK {
            throw RuntimeError("\(type) must be mounted on a real directory: \(target.path) is a symbolic link in the rootfs")
        }
        guard target.fileType == S_IFDIR else {
            throw RuntimeError("\(type) must be mounted on a directory, \(destination) is not one")
        }
        return target
    }

    private func checkPlacement(_ target: PathHandle, type: String, bindSource: PathHandle?) throws(RuntimeError) {
        if target.path == "/" { throw RuntimeError("nothing may be mounted on the container's root itself") }
        if target.path == "/proc" {
            if type == "proc" { return }
            if let source = bindSource, cc_filesystem_type(source.fd) == CC_PROC_SUPER_MAGIC { return }
            throw RuntimeError("only a procfs may be mounted on /proc")
        }
        if target.path.hasPrefix("/proc/") && !ProcMounts.allowedInside.contains(target.path) {
            throw RuntimeError("\(target.path) is inside /proc, where only the files lxcfs emulates may be mounted")
        }
    }

    /// tmpfs as runc mounts it: over an existing directory it takes that directory's mode
    /// unless the options set one, and `tmpcopyup` (runc's extension, used by podman
    /// --read-only) copies the directory's contents into it.
    private func mountTmpfs(_ mount: Spec.Mount, options: MountOptions, on target: PathHandle, keepingMode: Bool,
                            in root: RootDirectory) throws(RuntimeError) {
        var options = options
        let copyUp = options.data.contains("tmpcopyup")
        options.data.removeAll { $0 == "tmpcopyup" }
        var info = stat()
        if keepingMode, !options.data.contains(where: { $0.hasPrefix("mode=") }), fstat(target.fd, &info) == 0 {
            options.data.insert("mode=" + String(info.st_mode & 0o7777, radix: 8), at: 0)
        }
        // The directory underneath stays reachable through this fd once the tmpfs covers it.
        let original = copyUp ? openat(target.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1
        if copyUp && original < 0 { throw RuntimeError.system("open \(target.path) for copy-up", errno: errno) }
        defer { if original >= 0 { libcClose(original) } }
        try system.mount(.named(mount.source ?? "tmpfs"), on: target, type: "tmpfs", flags: options.flags, data: options.dataString)
        guard copyUp || !options.propagation.isEmpty || options.hasRecursiveAttributes else { return }
        let mounted = try root.reopenAfterMount(target)
        if copyUp { try system.copyTree(from: original, to: mounted) }
        try applyAfterMount(options, on: mounted)
    }

    private func bindMount(_ mount: Spec.Mount, options: MountOptions, in root: RootDirectory) throws(RuntimeError) {
        var sourcePath = mount.source ?? ""
        if !sourcePath.hasPrefix("/") { sourcePath = bundle + "/" + sourcePath }
        // The source is the host's, named by the user: opened once, as mount(2) would follow it.
        let sourceFd = libcOpen(sourcePath, CC_O_PATH | O_CLOEXEC)
        if sourceFd < 0 {
            if errno == ENOENT { throw RuntimeError("bind source \(sourcePath) does not exist") }
            throw RuntimeError.system("open bind source \(sourcePath)", errno: errno)
        }
        let source = PathHandle(fd: sourceFd, path: sourcePath)
        let target: PathHandle
        if let found = try root.lookup(mount.destination) {
            target = found
        } else if source.fileType == S_IFDIR {
            target = try root.makeDirectories(mount.destination)
        } else {
            target = try root.makeFile(mount.destination)
        }
        try checkPlacement(target, type: "bind", bindSource: source)
        let bindFlags = MountFlags.bind | (options.flags & MountFlags.recursive)
        try system.mount(.file(source), on: target, type: "bind", flags: bindFlags, data: nil)
        // A bind ignores every other flag; they take effect only through a remount.
        let extra = options.flags & ~(MountFlags.bind | MountFlags.recursive | MountFlags.remount)
        guard extra != 0 || !options.propagation.isEmpty || options.hasRecursiveAttributes else { return }
        let mounted = try root.reopenAfterMount(target)
        if extra != 0 {
            try system.mount(.none, on: mounted, type: "bind",
                             flags: extra | MountFlags.bind | MountFlags.remount | system.lockedFlags(mounted), data: nil)
        }
        try applyAfterMount(options, on: mounted)
    }

    /// A recursive bind of one of the runtime's own directories (the host's /sys, a cgroup
    /// directory), then the spec's flags on it.
    private func bindHostDirectory(_ path: String, on target: PathHandle, flags: UInt, in root: RootDirectory) throws(RuntimeError) {
        let fd = libcOpen(path, CC_O_PATH | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw RuntimeError.system("open \(path)", errno: errno) }
        try system.mount(.file(PathHandle(fd: fd, path: path)), on: target, type: "bind", flags: MountFlags.bind | MountFlags.recursive, data: nil)
        let mounted = try root.reopenAfterMount(target)
        let extra = flags & ~(MountFlags.bind | MountFlags.recursive | MountFlags.remount)
        try system.mount(.none, on: mounted, type: "bind",
                         flags: extra | MountFlags.bind | MountFlags.remount | system.lockedFlags(mounted), data: nil)
    }

    /// Propagation changes (one mount call each), then the attributes of the whole tree.
    private func applyAfterMount(_ options: MountOptions, on target: PathHandle) throws(RuntimeError) {
        for flags in options.propagation {
            try system.mount(.none, on: target, type: nil, flags: flags, data: nil)
        }
        if options.hasRecursiveAttributes {
            try system.setAttributesRecursively(target, set: options.recursiveSet, clear: options.recursiveClear)
        }
    }

    /// On a cgroup v1 or hybrid host the container sees a tmpfs with one bind per hierarchy,
    /// each showing its own cgroup (as runc does); mounting cgroup2 there would cost 4-19 ms.
    /// True when a cgroup2 of the container's own was mounted writable.
    private func mountCgroups(on target: PathHandle, options: MountOptions, in root: RootDirectory) throws(RuntimeError) -> Bool {
        let readOnly = options.flags & MountFlags.readOnly
        let baseFlags = options.flags & ~(MountFlags.readOnly | MountFlags.bind | MountFlags.recursive)
        if cgroups.isPureUnified {
            do throws(RuntimeError) {
                try system.mount(.named("cgroup2"), on: target, type: "cgroup2", flags: options.flags, data: nil)
                return readOnly == 0
            } catch where error.errno == EPERM || error.errno == EBUSY {
                // A user namespace without a cgroup namespace of its own cannot mount
                // cgroup2 (runc #2158): its own cgroup directory is bound instead.
                guard let own = cgroups.hierarchies.first(where: \.isUnified)?.ownDirectory else { throw error }
                try bindHostDirectory(own, on: target, flags: options.flags, in: root)
                return false
            }
        }
        try system.mount(.named("tmpfs"), on: target, type: "tmpfs", flags: baseFlags, data: "mode=755")
        let tree = try root.reopenAfterMount(target)
        for hierarchy in cgroups.hierarchies {
            let name = hierarchy.mountPoint.split(separator: "/").last.map(String.init) ?? "unified"
            let directory = try root.childDirectory(name, of: tree)
            try bindHostDirectory(hierarchy.ownDirectory, on: directory, flags: baseFlags | readOnly, in: root)
            // Co-mounted controllers ("cpu,cpuacct") get a link per controller, as on the host.
            for controller in hierarchy.controllers where controller != name && !controller.hasPrefix("name=") {
                if symlinkat(name, tree.fd, controller) != 0, errno != EEXIST {
                    throw RuntimeError.system("symlink \(tree.path)/\(controller)", errno: errno)
                }
            }
        }
        if readOnly != 0 {
            try system.mount(.named("tmpfs"), on: tree, type: "tmpfs", flags: baseFlags | readOnly | MountFlags.remount, data: "mode=755")
        }
        return false
    }

    /// CVE-2023-25809: a rootless container must not get the host's cgroup tree writable,
    /// which a recursive bind of /sys (`spec --rootless`) or of a cgroup directory would
    /// give, since a read-only remount covers only its top mount. Everything at or below
    /// /sys/fs/cgroup is made read-only: in one call where mount_setattr exists and that
    /// path is a mount, else one remount per mount.
    func protectHostCgroupTree(in root: RootDirectory) throws(RuntimeError) {
        guard let tree = try root.lookup("/sys/fs/cgroup") else { return }
        if recursiveAttributes {
            do throws(RuntimeError) {
                try system.makeReadOnlyRecursively(tree)
                return
            } catch where error.errno == EINVAL {
                // Not a mount of its own: the mounts below it are found one by one.
            }
        }
        let top = rootfs + "/sys/fs/cgroup"
        for entry in system.mounts() where entry.mountPoint == top || entry.mountPoint.hasPrefix(top + "/") {
            if entry.options.split(separator: ",").contains("ro") { continue }
            guard let target = try root.lookup(String(entry.mountPoint.dropFirst(rootfs.count))) else { continue }
            try system.mount(.none, on: target, type: nil,
                             flags: MountFlags.bind | MountFlags.remount | MountFlags.readOnly | system.lockedFlags(target), data: nil)
        }
    }

    /// True when the spec bind-mounts the host's /dev: then no device nodes are made.
    var bindsHostDev: Bool {
        spec.mounts.contains { SafePath.clean($0.destination) == "/dev" && MountOptions($0.options).isBind }
    }

    /// Masked paths get the runtime's own /dev/null (files) or an empty read-only tmpfs
    /// (directories); the container's /dev/null may be a symlink to anything
    /// (CVE-2025-31133). Read-only paths become read-only binds of themselves.
    public func protectPaths(in root: RootDirectory) throws(RuntimeError) {
        for path in spec.linux.readonlyPaths {
            guard let target = try root.lookup(path) else { continue }
            try system.mount(.file(target), on: target, type: "bind", flags: MountFlags.bind | MountFlags.recursive, data: nil)
            let mounted = try root.reopenAfterMount(target)
            try system.mount(.none, on: mounted, type: "bind",
                             flags: MountFlags.bind | MountFlags.remount | MountFlags.readOnly | MountFlags.recursive | system.lockedFlags(mounted),
                             data: nil)
        }
        guard !spec.linux.maskedPaths.isEmpty else { return }
        let null = try Self.hostNullDevice()
        var masked = Set<String>()
        for path in spec.linux.maskedPaths {
            guard let target = try root.lookup(path), masked.insert(target.path).inserted else { continue }
            if target.fileType == S_IFDIR {
                try system.mount(.named("tmpfs"), on: target, type: "tmpfs", flags: MountFlags.readOnly,
                                 data: mountLabel.map(LSMLabels.mountOption))
            } else {
                try system.mount(.file(null), on: target, type: "bind", flags: MountFlags.bind, data: nil)
            }
        }
    }

    /// The runtime's own /dev/null, checked to be the null device (character 1:3).
    static func hostNullDevice() throws(RuntimeError) -> PathHandle {
        let fd = libcOpen("/dev/null", CC_O_PATH | O_CLOEXEC)
        if fd < 0 { throw RuntimeError.system("open /dev/null", errno: errno) }
        let null = PathHandle(fd: fd, path: "/dev/null")
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFCHR, cc_dev_major(UInt64(info.st_rdev)) == 1,
              cc_dev_minor(UInt64(info.st_rdev)) == 3 else {
            throw RuntimeError("/dev/null is not the null device: refusing to mask paths with it")
        }
        return null
    }

    public func switchRoot(_ root: RootDirectory, noPivot: Bool) throws(RuntimeError) {
        if !noPivot {
            do throws(RuntimeError) {
                try system.pivotRoot(root.root)
                return
            } catch {
                // pivot_root refuses an initramfs root or a shared parent (old Android devices):
                // moving the rootfs over / and chrooting still gives the container its root.
            }
        }
        try hideHostPseudoFilesystems()
        // In a chroot even the move is refused, and chroot alone is what is left.
        do { try system.moveRoot(root.root) } catch { try system.changeRoot(root.root) }
    }

    /// Without pivot_root the host's mounts stay in the container's mount namespace, out of
    /// sight but there: a full procfs or sysfs among them lets the kernel allow a fresh,
    /// unmasked procfs mount inside the container (runc's msMoveRoot does the same).
    private func hideHostPseudoFilesystems() throws(RuntimeError) {
        for entry in system.mounts() where entry.root == "/" && (entry.fsType == "proc" || entry.fsType == "sysfs") {
            if entry.mountPoint == rootfs || entry.mountPoint.hasPrefix(rootfs + "/") { continue }
            do throws(RuntimeError) {
                // Slave first, so that the unmount does not reach the host.
                try system.mount(.none, onPath: entry.mountPoint, type: nil, flags: MountFlags.slave | MountFlags.recursive, data: nil)
                try system.unmount(entry.mountPoint, detach: true)
            } catch where error.errno == ENOENT {
                continue   // under a mount already gone
            } catch where error.errno == EINVAL || error.errno == EPERM {
                // Not ours to unmount (a user namespace): covered instead.
                try system.mount(.named("tmpfs"), onPath: entry.mountPoint, type: "tmpfs", flags: 0, data: nil)
            }
        }
    }

    /// After the switch of root: a shared or unbindable root becomes so now (pivot_root
    /// refuses a shared one, and nothing could be bound from an unbindable one before).
    public func finalize() throws(RuntimeError) {
        if let requested = requestedPropagation, requested & (MountFlags.private | MountFlags.slave) == 0 {
            try system.mount(.none, onPath: "/", type: nil, flags: requested, data: nil)
        }
    }

    /// Inside the container, once the runtime's own fds are closed: the missing cwd is made
    /// through the same walk (a cwd like /proc/self/fd/N/.. reaches nothing of the runtime's),
    /// then the root is made read-only if asked.
    public static func finishRoot(_ spec: Spec, cwd: String, kernelResolves: Bool, system: System) throws(RuntimeError) {
        let root = try RootDirectory.open("/", kernelResolves: kernelResolves)
        if try root.lookup(cwd) == nil {
            // 0755 whatever the process's umask, which is already in force here.
            let processMask = umask(0o022)
            _ = try? root.makeDirectories(cwd)
            umask(processMask)
        }
        if spec.root.readonly {
            try system.mount(.none, onPath: "/", type: "bind",
                             flags: MountFlags.bind | MountFlags.remount | MountFlags.readOnly | system.lockedFlags(root.root), data: nil)
        }
    }
}

/// runc's rule for /proc: only a procfs goes on /proc itself, and below it only the files
/// lxcfs emulates; anything else would cover what the runtime writes or masks there.
enum ProcMounts {
    static let allowedInside: Set<String> = [
        "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat", "/proc/swaps", "/proc/uptime",
        "/proc/loadavg", "/proc/slabinfo", "/proc/net/dev", "/proc/sys/kernel/ns_last_pid", "/proc/sys/crypto/fips_enabled",
    ]
}
