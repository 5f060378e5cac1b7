#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif

/// The C library's calls whose names our own types shadow (`Files.read`, `MountSystem.mount`,
/// `Lifecycle.kill`). The C library's module is Glibc, Musl or Android depending on the SDK,
/// so no other file names it: they call these.
enum LibC {
    static func kill(_ pid: pid_t, _ signal: Int32) -> Int32 { cKill(pid, signal) }
    static func read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { cRead(fd, buffer, count) }
    static func write(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int { cWrite(fd, buffer, count) }
    static func send(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int, _ flags: Int32) -> Int { cSend(fd, buffer, count, flags) }
    static func connect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 { cConnect(fd, address, length) }
    static func readlink(_ path: String, _ buffer: UnsafeMutablePointer<CChar>, _ size: Int) -> Int { cReadlink(path, buffer, size) }
    static func mount(_ source: String, _ target: String, _ type: String, _ flags: UInt, _ data: UnsafeRawPointer?) -> Int32 {
        cMount(source, target, type, flags, data)
    }
    static func chmod(_ path: String, _ mode: mode_t) -> Int32 { cChmod(path, mode) }
    static func chown(_ path: String, _ uid: uid_t, _ gid: gid_t) -> Int32 { cChown(path, uid, gid) }
    static func symlink(_ target: String, _ path: String) -> Int32 { cSymlink(target, path) }
    static func restoreDefaultAction(_ signal: Int32) { cRestoreDefaultAction(signal) }
}

// At file scope these names are the C library's own.
private func cKill(_ pid: pid_t, _ signal: Int32) -> Int32 { kill(pid, signal) }
private func cRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }
private func cWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int { write(fd, buffer, count) }
private func cSend(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int, _ flags: Int32) -> Int { send(fd, buffer, count, flags) }
private func cConnect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 { connect(fd, address, length) }
private func cReadlink(_ path: String, _ buffer: UnsafeMutablePointer<CChar>, _ size: Int) -> Int { readlink(path, buffer, size) }
private func cMount(_ source: String, _ target: String, _ type: String, _ flags: UInt, _ data: UnsafeRawPointer?) -> Int32 {
    mount(source, target, type, flags, data)
}
private func cChmod(_ path: String, _ mode: mode_t) -> Int32 { chmod(path, mode) }
private func cChown(_ path: String, _ uid: uid_t, _ gid: gid_t) -> Int32 { chown(path, uid, gid) }
private func cSymlink(_ target: String, _ path: String) -> Int32 { symlink(target, path) }
private func cRestoreDefaultAction(_ number: Int32) { _ = signal(number, SIG_DFL) }
