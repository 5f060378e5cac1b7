#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif
import CCompat

/// The device nodes and /dev links every container gets (runtime-spec "Default Devices").
extension RootfsBuilder {
    static var defaultDevices: [Spec.Device] {
        [("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)].map {
            Spec.Device(type: "c", path: "/dev/" + $0.0, major: $0.1, minor: $0.2, fileMode: 0o666, uid: 0, gid: 0)
        }
    }

    /// Creates the default devices, then the spec's own (which may replace a default), each
    /// relative to its directory's fd.
    public func createDevices(in root: RootDirectory) throws(RuntimeError) {
        guard !bindsHostDev else { return }
        _ = try root.makeDirectories("/dev")
        let requested = spec.linux.devices
        let defaults = Self.defaultDevices.filter { device in !requested.contains { $0.path == device.path } }
        for device in defaults + requested {
            let (directory, name) = try root.parent(of: device.path)
            _ = unlinkat(directory.fd, name, 0)
            do {
                _ = try system.makeNode(name, in: directory, type: device.type, mode: device.fileMode ?? 0o666,
                                        major: device.major, minor: device.minor)
            } catch where error.errno == EPERM {
                // Without CAP_MKNOD (a user namespace) a bind of the host's node does the same job.
                try bindHostDevice(device, as: name, in: directory, root: root)
                continue
            }
            if device.uid ?? 0 != 0 || device.gid ?? 0 != 0 {
                try system.chown(name, in: directory, uid: device.uid ?? 0, gid: device.gid ?? 0)
            }
        }
    }

    /// The host's node of the same path, checked to be the device the spec names.
    private func bindHostDevice(_ device: Spec.Device, as name: String, in directory: PathHandle, root: RootDirectory) throws(RuntimeError) {
        let fd = libcOpen(device.path, CC_O_PATH | O_CLOEXEC)
        if fd < 0 { throw RuntimeError.system("open the host's \(device.path) to bind it", errno: errno) }
        let host = PathHandle(fd: fd, path: device.path)
        var info = stat()
        let wanted: mode_t = device.type == "b" ? S_IFBLK : device.type == "p" ? S_IFIFO : S_IFCHR
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == wanted,
              wanted == S_IFIFO || (Int64(cc_dev_major(UInt64(info.st_rdev))) == device.major
                                    && Int64(cc_dev_minor(UInt64(info.st_rdev))) == device.minor) else {
            throw RuntimeError("the host's \(device.path) is not device \(device.type) \(device.major):\(device.minor): refusing to bind it")
        }
        let target = try root.childFile(name, of: directory, mode: 0)
        try system.mount(.file(host), on: target, type: "bind", flags: MountFlags.bind, data: nil)
    }

    public func createDevSymlinks(in root: RootDirectory) throws(RuntimeError) {
        guard !bindsHostDev else { return }
        let dev = try root.makeDirectories("/dev")
        let links = [("/proc/self/fd", "fd"), ("/proc/self/fd/0", "stdin"), ("/proc/self/fd/1", "stdout"),
                     ("/proc/self/fd/2", "stderr")]
        for (target, name) in links where symlinkat(target, dev.fd, name) != 0 && errno != EEXIST {
            throw RuntimeError.system("symlink /dev/\(name)", errno: errno)
        }
        // With a private devpts instance, /dev/ptmx must lead to that instance's ptmx.
        _ = unlinkat(dev.fd, "ptmx", 0)
        if symlinkat("pts/ptmx", dev.fd, "ptmx") != 0 { throw RuntimeError.system("symlink /dev/ptmx", errno: errno) }
    }
}
