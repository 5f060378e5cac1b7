@testable import PortRuntime
import Glibc

/// Records every filesystem call and answers lookups from a small in-memory tree.
final class FakeMountSystem: MountSystem, @unchecked Sendable {
    var kinds: [String: FileKind] = [:]
    var links: [String: String] = [:]
    var calls: [String] = []
    var failPivot = false
    var failMknod = false

    func mount(source: String?, target: String, type: String?, flags: UInt, data: String?) throws(RuntimeError) {
        calls.append("mount \(source ?? "-") \(target) \(type ?? "-") \(String(flags, radix: 16)) \(data ?? "-")")
    }
    func unmount(_ target: String, detach: Bool) throws(RuntimeError) { calls.append("umount \(target)") }
    func kind(of path: String) -> FileKind? { links[path] != nil ? .symlink : kinds[path] }
    func readLink(_ path: String) -> String? { links[path] }
    func makeDirectories(_ path: String, mode: UInt32) throws(RuntimeError) {
        calls.append("mkdir \(path)")
        kinds[path] = .directory
    }
    func createFile(_ path: String) throws(RuntimeError) {
        calls.append("touch \(path)")
        kinds[path] = .regular
    }
    func makeNode(_ path: String, type: String, mode: UInt32, major: Int64, minor: Int64) throws(RuntimeError) {
        if failMknod { throw RuntimeError.system("mknod \(path)", errno: EPERM) }
        calls.append("mknod \(path) \(type) \(String(mode, radix: 8)) \(major):\(minor)")
    }
    func chown(_ path: String, uid: UInt32, gid: UInt32) throws(RuntimeError) { calls.append("chown \(path) \(uid):\(gid)") }
    func symlink(target: String, at path: String) throws(RuntimeError) { calls.append("symlink \(path) -> \(target)") }
    func remove(_ path: String) {}
    func pivotRoot(_ newRoot: String) throws(RuntimeError) {
        if failPivot { throw RuntimeError("pivot_root \(newRoot): invalid argument") }
        calls.append("pivot_root \(newRoot)")
    }
    var failMove = false
    func moveRoot(_ newRoot: String) throws(RuntimeError) {
        if failMove { throw RuntimeError.system("mount \(newRoot) to /", errno: EINVAL) }
        calls.append("move_root \(newRoot)")
    }
    func changeRoot(_ newRoot: String) throws(RuntimeError) { calls.append("chroot \(newRoot)") }
    func lockedFlags(_ path: String) -> UInt { 0 }
    var modes: [String: UInt32] = [:]
    func permissions(of path: String) -> UInt32? { modes[path] }
    func chmod(_ path: String, mode: UInt32) throws(RuntimeError) { calls.append("chmod \(path) \(String(mode, radix: 8))") }
    func openDirectory(_ path: String) throws(RuntimeError) -> Int32 { calls.append("open \(path)"); return 42 }
    func closeDirectory(_ fd: Int32) { calls.append("close \(fd)") }
    func copyTree(from directory: Int32, to destination: String) throws(RuntimeError) { calls.append("copy \(directory) \(destination)") }
}
