@testable import PortRuntime
import Glibc
import CCompat

/// Records every privileged call; lookups and creation happen for real in a temporary tree
/// (RootDirectory needs no privileges), so what the calls name is what a container would get.
final class FakeMountSystem: MountSystem, @unchecked Sendable {
    var calls: [String] = []
    var failPivot = false
    var failMove = false
    var failMknod = false
    var failSetattr: Int32?
    var mountTable: [MountInfoEntry] = []
    /// Where a propagation change by path succeeds; elsewhere EINVAL (not a mount point).
    var mountPoints: Set<String>?

    private func name(_ source: MountSource) -> String {
        switch source {
        case .none: return "-"
        case .named(let name): return name
        case .file(let handle): return handle.path
        }
    }

    private func record(_ source: MountSource, _ target: String, _ type: String?, _ flags: UInt, _ data: String?) {
        calls.append("mount \(name(source)) \(target) \(type ?? "-") \(String(flags, radix: 16)) \(data ?? "-")")
    }

    func mount(_ source: MountSource, on target: PathHandle, type: String?, flags: UInt, data: String?) throws(RuntimeError) {
        record(source, target.path, type, flags, data)
    }
    func mount(_ source: MountSource, onPath target: String, type: String?, flags: UInt, data: String?) throws(RuntimeError) {
        if let mountPoints, !mountPoints.contains(target), flags & MountFlags.propagation != 0 {
            throw RuntimeError.system("mount to \(target)", errno: EINVAL)
        }
        record(source, target, type, flags, data)
    }
    func unmount(_ target: String, detach: Bool) throws(RuntimeError) { calls.append("umount \(target)") }
    func makeNode(_ name: String, in directory: PathHandle, type: String, mode: UInt32, major: Int64, minor: Int64) throws(RuntimeError) -> PathHandle {
        let path = directory.child(name)
        if failMknod { throw RuntimeError.system("mknod \(path)", errno: EPERM) }
        calls.append("mknod \(path) \(type) \(String(mode, radix: 8)) \(major):\(minor)")
        let made = openat(directory.fd, name, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
        close(made)
        return PathHandle(fd: openat(directory.fd, name, CC_O_PATH | O_NOFOLLOW | O_CLOEXEC), path: path)
    }
    func chown(_ name: String, in directory: PathHandle, uid: UInt32, gid: UInt32) throws(RuntimeError) {
        calls.append("chown \(directory.child(name)) \(uid):\(gid)")
    }
    func makeReadOnlyRecursively(_ target: PathHandle) throws(RuntimeError) {
        if let failSetattr { throw RuntimeError.system("mount_setattr", errno: failSetattr) }
        calls.append("setattr ro recursive \(target.path)")
    }
    func setAttributesRecursively(_ target: PathHandle, set: UInt64, clear: UInt64) throws(RuntimeError) {
        if let failSetattr { throw RuntimeError.system("mount_setattr", errno: failSetattr) }
        calls.append("setattr recursive set=0x\(String(set, radix: 16)) clear=0x\(String(clear, radix: 16)) \(target.path)")
    }
    func pivotRoot(_ root: PathHandle) throws(RuntimeError) {
        if failPivot { throw RuntimeError("pivot_root: invalid argument") }
        calls.append("pivot_root")
    }
    func moveRoot(_ root: PathHandle) throws(RuntimeError) {
        if failMove { throw RuntimeError.system("mount . to /", errno: EINVAL) }
        calls.append("move_root")
    }
    func changeRoot(_ root: PathHandle) throws(RuntimeError) { calls.append("chroot") }
    func lockedFlags(_ target: PathHandle) -> UInt { 0 }
    func copyTree(from directory: Int32, to destination: PathHandle) throws(RuntimeError) { calls.append("copy \(destination.path)") }
    func mounts() -> [MountInfoEntry] { mountTable }
}
