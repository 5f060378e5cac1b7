#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Android)
import Android
#endif

// The C library's calls whose names our own types shadow (`Files.read`, `MountSystem.mount`,
// `Lifecycle.kill`). The C library's module is Glibc, Musl or Android depending on the SDK,
// so no other file names it: they call these. At file scope the plain names are the C ones.

@discardableResult func libcKill(_ pid: pid_t, _ signal: Int32) -> Int32 { kill(pid, signal) }
func libcRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }
func libcWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int { write(fd, buffer, count) }
func libcSend(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int, _ flags: Int32) -> Int { send(fd, buffer, count, flags) }
func libcConnect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 { connect(fd, address, length) }
func libcReadlink(_ path: String, _ buffer: UnsafeMutablePointer<CChar>, _ size: Int) -> Int { readlink(path, buffer, size) }
func libcMount(_ source: String, _ target: String, _ type: String, _ flags: UInt, _ data: UnsafeRawPointer?) -> Int32 {
    mount(source, target, type, flags, data)
}
func libcOpen(_ path: String, _ flags: Int32, _ mode: mode_t = 0) -> Int32 { open(path, flags, mode) }
func libcClose(_ fd: Int32) { _ = close(fd) }
func libcChmod(_ path: String, _ mode: mode_t) -> Int32 { chmod(path, mode) }
func libcChown(_ path: String, _ uid: uid_t, _ gid: gid_t) -> Int32 { chown(path, uid, gid) }
func libcSymlink(_ target: String, _ path: String) -> Int32 { symlink(target, path) }
func libcRestoreDefaultAction(_ number: Int32) { _ = signal(number, SIG_DFL) }
