#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif

/// The device nodes and /dev links every container gets (runtime-spec "Default Devices").
extension RootfsBuilder {
    static var defaultDevices: [Spec.Device] {
        [("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)].map {
            Spec.Device(type: "c", path: "/dev/" + $0.0, major: $0.1, minor: $0.2, fileMode: 0o666, uid: 0, gid: 0)
        }
    }

    /// Creates the default devices, then the spec's own (which may replace a default).
    public func createDevices() throws(RuntimeError) {
        guard !bindsHostDev else { return }
        let dev = try SafePath.resolve("/dev", in: rootfs, system: system)
        try system.makeDirectories(dev, mode: 0o755)
        let requested = spec.linux.devices
        let defaults = Self.defaultDevices.filter { device in !requested.contains { $0.path == device.path } }
        for device in defaults + requested {
            let path = try SafePath.resolve(device.path, in: rootfs, system: system)
            // Nested nodes (/dev/cpu/0/cpuid, /dev/net/tun) need their directories first.
            if let slash = path.lastIndex(of: "/"), path[..<slash] != dev {
                try system.makeDirectories(String(path[..<slash]), mode: 0o755)
            }
            system.remove(path)
            do {
                try system.makeNode(path, type: device.type, mode: device.fileMode ?? 0o666, major: device.major, minor: device.minor)
            } catch where error.errno == EPERM {
                // Without CAP_MKNOD (a user namespace) a bind of the host's node does the same job.
                try system.createFile(path)
                try system.mount(source: device.path, target: path, type: "bind", flags: MountFlags.bind, data: nil)
                continue
            }
            if device.uid ?? 0 != 0 || device.gid ?? 0 != 0 {
                try system.chown(path, uid: device.uid ?? 0, gid: device.gid ?? 0)
            }
        }
    }

    public func createDevSymlinks() throws(RuntimeError) {
        guard !bindsHostDev else { return }
        let dev = try SafePath.resolve("/dev", in: rootfs, system: system)
        let links = [("/proc/self/fd", "fd"), ("/proc/self/fd/0", "stdin"), ("/proc/self/fd/1", "stdout"),
                     ("/proc/self/fd/2", "stderr")]
        for (target, name) in links { try system.symlink(target: target, at: dev + "/" + name) }
        // With a private devpts instance, /dev/ptmx must lead to that instance's ptmx.
        system.remove(dev + "/ptmx")
        try system.symlink(target: "pts/ptmx", at: dev + "/ptmx")
    }
}
