#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif

/// Builds the container's filesystem in the init stage's own mount namespace: the spec's
/// mounts in order, /dev, then the switch of root, then the read-only and masked paths.
/// Every kernel call goes through `MountSystem`, so the order and flags are unit-tested.
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

    public init(spec: Spec, rootfs: String, bundle: String, system: System, cgroups: CgroupLayout, mountLabel: String? = nil) {
        self.mountLabel = mountLabel
        self.spec = spec
        self.rootfs = rootfs
        self.bundle = bundle
        self.system = system
        self.cgroups = cgroups
    }

    private var requestedPropagation: UInt? {
        spec.linux.rootfsPropagation.flatMap(MountOptions.propagation(named:))
    }

    /// Before the spec's mounts: nothing the container mounts may propagate to the host, and
    /// the rootfs must be a mount point of its own for pivot_root.
    public func prepareRoot() throws(RuntimeError) {
        var flags = MountFlags.slave | MountFlags.recursive
        // A shared root must stay slave until after pivot_root, which refuses shared parents.
        if let requested = requestedPropagation, requested & MountFlags.shared == 0 { flags = requested | MountFlags.recursive }
        do {
            try system.mount(source: nil, target: "/", type: nil, flags: flags, data: nil)
        } catch where error.errno == EINVAL {
            // Inside a chroot "/" is no mount point (Android's Linux-deploy setups): only the
            // rootfs's own bind, below, can be kept from propagating.
        }
        try system.mount(source: rootfs, target: rootfs, type: "bind", flags: MountFlags.bind | MountFlags.recursive, data: nil)
        try system.mount(source: nil, target: rootfs, type: nil, flags: flags, data: nil)
    }

    public func mountAll() throws(RuntimeError) {
        for (index, mount) in spec.mounts.enumerated() {
            do {
                try mountOne(mount)
            } catch {
                throw RuntimeError("mounts[\(index)] \(mount.destination): \(error.message)")
            }
        }
    }

    private func mountOne(_ mount: Spec.Mount) throws(RuntimeError) {
        var options = MountOptions(mount.options)
        let destination = try SafePath.resolve(mount.destination, in: rootfs, system: system)
        if options.isBind || mount.type == "bind" {
            try bindMount(mount, options: options, destination: destination)
            return
        }
        let type = mount.type ?? "none"
        if type == "proc" || type == "sysfs", let kind = system.kind(of: destination), kind != .directory {
            // A file or device at /proc would let a crafted image redirect procfs writes.
            throw RuntimeError("\(type) must be mounted on a directory, \(mount.destination) is not one")
        }
        let existingMode = system.permissions(of: destination)
        try system.makeDirectories(destination, mode: 0o755)
        // As runc: proc and sysfs take no context, mqueue keeps the policy's own label.
        if let mountLabel, !["proc", "sysfs", "mqueue", "cgroup", "cgroup2"].contains(type) {
            options.data.append(LSMLabels.mountOption(mountLabel))
        }
        if type == "cgroup" || type == "cgroup2" {
            try mountCgroups(at: destination, options: options)
            return
        }
        if type == "tmpfs" {
            try mountTmpfs(mount, options: options, at: destination, existingMode: existingMode)
        } else {
            do {
                try system.mount(source: mount.source ?? type, target: destination, type: type, flags: options.flags, data: options.dataString)
            } catch where type == "sysfs" && error.errno == EPERM {
                // In a user namespace without its own network namespace sysfs cannot be
                // mounted; runc binds the host's /sys instead, read-only as asked.
                try system.mount(source: "/sys", target: destination, type: "bind", flags: MountFlags.bind | MountFlags.recursive, data: nil)
                try system.mount(source: "/sys", target: destination, type: "bind",
                                 flags: options.flags | MountFlags.bind | MountFlags.remount | system.lockedFlags(destination), data: nil)
            } catch where type == "devpts" && error.errno == EINVAL && options.data.contains(where: { $0.hasPrefix("gid=") }) {
                // gid=5 (tty) may not be mapped in the container's user namespace.
                var withoutGid = options
                withoutGid.data.removeAll { $0.hasPrefix("gid=") }
                try system.mount(source: mount.source ?? type, target: destination, type: type, flags: options.flags, data: withoutGid.dataString)
            }
        }
        try applyPropagation(options, at: destination)
    }

    /// tmpfs as runc mounts it: over an existing directory it keeps that directory's mode,
    /// and `tmpcopyup` (runc's extension, used by podman --read-only) copies the directory's
    /// contents into it.
    private func mountTmpfs(_ mount: Spec.Mount, options: MountOptions, at destination: String,
                            existingMode: UInt32?) throws(RuntimeError) {
        var options = options
        let copyUp = options.data.contains("tmpcopyup")
        options.data.removeAll { $0 == "tmpcopyup" }
        // The directory underneath stays reachable through this fd once the tmpfs covers it.
        let original = copyUp ? try system.openDirectory(destination) : nil
        defer { if let original { system.closeDirectory(original) } }
        try system.mount(source: mount.source ?? "tmpfs", target: destination, type: "tmpfs", flags: options.flags,
                         data: options.dataString)
        if let original { try system.copyTree(from: original, to: destination) }
        if let existingMode { try system.chmod(destination, mode: existingMode) }
    }

    private func bindMount(_ mount: Spec.Mount, options: MountOptions, destination: String) throws(RuntimeError) {
        var source = mount.source ?? ""
        if !source.hasPrefix("/") { source = bundle + "/" + source }
        guard let sourceKind = system.kind(of: source) else { throw RuntimeError("bind source \(source) does not exist") }
        if system.kind(of: destination) == nil {
            if sourceKind == .directory {
                try system.makeDirectories(destination, mode: 0o755)
            } else {
                try system.makeDirectories(parent(of: destination), mode: 0o755)
                try system.createFile(destination)
            }
        }
        let bindFlags = MountFlags.bind | (options.flags & MountFlags.recursive)
        try system.mount(source: source, target: destination, type: "bind", flags: bindFlags, data: nil)
        // A bind ignores every other flag; they take effect only through a remount.
        let extra = options.flags & ~(MountFlags.bind | MountFlags.recursive | MountFlags.remount)
        if extra != 0 {
            try system.mount(source: source, target: destination, type: "bind",
                             flags: extra | MountFlags.bind | MountFlags.remount | system.lockedFlags(destination), data: nil)
        }
        try applyPropagation(options, at: destination)
    }

    private func applyPropagation(_ options: MountOptions, at destination: String) throws(RuntimeError) {
        for flags in options.propagation {
            try system.mount(source: nil, target: destination, type: nil, flags: flags, data: nil)
        }
    }

    /// On a cgroup v1 or hybrid host the container sees a tmpfs with one bind per hierarchy,
    /// each showing its own cgroup (as runc does); mounting cgroup2 there would cost 4-19 ms.
    private func mountCgroups(at destination: String, options: MountOptions) throws(RuntimeError) {
        let readOnly = options.flags & MountFlags.readOnly
        let baseFlags = options.flags & ~(MountFlags.readOnly | MountFlags.bind | MountFlags.recursive)
        if cgroups.isPureUnified {
            try system.mount(source: "cgroup2", target: destination, type: "cgroup2", flags: options.flags, data: nil)
            return
        }
        try system.mount(source: "tmpfs", target: destination, type: "tmpfs", flags: baseFlags, data: "mode=755")
        for hierarchy in cgroups.hierarchies {
            let name = hierarchy.mountPoint.split(separator: "/").last.map(String.init) ?? "unified"
            let target = destination + "/" + name
            try system.makeDirectories(target, mode: 0o755)
            try system.mount(source: hierarchy.ownDirectory, target: target, type: "bind",
                             flags: MountFlags.bind | MountFlags.recursive, data: nil)
            try system.mount(source: hierarchy.ownDirectory, target: target, type: "bind",
                             flags: baseFlags | readOnly | MountFlags.bind | MountFlags.remount, data: nil)
            // Co-mounted controllers ("cpu,cpuacct") get a link per controller, as on the host.
            for controller in hierarchy.controllers where controller != name && !controller.hasPrefix("name=") {
                try system.symlink(target: name, at: destination + "/" + controller)
            }
        }
        if readOnly != 0 {
            try system.mount(source: "tmpfs", target: destination, type: "tmpfs",
                             flags: baseFlags | readOnly | MountFlags.remount, data: "mode=755")
        }
    }

    private func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    /// True when the spec bind-mounts the host's /dev: then no device nodes are made.
    var bindsHostDev: Bool {
        spec.mounts.contains { SafePath.clean($0.destination) == "/dev" && MountOptions($0.options).isBind }
    }

    public func switchRoot(noPivot: Bool) throws(RuntimeError) {
        if noPivot {
            do { try system.moveRoot(rootfs) } catch { try system.changeRoot(rootfs) }
            return
        }
        do {
            try system.pivotRoot(rootfs)
        } catch {
            // pivot_root refuses an initramfs root or a shared parent (old Android devices):
            // moving the rootfs over / and chrooting still gives the container its root; in a
            // chroot even the move is refused, and chroot alone is what is left.
            do { try system.moveRoot(rootfs) } catch { try system.changeRoot(rootfs) }
        }
    }

    /// After the switch of root, paths are the container's own.
    public func finalize() throws(RuntimeError) {
        for path in spec.linux.readonlyPaths where system.kind(of: path) != nil {
            try system.mount(source: path, target: path, type: "bind", flags: MountFlags.bind | MountFlags.recursive, data: nil)
            try system.mount(source: path, target: path, type: "bind",
                             flags: MountFlags.bind | MountFlags.remount | MountFlags.readOnly | MountFlags.recursive | system.lockedFlags(path),
                             data: nil)
        }
        for path in spec.linux.maskedPaths {
            switch system.kind(of: path) {
            case nil: continue
            case .directory?: try system.mount(source: "tmpfs", target: path, type: "tmpfs", flags: MountFlags.readOnly, data: nil)
            default: try system.mount(source: "/dev/null", target: path, type: "bind", flags: MountFlags.bind, data: nil)
            }
        }
        if spec.root.readonly {
            try system.mount(source: "/", target: "/", type: "bind",
                             flags: MountFlags.bind | MountFlags.remount | MountFlags.readOnly | system.lockedFlags("/"), data: nil)
        }
        if let requested = requestedPropagation, requested & MountFlags.shared != 0 {
            try system.mount(source: nil, target: "/", type: nil, flags: requested, data: nil)
        }
    }
}
